package emulator_test

import (
	"fmt"
	"log"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotemu/iotemu/emulator"
)

// An X.509 device in one call: IssueDevice signs a certificate, registers it ACTIVE, creates
// the policy and attaches it; CertificateMQTTOptions presents it on port 8883.
func ExampleEmulator_IssueDevice() {
	emu, err := emulator.Start(emulator.Config{}, emulator.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	dev, err := emu.IssueDevice(emulator.DeviceOptions{
		PolicyName: "sensor-policy",
		Policy: `{"Version":"2012-10-17","Statement":[
		  {"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:us-east-1:123456789012:client/sensor-1"},
		  {"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/sensors/sensor-1/*"}]}`,
	})
	if err != nil {
		log.Fatal(err)
	}
	// Port 8883; on 443, SetTLSConfig(emu.DeviceTLSConfig(dev, emulator.ALPNMQTTX509)).
	c := mqtt.NewClient(emu.CertificateMQTTOptions("sensor-1", dev))
	if tok := c.Connect(); tok.Wait() && tok.Error() != nil {
		log.Fatal(tok.Error())
	}
	defer c.Disconnect(0)
	tok := c.Publish("sensors/sensor-1/temp", 1, false, "21.5")
	tok.Wait()
	fmt.Println("published:", tok.Error() == nil, "principal is the certificate id:", len(dev.ID) == 64)
	// Output: published: true principal is the certificate id: true
}
