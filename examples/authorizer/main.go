// Command authorizer is an AWS IoT Core custom authorizer written with aws-lambda-go: the
// function AWS IoT invokes when a device connects with custom authentication.
//
// It logs the event it receives, accepts the connection when the token equals the environment
// variable AUTHORIZER_TOKEN (default "allow"), and answers with policies scoped to the device's
// MQTT client ID:
//
//   - iot:Connect on client/CLIENTID
//   - iot:Publish and iot:Receive on topic/devices/CLIENTID/* and topic/broadcast/*
//   - iot:Subscribe on topicfilter/devices/CLIENTID/* and topicfilter/broadcast/*
//
// Any other token is refused (isAuthenticated false). Other settings come from the environment:
// AWS_REGION (set by Lambda; default us-east-1), AUTHORIZER_ACCOUNT (default 123456789012),
// AUTHORIZER_REFRESH_SECONDS (default 300) and AUTHORIZER_DISCONNECT_SECONDS (default 3600).
//
// Build it for the provided.al2023 runtime as a static binary named bootstrap:
//
//	CGO_ENABLED=0 go build -o bootstrap ./examples/authorizer
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// authorizer holds the settings read from the environment at start-up.
type authorizer struct {
	token             string
	region, account   string
	refreshSeconds    uint32
	disconnectSeconds uint32
}

func main() {
	a, err := fromEnv()
	if err != nil {
		log.Fatal(err) // fails the function's init, as Lambda reports it
	}
	lambda.Start(a.handle)
}

func fromEnv() (*authorizer, error) {
	a := &authorizer{
		token:   getenv("AUTHORIZER_TOKEN", "allow"),
		region:  getenv("AWS_REGION", "us-east-1"),
		account: getenv("AUTHORIZER_ACCOUNT", "123456789012"),
	}
	var err error
	if a.refreshSeconds, err = seconds("AUTHORIZER_REFRESH_SECONDS", 300); err != nil {
		return nil, err
	}
	if a.disconnectSeconds, err = seconds("AUTHORIZER_DISCONNECT_SECONDS", 3600); err != nil {
		return nil, err
	}
	return a, nil
}

// handle takes the raw event so that it can log exactly what AWS IoT sent.
func (a *authorizer) handle(_ context.Context, raw json.RawMessage) (events.IoTCoreCustomAuthorizerResponse, error) {
	// The event holds the token and the MQTT password: do not log it like this in production.
	log.Printf("event: %s", raw)
	var req events.IoTCoreCustomAuthorizerRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return events.IoTCoreCustomAuthorizerResponse{}, fmt.Errorf("decoding the event: %w", err)
	}
	if req.Token != a.token {
		return events.IoTCoreCustomAuthorizerResponse{IsAuthenticated: false}, nil
	}
	clientID := ""
	if req.ProtocolData != nil && req.ProtocolData.MQTT != nil {
		clientID = req.ProtocolData.MQTT.ClientID
	}
	return events.IoTCoreCustomAuthorizerResponse{
		IsAuthenticated:          true,
		PrincipalID:              principalID(clientID),
		RefreshAfterInSeconds:    a.refreshSeconds,
		DisconnectAfterInSeconds: a.disconnectSeconds,
		PolicyDocuments:          []*events.IAMPolicyDocument{a.policy(clientID)},
	}, nil
}

// policy grants the device its own topics and the broadcast topics.
func (a *authorizer) policy(clientID string) *events.IAMPolicyDocument {
	arn := "arn:aws:iot:" + a.region + ":" + a.account + ":"
	id := literal(clientID)
	allow := func(actions []string, resources ...string) events.IAMPolicyStatement {
		for i, r := range resources {
			resources[i] = arn + r
		}
		return events.IAMPolicyStatement{Effect: "Allow", Action: actions, Resource: resources}
	}
	return &events.IAMPolicyDocument{
		Version: "2012-10-17",
		Statement: []events.IAMPolicyStatement{
			allow([]string{"iot:Connect"}, "client/"+id),
			allow([]string{"iot:Publish", "iot:Receive"}, "topic/devices/"+id+"/*", "topic/broadcast/*"),
			allow([]string{"iot:Subscribe"}, "topicfilter/devices/"+id+"/*", "topicfilter/broadcast/*"),
		},
	}
}

// literal escapes the characters a policy resource treats specially, so that a client ID such
// as "*" grants its own topics and not everyone's.
var literal = strings.NewReplacer("$", "${$}", "*", "${*}", "?", "${?}").Replace

// principalID keeps the client ID's letters and digits, the only characters AWS IoT accepts in
// a principal ID (at most 128 of them).
func principalID(clientID string) string {
	id := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, clientID)
	if id == "" {
		return "device"
	}
	return id[:min(len(id), 128)]
}

func getenv(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func seconds(name string, fallback uint32) (uint32, error) {
	v := os.Getenv(name)
	if v == "" {
		return fallback, nil
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: not a number of seconds", name, v)
	}
	return uint32(n), nil
}
