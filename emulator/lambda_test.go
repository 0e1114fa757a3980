package emulator_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/iotemu/iotemu/emulator"
)

// TestMissingPermission reproduces the troubleshooting case "no invocations": the function's
// resource-based policy does not let AWS IoT invoke it.
func TestMissingPermission(t *testing.T) {
	t.Parallel()
	cfg := config(allow(openPolicy...))
	cfg.Functions[0].Permissions = []emulator.Permission{} // taken away
	emu := start(t, cfg)

	if _, err := newDevice(t, emu, "perm").connectV3(t); err == nil {
		t.Fatal("connected through a function AWS IoT may not invoke")
	}
	waitEvent(t, emu, "Connection.AuthNError", "Failure", "clientId=perm", "reason=CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR")
	traceMentions(t, emu, "resource-based policy", "iot.amazonaws.com")
	if m, _ := emu.FunctionMetrics("auth-fn"); m.Invocations != 0 {
		t.Fatalf("function invoked %d times without permission", m.Invocations)
	}

	if err := emu.SetPermissions("auth-fn", nil); err != nil { // restore the default permission
		t.Fatal(err)
	}
	if _, err := newDevice(t, emu, "perm").connectV3(t); err != nil {
		t.Fatalf("after restoring the permission: %v", err)
	}
	if m, _ := emu.FunctionMetrics("auth-fn"); m.Invocations != 1 {
		t.Fatalf("function invoked %d times, want 1", m.Invocations)
	}
}

// TestPermissionConditions: AWS:SourceArn (ArnLike, ArnEquals) and AWS:SourceAccount
// conditions decide whether AWS IoT may invoke the function for this authorizer.
func TestPermissionConditions(t *testing.T) {
	t.Parallel()
	authARN := arn("authorizer/" + authName)
	cases := []struct {
		name string
		perm emulator.Permission
		ok   bool
	}{
		{"ArnEquals this authorizer", emulator.Permission{Principal: "iot.amazonaws.com", Condition: map[string]map[string]string{"ArnEquals": {"AWS:SourceArn": authARN}}}, true},
		{"ArnLike any authorizer", emulator.Permission{Principal: "iot.amazonaws.com", Condition: map[string]map[string]string{"ArnLike": {"AWS:SourceArn": arn("authorizer/*")}}}, true},
		{"ArnLike another authorizer", emulator.Permission{Principal: "iot.amazonaws.com", Condition: map[string]map[string]string{"ArnLike": {"AWS:SourceArn": arn("authorizer/Other*")}}}, false},
		{"another account", emulator.Permission{Principal: "iot.amazonaws.com", Condition: map[string]map[string]string{"StringEquals": {"AWS:SourceAccount": "210987654321"}}}, false},
		{"another principal", emulator.Permission{Principal: "s3.amazonaws.com"}, false},
		{"explicit deny", emulator.Permission{Effect: "Deny", Principal: "iot.amazonaws.com"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := config(allow(openPolicy...))
			cfg.Functions[0].Permissions = []emulator.Permission{tc.perm}
			if tc.perm.Effect == "Deny" {
				cfg.Functions[0].Permissions = append(cfg.Functions[0].Permissions, emulator.Permission{Principal: "iot.amazonaws.com"})
			}
			emu := start(t, cfg)
			_, err := newDevice(t, emu, "cond").connectV3(t)
			if (err == nil) != tc.ok {
				t.Fatalf("connect: %v; want allowed=%v\n%s", err, tc.ok, dumpLog(emu))
			}
		})
	}
}

// TestFunctionLogsAreLinkedFromTheTrace: the connection's trace names the invocation's request
// ID, and the function's log holds START, its own lines, END and REPORT under that ID.
func TestFunctionLogsAreLinkedFromTheTrace(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	if _, err := newDevice(t, emu, "logs").connectV3(t); err != nil {
		t.Fatal(err)
	}
	var requestID string
	for _, tr := range emu.Logs().Traces() {
		if id, ok := tr.Data["requestId"].(string); ok && tr.ClientID == "logs" {
			requestID = id
		}
	}
	if requestID == "" {
		t.Fatalf("no trace of the connection names a request ID:\n%s", dumpLog(emu))
	}
	var msgs []string
	for _, l := range emu.Logs().FunctionLines(requestID) {
		if l.LogGroup != "/aws/lambda/auth-fn" {
			t.Errorf("log group %q", l.LogGroup)
		}
		msgs = append(msgs, l.Message)
	}
	if len(msgs) < 3 || msgs[0] != "START RequestId: "+requestID+" Version: $LATEST" ||
		msgs[len(msgs)-2] != "END RequestId: "+requestID || !strings.HasPrefix(msgs[len(msgs)-1], "REPORT RequestId: "+requestID+"\tDuration: ") {
		t.Errorf("function log lines:\n%s", strings.Join(msgs, "\n"))
	}
}

// TestFunctionMetrics counts invocations, errors and cold starts.
func TestFunctionMetrics(t *testing.T) {
	t.Parallel()
	fail := true
	h := func(ctx context.Context, req events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
		if fail {
			fail = false
			return events.IoTCoreCustomAuthorizerResponse{}, errors.New("first call fails")
		}
		return allow(openPolicy...)(ctx, req)
	}
	emu := start(t, config(h))
	if _, err := newDevice(t, emu, "m1").connectV3(t); err == nil {
		t.Fatal("first connection should fail")
	}
	if _, err := newDevice(t, emu, "m2").connectV3(t); err != nil {
		t.Fatal(err)
	}
	m, ok := emu.FunctionMetrics("auth-fn")
	if !ok || m.Invocations != 2 || m.Errors != 1 || m.ColdStarts != 1 || m.DurationP99 <= 0 {
		t.Fatalf("metrics = %+v", m)
	}
}
