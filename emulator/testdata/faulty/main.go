// Command faulty is an aws-lambda-go custom authorizer that misbehaves on request: the token
// names the fault. It lets the emulator's tests check that each fault fails only the connection
// that caused it. Token "allow" connects with a policy that allows everything.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

type handler struct{ typed lambda.Handler }

func (h handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var ev events.IoTCoreCustomAuthorizerRequest
	_ = json.Unmarshal(payload, &ev)
	switch ev.Token {
	case "panic":
		panic("the authorizer panicked")
	case "error":
		return nil, errors.New("the authorizer returned an error")
	case "garbage":
		return []byte("this is not JSON"), nil
	case "huge":
		return append(append([]byte(`{"isAuthenticated":true,"principalId":"`), bytes.Repeat([]byte("x"), 7<<20)...), `"}`...), nil
	case "sleep":
		time.Sleep(10 * time.Second)
	case "exit":
		fmt.Fprintln(os.Stderr, "exiting in the middle of an invocation")
		os.Exit(2)
	case "flood":
		// About 3.6 MB: far beyond any pipe or line buffer, yet quick to write on a busy machine.
		line := "flood " + strings.Repeat("log line ", 100)
		for range 4000 {
			fmt.Println(line)
		}
	}
	return h.typed.Invoke(ctx, payload)
}

func allow(_ context.Context, ev events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
	if ev.Token != "allow" && ev.Token != "flood" {
		return events.IoTCoreCustomAuthorizerResponse{IsAuthenticated: false}, nil
	}
	return events.IoTCoreCustomAuthorizerResponse{
		IsAuthenticated: true,
		PrincipalID:     "faulty",
		PolicyDocuments: []*events.IAMPolicyDocument{{
			Version:   "2012-10-17",
			Statement: []events.IAMPolicyStatement{{Effect: "Allow", Action: []string{"iot:*"}, Resource: []string{"*"}}},
		}},
	}, nil
}

func main() {
	if os.Getenv("FAULTY_INIT") == "exit" {
		fmt.Fprintln(os.Stderr, "cannot start: FAULTY_INIT=exit")
		os.Exit(3)
	}
	lambda.Start(handler{typed: lambda.NewHandler(allow)})
}
