package emulator_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/iotlog"
)

// The troubleshooting guide's Logs Insights query, from Go: a device the authorizer refuses
// shows up as a failure.
func ExampleEmulator_Query() {
	refuseAll := func(context.Context, events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
		return events.IoTCoreCustomAuthorizerResponse{IsAuthenticated: false}, nil
	}
	emu, err := emulator.Start(emulator.Config{
		Functions: []emulator.Function{{Name: "my-auth", Kind: emulator.KindGo, Handler: refuseAll}},
		Authorizers: []emulator.Authorizer{{
			Name:            "MyAuth",
			FunctionARN:     "arn:aws:lambda:us-east-1:123456789012:function:my-auth",
			TokenKeyName:    "token",
			SigningDisabled: true,
		}},
	}, emulator.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer emu.Close()

	device := mqtt.NewClient(mqtt.NewClientOptions().
		AddBroker("tls://" + emu.Addr(emulator.Port443).String()).
		SetTLSConfig(emu.ClientTLSConfig()).
		SetProtocolVersion(4). // MQTT 3.1.1 only: no second attempt with 3.1
		SetClientID("device-1").
		SetUsername("?x-amz-customauthorizer-name=MyAuth&token=t"))
	device.Connect().Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := emu.Logs().WaitEvent(ctx, iotlog.Match("", "Failure")); err != nil {
		fmt.Println(err)
		return
	}

	res, err := emu.Query(`display clientId, eventType, status | sort @timestamp desc | filter status = "Failure"`)
	if err != nil {
		fmt.Println(err)
		return
	}
	res.WriteTable(os.Stdout)
	// Output:
	// clientId  eventType              status
	// --------  ---------              ------
	// device-1  Connection.AuthNError  Failure
}
