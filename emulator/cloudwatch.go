package emulator

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/iotemu/iotemu/emulator/insights"
	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/lambdarunner"
)

// IoTLogGroup is the CloudWatch log group AWS IoT's v2 logging writes to.
const IoTLogGroup = "AWSIotLogsV2"

// iotLogStream is the stream the emulator's AWS IoT events are in. AWS (inferred): the
// stream names AWS IoT uses in AWSIotLogsV2 are not documented; the emulator writes one.
const iotLogStream = "iotemu"

// logReader is what the CloudWatch views read of the emulator's log: its AWS IoT events and
// its functions' log lines, oldest first.
type logReader interface {
	Events() []iotlog.Event
	FunctionLines(requestID string) []iotlog.FunctionLine
}

// logGroups returns AWSIotLogsV2 and each function's /aws/lambda/NAME.
func (e *Emulator) logGroups() []string {
	groups := []string{IoTLogGroup}
	for _, fn := range e.registry.functionList() {
		groups = append(groups, fn.LogGroup())
	}
	return groups
}

// logEvents returns the events of the named log groups (all when none is named) as CloudWatch
// holds them, oldest first. The decision trace is iotemu's own and is in none of them.
func (e *Emulator) logEvents(groups ...string) []insights.Event {
	var src logReader = e.Logs() // flushed: every record logged before the call is in it
	want := func(g string) bool { return len(groups) == 0 || slices.Contains(groups, g) }
	prefix := e.cfg.AccountID + ":"
	var out []insights.Event
	if want(IoTLogGroup) {
		for _, ev := range src.Events() {
			msg, err := ev.MarshalJSON()
			if err != nil {
				continue
			}
			out = append(out, insights.Event{Timestamp: ev.Timestamp, Message: string(msg), LogStream: iotLogStream, Log: prefix + IoTLogGroup})
		}
	}
	for _, l := range src.FunctionLines("") {
		if want(l.LogGroup) {
			out = append(out, insights.Event{Timestamp: l.Time, Message: l.Message, LogStream: functionStream(l), Log: prefix + l.LogGroup})
		}
	}
	slices.SortStableFunc(out, func(a, b insights.Event) int { return a.Timestamp.Compare(b.Timestamp) })
	return out
}

// functionStream names the stream of a function's log line. AWS: Lambda's streams are
// "YYYY/MM/DD/[$LATEST]" and an ID of the execution environment; AWS (inferred): the
// emulator uses one ID per function, from its name.
func functionStream(l iotlog.FunctionLine) string {
	sum := sha256.Sum256([]byte(l.LogGroup))
	return l.Time.UTC().Format("2006/01/02") + "/[$LATEST]" + hex.EncodeToString(sum[:16])
}

// Query runs a CloudWatch Logs Insights query over the emulator's log groups (every group
// when none is named: AWSIotLogsV2 and each function's /aws/lambda/NAME), as the
// troubleshooting guide's Logs Insights step does. A query that does not parse returns an
// *insights.SyntaxError.
func (e *Emulator) Query(query string, groups ...string) (*insights.Result, error) {
	q, err := insights.Parse(query)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if !slices.Contains(e.logGroups(), g) {
			return nil, &unknownGroupError{g}
		}
	}
	return q.Run(e.logEvents(groups...)), nil
}

type unknownGroupError struct{ group string }

func (e *unknownGroupError) Error() string {
	return "log group " + e.group + " does not exist (the groups are " + IoTLogGroup + " and /aws/lambda/NAME for each function)"
}

// functionDatapoints returns each function's invocation datapoints.
func (e *Emulator) functionDatapoints() map[string][]lambdarunner.Datapoint {
	out := map[string][]lambdarunner.Datapoint{}
	for _, fn := range e.registry.functionList() {
		out[fn.Name()] = fn.Datapoints()
	}
	return out
}

// LogGroups implements controlplane.CloudWatch.
func (b apiBackend) LogGroups() []string { return b.e.logGroups() }

// LogEvents implements controlplane.CloudWatch.
func (b apiBackend) LogEvents(groups ...string) []insights.Event { return b.e.logEvents(groups...) }

// FunctionDatapoints implements controlplane.CloudWatch.
func (b apiBackend) FunctionDatapoints() map[string][]lambdarunner.Datapoint {
	return b.e.functionDatapoints()
}

// Now implements controlplane.CloudWatch.
func (b apiBackend) Now() time.Time { return b.e.clock.Now() }

// RegionAccount implements controlplane.CloudWatch.
func (b apiBackend) RegionAccount() (region, accountID string) {
	return b.e.cfg.Region, b.e.cfg.AccountID
}
