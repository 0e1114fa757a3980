package emulator_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/iotemu/iotemu/emulator"
)

// controlPlane starts an emulator with the control plane on and returns aws-sdk-go-v2's IoT
// and Lambda clients pointed at it, with dummy credentials (the control plane ignores SigV4).
// A second function, bad-fn, answers isAuthenticated true without a principalId.
func controlPlane(t *testing.T) (*emulator.Emulator, *iot.Client, *lambda.Client) {
	t.Helper()
	cfg := config(allow(openPolicy...))
	cfg.Listen.API = "127.0.0.1:0"
	cfg.Functions = append(cfg.Functions, emulator.Function{Name: "bad-fn", Kind: emulator.KindGo,
		Handler: rawHandler(func([]byte) []byte { return []byte(`{"isAuthenticated":true}`) })})
	emu := start(t, cfg)
	base := "http://" + emu.APIAddr().String()
	creds := credentials.NewStaticCredentialsProvider("x", "y", "")
	return emu,
		iot.New(iot.Options{Region: region, BaseEndpoint: aws.String(base), Credentials: creds}),
		lambda.New(lambda.Options{Region: region, BaseEndpoint: aws.String(base), Credentials: creds})
}

// TestControlPlaneAuthorizers drives the authorizer operations with the AWS SDK and checks
// that each change applies to device connections.
func TestControlPlaneAuthorizers(t *testing.T) {
	emu, client, _ := controlPlane(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	fnARN := "arn:aws:lambda:" + region + ":" + account + ":function:auth-fn"

	created, err := client.CreateAuthorizer(ctx, &iot.CreateAuthorizerInput{
		AuthorizerName:         aws.String("ApiAuth"),
		AuthorizerFunctionArn:  aws.String(fnARN),
		TokenKeyName:           aws.String(tokenKey),
		TokenSigningPublicKeys: map[string]string{"k1": publicPEM(signingKey())},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(created.AuthorizerArn), arn("authorizer/ApiAuth"); got != want {
		t.Errorf("authorizerArn = %s, want %s", got, want)
	}

	desc, err := client.DescribeAuthorizer(ctx, &iot.DescribeAuthorizerInput{AuthorizerName: aws.String("ApiAuth")})
	if err != nil {
		t.Fatal(err)
	}
	d := desc.AuthorizerDescription
	if aws.ToString(d.AuthorizerFunctionArn) != fnARN || aws.ToString(d.TokenKeyName) != tokenKey || d.Status != types.AuthorizerStatusActive ||
		aws.ToBool(d.SigningDisabled) || d.TokenSigningPublicKeys["k1"] == "" {
		t.Errorf("DescribeAuthorizer = %+v", d)
	}
	if d.CreationDate == nil || time.Since(*d.CreationDate) > time.Minute || d.LastModifiedDate == nil {
		t.Errorf("creationDate %v, lastModifiedDate %v: want now", d.CreationDate, d.LastModifiedDate)
	}

	list, err := client.ListAuthorizers(ctx, &iot.ListAuthorizersInput{Status: types.AuthorizerStatusActive})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range list.Authorizers {
		names = append(names, aws.ToString(a.AuthorizerName))
	}
	if strings.Join(names, ",") != "ApiAuth,"+authName {
		t.Errorf("ListAuthorizers = %v, want [ApiAuth %s]", names, authName)
	}

	// AWS's validation rules are InvalidRequestException; a taken name is
	// ResourceAlreadyExistsException.
	var invalid *types.InvalidRequestException
	if _, err := client.CreateAuthorizer(ctx, &iot.CreateAuthorizerInput{AuthorizerName: aws.String("bad name"), AuthorizerFunctionArn: aws.String(fnARN),
		TokenKeyName: aws.String(tokenKey), TokenSigningPublicKeys: map[string]string{"k1": publicPEM(signingKey())}}); !errors.As(err, &invalid) {
		t.Errorf("CreateAuthorizer with a bad name: %v, want InvalidRequestException", err)
	}
	if _, err := client.CreateAuthorizer(ctx, &iot.CreateAuthorizerInput{AuthorizerName: aws.String("NoKeys"), AuthorizerFunctionArn: aws.String(fnARN),
		TokenKeyName: aws.String(tokenKey)}); !errors.As(err, &invalid) || !strings.Contains(err.Error(), "tokenSigningPublicKeys") {
		t.Errorf("CreateAuthorizer without keys: %v, want InvalidRequestException about tokenSigningPublicKeys", err)
	}
	var exists *types.ResourceAlreadyExistsException
	if _, err := client.CreateAuthorizer(ctx, &iot.CreateAuthorizerInput{AuthorizerName: aws.String("ApiAuth"), AuthorizerFunctionArn: aws.String(fnARN),
		SigningDisabled: aws.Bool(true)}); !errors.As(err, &exists) {
		t.Errorf("CreateAuthorizer twice: %v, want ResourceAlreadyExistsException", err)
	}
	var notFound *types.ResourceNotFoundException
	if _, err := client.DescribeAuthorizer(ctx, &iot.DescribeAuthorizerInput{AuthorizerName: aws.String("Nope")}); !errors.As(err, &notFound) {
		t.Errorf("DescribeAuthorizer of a missing authorizer: %v, want ResourceNotFoundException", err)
	}
	if _, err := client.DescribeDefaultAuthorizer(ctx, &iot.DescribeDefaultAuthorizerInput{}); !errors.As(err, &notFound) {
		t.Errorf("DescribeDefaultAuthorizer with none set: %v, want ResourceNotFoundException", err)
	}

	if _, err := client.SetDefaultAuthorizer(ctx, &iot.SetDefaultAuthorizerInput{AuthorizerName: aws.String("ApiAuth")}); err != nil {
		t.Fatal(err)
	}
	def, err := client.DescribeDefaultAuthorizer(ctx, &iot.DescribeDefaultAuthorizerInput{})
	if err != nil || aws.ToString(def.AuthorizerDescription.AuthorizerName) != "ApiAuth" {
		t.Fatalf("DescribeDefaultAuthorizer = %v, %v", def, err)
	}
	// A device that names no authorizer now uses ApiAuth.
	dev := newDevice(t, emu, "default-user")
	dev.username = strings.Replace(dev.username, "x-amz-customauthorizer-name="+authName+"&", "", 1)
	if _, err := dev.connectV3(t); err != nil {
		t.Fatalf("connect with the default authorizer set through the API: %v", err)
	}
	if _, err := client.ClearDefaultAuthorizer(ctx, &iot.ClearDefaultAuthorizerInput{}); err != nil {
		t.Fatal(err)
	}

	// TestInvokeAuthorizer runs the pipeline: a good token, a refusal, a bad answer.
	tokenInput := func(name, token string) *iot.TestInvokeAuthorizerInput {
		return &iot.TestInvokeAuthorizerInput{AuthorizerName: aws.String(name), Token: aws.String(token), TokenSignature: aws.String(sign(t, signingKey(), token)),
			MqttContext: &types.MqttContext{ClientId: aws.String("c1"), Username: aws.String("u")}}
	}
	good, err := client.TestInvokeAuthorizer(ctx, tokenInput("ApiAuth", goodToken))
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(good.IsAuthenticated) || aws.ToString(good.PrincipalId) != "principal1" || len(good.PolicyDocuments) != 1 ||
		!strings.Contains(good.PolicyDocuments[0], "iot:Connect") || aws.ToInt32(good.DisconnectAfterInSeconds) != 86400 {
		t.Errorf("TestInvokeAuthorizer(good) = %+v", good)
	}
	refused, err := client.TestInvokeAuthorizer(ctx, tokenInput("ApiAuth", "wrong-token"))
	if err != nil || aws.ToBool(refused.IsAuthenticated) {
		t.Errorf("TestInvokeAuthorizer(wrong token) = %+v, %v; want isAuthenticated false", refused, err)
	}
	if _, err := client.CreateAuthorizer(ctx, &iot.CreateAuthorizerInput{AuthorizerName: aws.String("BadAuth"),
		AuthorizerFunctionArn: aws.String("arn:aws:lambda:" + region + ":" + account + ":function:bad-fn"), SigningDisabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	var badResponse *types.InvalidResponseException
	if _, err := client.TestInvokeAuthorizer(ctx, &iot.TestInvokeAuthorizerInput{AuthorizerName: aws.String("BadAuth"), Token: aws.String("t")}); !errors.As(err, &badResponse) ||
		!strings.Contains(err.Error(), "principalId") {
		t.Errorf("TestInvokeAuthorizer(bad answer) = %v, want InvalidResponseException about principalId", err)
	}

	ep, err := client.DescribeEndpoint(ctx, &iot.DescribeEndpointInput{EndpointType: aws.String("iot:Data-ATS")})
	if err != nil || aws.ToString(ep.EndpointAddress) != emu.Endpoint() {
		t.Errorf("DescribeEndpoint = %v, %v; want %s", ep, err, emu.Endpoint())
	}

	// An ACTIVE authorizer cannot be deleted; an INACTIVE one refuses connections and can.
	var conflict *types.DeleteConflictException
	if _, err := client.DeleteAuthorizer(ctx, &iot.DeleteAuthorizerInput{AuthorizerName: aws.String(authName)}); !errors.As(err, &conflict) {
		t.Errorf("DeleteAuthorizer while ACTIVE: %v, want DeleteConflictException", err)
	}
	if _, err := client.UpdateAuthorizer(ctx, &iot.UpdateAuthorizerInput{AuthorizerName: aws.String(authName), Status: types.AuthorizerStatusInactive}); err != nil {
		t.Fatal(err)
	}
	if _, err := newDevice(t, emu, "inactive").connectV3(t); err == nil {
		t.Error("connect through an INACTIVE authorizer succeeded")
	}
	waitEvent(t, emu, "Connection.AuthNError", "Failure", "clientId=inactive", "reason=CUSTOM_AUTHORIZER_NOT_FOUND")
	if _, err := client.DeleteAuthorizer(ctx, &iot.DeleteAuthorizerInput{AuthorizerName: aws.String(authName)}); err != nil {
		t.Fatalf("DeleteAuthorizer of an INACTIVE authorizer: %v", err)
	}
	if _, err := client.DescribeAuthorizer(ctx, &iot.DescribeAuthorizerInput{AuthorizerName: aws.String(authName)}); !errors.As(err, &notFound) {
		t.Errorf("DescribeAuthorizer after delete: %v, want ResourceNotFoundException", err)
	}
}

// TestControlPlanePermissions: Lambda's RemovePermission takes AWS IoT's permission away, so
// devices fail, and AddPermission gives it back.
func TestControlPlanePermissions(t *testing.T) {
	emu, _, client := controlPlane(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()

	pol, err := client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("auth-fn")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(aws.ToString(pol.Policy), `"Service":"iot.amazonaws.com"`) || aws.ToString(pol.RevisionId) == "" {
		t.Errorf("GetPolicy = %s (revision %q)", aws.ToString(pol.Policy), aws.ToString(pol.RevisionId))
	}
	if _, err := client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("auth-fn"), StatementId: aws.String("iotemu-default-iot-invoke")}); err != nil {
		t.Fatal(err)
	}
	if _, err := newDevice(t, emu, "no-permission").connectV3(t); err == nil {
		t.Fatal("connect succeeded although the function's permission was removed")
	}
	var notFound *lambdatypes.ResourceNotFoundException
	if _, err := client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("auth-fn")}); !errors.As(err, &notFound) {
		t.Errorf("GetPolicy without statements: %v, want ResourceNotFoundException", err)
	}

	add := &lambda.AddPermissionInput{
		FunctionName:  aws.String("auth-fn"),
		StatementId:   aws.String("iot-invoke"),
		Action:        aws.String("lambda:InvokeFunction"),
		Principal:     aws.String("iot.amazonaws.com"),
		SourceArn:     aws.String(arn("authorizer/" + authName)),
		SourceAccount: aws.String(account),
	}
	out, err := client.AddPermission(ctx, add)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(aws.ToString(out.Statement), `"Sid":"iot-invoke"`) {
		t.Errorf("AddPermission statement = %s", aws.ToString(out.Statement))
	}
	if _, err := newDevice(t, emu, "permission-back").connectV3(t); err != nil {
		t.Fatalf("connect after AddPermission: %v", err)
	}
	var conflict *lambdatypes.ResourceConflictException
	if _, err := client.AddPermission(ctx, add); !errors.As(err, &conflict) {
		t.Errorf("AddPermission twice: %v, want ResourceConflictException", err)
	}
	if _, err := client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("auth-fn"), StatementId: aws.String("nope")}); !errors.As(err, &notFound) {
		t.Errorf("RemovePermission of a missing statement: %v, want ResourceNotFoundException", err)
	}
	if _, err := client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("no-such-fn")}); !errors.As(err, &notFound) {
		t.Errorf("GetPolicy of a missing function: %v, want ResourceNotFoundException", err)
	}
}
