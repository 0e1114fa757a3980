package emulator_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/internal/testtool"
)

// connectAndLeave connects clientID, disconnects, and waits until its connection's end is in
// the decision trace (which levels never hide): its Connect event, if any, has been recorded
// by then (its Disconnect event comes just after that trace).
func connectAndLeave(t *testing.T, emu *emulator.Emulator, clientID string) {
	t.Helper()
	c, err := newDevice(t, emu, clientID).connectV3(t)
	if err != nil {
		t.Fatalf("%s: %v", clientID, err)
	}
	c.Disconnect(0)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	for ctx.Err() == nil {
		if slices.ContainsFunc(emu.Logs().Traces(), func(tr iotlog.Trace) bool {
			return tr.ClientID == clientID && tr.Step == "disconnect"
		}) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: no disconnect in the trace:\n%s", clientID, dumpLog(emu))
}

// refuseBadSignature connects clientID with a signature that does not verify.
func refuseBadSignature(t *testing.T, emu *emulator.Emulator, clientID string) {
	t.Helper()
	d := newDevice(t, emu, clientID)
	d.username = "dev?x-amz-customauthorizer-name=" + authName + "&token=" + goodToken +
		"&x-amz-customauthorizer-signature=" + url.QueryEscape(sign(t, otherKey(), goodToken))
	if _, err := d.connectV3(t); err == nil {
		t.Fatalf("%s connected with a bad signature", clientID)
	}
}

// eventsOf returns the logged events of one client, as "EventType Status".
func eventsOf(emu *emulator.Emulator, clientID string) []string {
	var out []string
	for _, e := range emu.Logs().Events() {
		if e.ClientID == clientID {
			out = append(out, e.EventType+" "+e.Status)
		}
	}
	return out
}

// TestLoggingLevelsSDK: at defaultLogLevel ERROR successes are not logged and failures are;
// a resource-specific DEBUG level for one client ID brings that client's events back, as the
// troubleshooting guide suggests; the operations answer as AWS's do (aws-sdk-go-v2).
func TestLoggingLevelsSDK(t *testing.T) {
	emu, client, _ := controlPlane(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()

	if _, err := client.SetV2LoggingOptions(ctx, &iot.SetV2LoggingOptionsInput{
		DefaultLogLevel: types.LogLevelError,
		RoleArn:         aws.String("arn:aws:iam::" + account + ":role/IoTLogging"),
	}); err != nil {
		t.Fatal(err)
	}
	connectAndLeave(t, emu, "quiet")
	refuseBadSignature(t, emu, "refused")
	waitEvent(t, emu, iotlog.EventAuthNError, iotlog.StatusFailure, "clientId=refused")
	if got := eventsOf(emu, "quiet"); len(got) != 0 {
		t.Errorf("at ERROR the successful client's events were logged: %v", got)
	}

	if _, err := client.SetV2LoggingLevel(ctx, &iot.SetV2LoggingLevelInput{
		LogLevel:  types.LogLevelDebug,
		LogTarget: &types.LogTarget{TargetType: types.LogTargetTypeClientId, TargetName: aws.String("quiet")},
	}); err != nil {
		t.Fatal(err)
	}
	connectAndLeave(t, emu, "quiet")
	waitEvent(t, emu, iotlog.EventDisconnect, iotlog.StatusSuccess, "clientId=quiet")
	if got := eventsOf(emu, "quiet"); !slices.Equal(got, []string{"Connect Success", "Disconnect Success"}) {
		t.Errorf("at DEBUG for its client ID, the client's events are %v", got)
	}
	connectAndLeave(t, emu, "other")
	if got := eventsOf(emu, "other"); len(got) != 0 {
		t.Errorf("another client's events were logged: %v", got)
	}

	opts, err := client.GetV2LoggingOptions(ctx, &iot.GetV2LoggingOptionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if opts.DefaultLogLevel != types.LogLevelError || opts.DisableAllLogs || !strings.HasSuffix(aws.ToString(opts.RoleArn), ":role/IoTLogging") {
		t.Errorf("GetV2LoggingOptions = %+v", opts)
	}
	list, err := client.ListV2LoggingLevels(ctx, &iot.ListV2LoggingLevelsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range list.LogTargetConfigurations {
		got = append(got, string(c.LogTarget.TargetType)+"/"+aws.ToString(c.LogTarget.TargetName)+"="+string(c.LogLevel))
	}
	if want := []string{"DEFAULT/=ERROR", "CLIENT_ID/quiet=DEBUG"}; !slices.Equal(got, want) {
		t.Errorf("ListV2LoggingLevels = %v, want %v", got, want)
	}
	first, err := client.ListV2LoggingLevels(ctx, &iot.ListV2LoggingLevelsInput{MaxResults: aws.Int32(1)})
	if err != nil || len(first.LogTargetConfigurations) != 1 || first.NextToken == nil {
		t.Fatalf("first page of one: %+v, %v", first, err)
	}
	second, err := client.ListV2LoggingLevels(ctx, &iot.ListV2LoggingLevelsInput{MaxResults: aws.Int32(1), NextToken: first.NextToken})
	if err != nil || len(second.LogTargetConfigurations) != 1 || second.NextToken != nil ||
		aws.ToString(second.LogTargetConfigurations[0].LogTarget.TargetName) != "quiet" {
		t.Errorf("second page: %+v, %v", second, err)
	}

	if _, err := client.DeleteV2LoggingLevel(ctx, &iot.DeleteV2LoggingLevelInput{
		TargetType: types.LogTargetTypeClientId, TargetName: aws.String("quiet"),
	}); err != nil {
		t.Fatal(err)
	}
	if l := emu.LogLevels(); len(l.Targets) != 0 || l.Default != iotlog.LevelError {
		t.Errorf("after DeleteV2LoggingLevel: %+v", l)
	}

	_, err = client.SetV2LoggingLevel(ctx, &iot.SetV2LoggingLevelInput{
		LogLevel:  "LOUD",
		LogTarget: &types.LogTarget{TargetType: types.LogTargetTypeClientId, TargetName: aws.String("x")},
	})
	var invalid *types.InvalidRequestException
	if !errors.As(err, &invalid) {
		t.Errorf("an unknown level: %v, want InvalidRequestException", err)
	}

	// disableAllLogs silences even failures; the decision trace stays.
	if _, err := client.SetV2LoggingOptions(ctx, &iot.SetV2LoggingOptionsInput{DisableAllLogs: true}); err != nil {
		t.Fatal(err)
	}
	refuseBadSignature(t, emu, "silenced")
	connectAndLeave(t, emu, "silenced-ok")
	if got := eventsOf(emu, "silenced"); len(got) != 0 {
		t.Errorf("with disableAllLogs a failure was logged: %v", got)
	}
}

// TestLoggingLevelsAWSCLI follows the guide with the aws CLI: set-v2-logging-options
// --default-log-level ERROR hides successful connects; set-v2-logging-level for one client ID
// at DEBUG shows that client's events again.
func TestLoggingLevelsAWSCLI(t *testing.T) {
	testtool.AWSCLI(t)
	emu, _, _ := controlPlane(t)
	iotCLI := func(out any, args ...string) {
		t.Helper()
		if err := awsCLI(t, emu, out, append([]string{"iot"}, args...)...); err != nil {
			t.Fatalf("aws iot %s: %v", strings.Join(args, " "), err)
		}
	}

	iotCLI(nil, "set-v2-logging-options", "--default-log-level", "ERROR")
	connectAndLeave(t, emu, "cli-dev")
	if got := eventsOf(emu, "cli-dev"); len(got) != 0 {
		t.Errorf("at ERROR the successful connect was logged: %v", got)
	}
	iotCLI(nil, "set-v2-logging-level", "--log-target", "targetType=CLIENT_ID,targetName=cli-dev", "--log-level", "DEBUG")
	connectAndLeave(t, emu, "cli-dev")
	waitEvent(t, emu, iotlog.EventDisconnect, iotlog.StatusSuccess, "clientId=cli-dev")
	if got := eventsOf(emu, "cli-dev"); !slices.Equal(got, []string{"Connect Success", "Disconnect Success"}) {
		t.Errorf("at DEBUG for its client ID, the client's events are %v", got)
	}

	var opts struct {
		DefaultLogLevel string `json:"defaultLogLevel"`
		DisableAllLogs  bool   `json:"disableAllLogs"`
	}
	iotCLI(&opts, "get-v2-logging-options")
	if opts.DefaultLogLevel != "ERROR" || opts.DisableAllLogs {
		t.Errorf("get-v2-logging-options: %+v", opts)
	}
	var list struct {
		LogTargetConfigurations []struct {
			LogTarget struct{ TargetType, TargetName string } `json:"logTarget"`
			LogLevel  string                                  `json:"logLevel"`
		} `json:"logTargetConfigurations"`
	}
	iotCLI(&list, "list-v2-logging-levels", "--target-type", "CLIENT_ID")
	if len(list.LogTargetConfigurations) != 1 || list.LogTargetConfigurations[0].LogTarget.TargetName != "cli-dev" ||
		list.LogTargetConfigurations[0].LogLevel != "DEBUG" {
		t.Errorf("list-v2-logging-levels: %+v", list)
	}
	iotCLI(nil, "delete-v2-logging-level", "--target-type", "CLIENT_ID", "--target-name", "cli-dev")
	if l := emu.LogLevels(); len(l.Targets) != 0 {
		t.Errorf("after delete-v2-logging-level: %+v", l)
	}
}

// TestLoggingLevelsConfig: the YAML keys set the same levels at start.
func TestLoggingLevelsConfig(t *testing.T) {
	cfg, err := emulator.ParseConfig("levels.yaml", []byte(`
log:
  level: ERROR
  targets:
    - {targetType: CLIENT_ID, targetName: loud, logLevel: DEBUG}
    - {targetType: THING_GROUP, targetName: fleet, logLevel: INFO}
`))
	if err != nil {
		t.Fatal(err)
	}
	h := config(allow(openPolicy...))
	cfg.AccountID, cfg.Region, cfg.Listen, cfg.Functions, cfg.Authorizers = h.AccountID, h.Region, h.Listen, h.Functions, h.Authorizers
	emu := start(t, cfg)
	connectAndLeave(t, emu, "quiet")
	connectAndLeave(t, emu, "loud")
	waitEvent(t, emu, iotlog.EventDisconnect, iotlog.StatusSuccess, "clientId=loud")
	if q, l := eventsOf(emu, "quiet"), eventsOf(emu, "loud"); len(q) != 0 || len(l) != 2 {
		t.Errorf("quiet logged %v, loud logged %v", q, l)
	}
	if got := emu.LogLevels().Targets[iotlog.Target{Type: iotlog.TargetThingGroup, Name: "fleet"}]; got != iotlog.LevelInfo {
		t.Errorf("the THING_GROUP level was not kept: %q", got)
	}

	for _, bad := range []string{"log: {level: LOUD}", "log: {targets: [{targetType: CLIENT_ID, logLevel: DEBUG}]}"} {
		if _, err := emulator.ParseConfig("bad.yaml", []byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
