package emulator

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
)

// DemoToken is the token the built-in demo authorizer accepts.
const DemoToken = "allow"

// demoAuthorizer is the built-in demo function: token "allow" connects any client ID with
// permission to publish, subscribe and receive under demo/; any other token is not
// authenticated. It is written as a user would write an aws-lambda-go authorizer.
func demoAuthorizer(region, account string) func(context.Context, events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
	arn := func(kind string) string { return fmt.Sprintf("arn:aws:iot:%s:%s:%s", region, account, kind) }
	return func(_ context.Context, req events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
		if req.Token != DemoToken {
			return events.IoTCoreCustomAuthorizerResponse{IsAuthenticated: false}, nil
		}
		return events.IoTCoreCustomAuthorizerResponse{
			IsAuthenticated: true,
			PrincipalID:     "demo",
			PolicyDocuments: []*events.IAMPolicyDocument{{
				Version: "2012-10-17",
				Statement: []events.IAMPolicyStatement{
					{Effect: "Allow", Action: []string{"iot:Connect"}, Resource: []string{arn("client/*")}},
					{Effect: "Allow", Action: []string{"iot:Publish", "iot:Receive"}, Resource: []string{arn("topic/demo/*")}},
					{Effect: "Allow", Action: []string{"iot:Subscribe"}, Resource: []string{arn("topicfilter/demo/*")}},
				},
			}},
		}, nil
	}
}
