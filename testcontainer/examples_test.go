package testcontainer_test

import (
	"context"
	"fmt"
	"log"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/testcontainers/testcontainers-go"

	"github.com/iotemu/iotemu/testcontainer"
)

// Run your own authorizer (a static Linux binary, here built from examples/authorizer) in the
// emulator and connect a device to it as to AWS IoT Core.
func ExampleRun() {
	ctx := context.Background()
	c, err := testcontainer.Run(ctx, "iotemu:dev",
		testcontainer.WithAuthorizer("./bootstrap"),
		testcontainer.WithEnv(map[string]string{"AUTHORIZER_TOKEN": "s3cret"}))
	defer func() {
		if err := testcontainers.TerminateContainer(c); err != nil {
			log.Printf("terminate: %v", err)
		}
	}()
	if err != nil {
		log.Printf("run: %v", err)
		return
	}

	tlsConfig, err := c.ClientTLSConfig(ctx) // the emulator's CA, SNI = the data endpoint, ALPN mqtt
	if err != nil {
		log.Printf("TLS: %v", err)
		return
	}
	brokerURL, err := c.MQTTURL(ctx) // tls://localhost:PORT, mapped to the container's 443
	if err != nil {
		log.Printf("URL: %v", err)
		return
	}
	sig, err := c.SignToken(ctx, testcontainer.SigningKeyName, "s3cret")
	if err != nil {
		log.Printf("sign: %v", err)
		return
	}
	opts := mqtt.NewClientOptions().AddBroker(brokerURL).SetTLSConfig(tlsConfig).SetClientID("device-1").
		SetUsername(testcontainer.MQTTUsername(testcontainer.AuthorizerName, testcontainer.TokenKeyName, "s3cret", sig))
	client := mqtt.NewClient(opts)
	if tok := client.Connect(); tok.Wait() && tok.Error() != nil {
		log.Printf("connect: %v", tok.Error())
		return
	}
	defer client.Disconnect(100)

	// The emulator's log, as AWS IoT writes it to CloudWatch.
	e, err := c.WaitForEvent(ctx, func(e testcontainer.Event) bool { return e.EventType == "Connect" })
	if err != nil {
		log.Printf("log: %v", err)
		return
	}
	fmt.Println(e.EventType, e.Status, e.ClientID)
}
