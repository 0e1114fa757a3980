package policy

import "testing"

// realisticPolicy is the kind of document an authorizer returns: ten statements with
// ${iot:ClientId}, for every data-plane action, with Deny statements and a NotResource.
const realisticPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:us-east-1:123456789012:client/${iot:ClientId}"},
    {"Effect": "Allow", "Action": "iot:Publish", "Resource": [
      "arn:aws:iot:us-east-1:123456789012:topic/devices/${iot:ClientId}/telemetry",
      "arn:aws:iot:us-east-1:123456789012:topic/devices/${iot:ClientId}/events/*"]},
    {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": [
      "arn:aws:iot:us-east-1:123456789012:topicfilter/devices/${iot:ClientId}/commands/*",
      "arn:aws:iot:us-east-1:123456789012:topicfilter/broadcast/#"]},
    {"Effect": "Allow", "Action": "iot:Receive", "Resource": [
      "arn:aws:iot:us-east-1:123456789012:topic/devices/${iot:ClientId}/commands/*",
      "arn:aws:iot:us-east-1:123456789012:topic/broadcast/*"]},
    {"Effect": "Allow", "Action": ["iot:Publish", "iot:RetainPublish"], "Resource": "arn:aws:iot:us-east-1:123456789012:topic/$aws/things/${iot:ClientId}/shadow/*"},
    {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/$aws/things/${iot:ClientId}/shadow/*"},
    {"Effect": "Allow", "Action": "iot:Receive", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/$aws/things/${iot:ClientId}/shadow/*/accepted"},
    {"Effect": "Deny", "Action": "iot:*", "Resource": "arn:aws:iot:us-east-1:123456789012:topic*/devices/${iot:ClientId}/events/blocked?"},
    {"Effect": "Deny", "Action": ["iot:Publish", "iot:Subscribe"], "Resource": "arn:aws:iot:us-east-1:123456789012:*/admin/*"},
    {"Effect": "Deny", "Action": "iot:RetainPublish", "NotResource": "arn:aws:iot:us-east-1:123456789012:topic/$aws/things/*"}
  ]
}`

// realisticRequests mixes allowed, explicitly denied and implicitly denied requests.
var realisticRequests = [][2]string{
	{Connect, arn + "client/sensor-0042"},
	{Publish, arn + "topic/devices/sensor-0042/telemetry"},
	{Publish, arn + "topic/devices/sensor-0042/events/door/open"},
	{Publish, arn + "topic/devices/sensor-0042/events/blocked1"},
	{RetainPublish, arn + "topic/$aws/things/sensor-0042/shadow/update"},
	{RetainPublish, arn + "topic/devices/sensor-0042/telemetry"},
	{Subscribe, arn + "topicfilter/devices/sensor-0042/commands/+"},
	{Subscribe, arn + "topicfilter/broadcast/#"},
	{Subscribe, arn + "topicfilter/admin/#"},
	{Receive, arn + "topic/devices/sensor-0042/commands/reboot"},
	{Receive, arn + "topic/$aws/things/sensor-0042/shadow/update/accepted"},
	{Receive, arn + "topic/devices/sensor-0043/commands/reboot"},
	{Publish, arn + "topic/admin/x"},
	{Connect, arn + "client/sensor-0043"},
}

// realisticPolicyFor compiles realisticPolicy for client sensor-0042.
func realisticPolicyFor(t testing.TB) *Policy {
	ctx := testContext
	ctx.ClientID = "sensor-0042"
	return compileAll(t, ctx, realisticPolicy)
}

func TestRealisticPolicy(t *testing.T) {
	p := realisticPolicyFor(t)
	want := []string{"Allow", "Allow", "Allow", "Deny", "Allow", "Deny", "Allow", "Allow", "Deny", "Allow", "Allow", "", "Deny", ""}
	for i, r := range realisticRequests {
		if d := p.Evaluate(r[0], r[1]); d.Effect != want[i] {
			t.Errorf("Evaluate(%s, %s): %s; want effect %q", r[0], r[1], d, want[i])
		}
	}
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	p := realisticPolicyFor(t)
	requests := append(realisticRequests, [2]string{"IOT:publish", arn + "topic/devices/sensor-0042/telemetry"}, [2]string{"iot:Other", "x"})
	for _, r := range requests {
		allocs := testing.AllocsPerRun(100, func() { sink = p.Evaluate(r[0], r[1]) })
		if allocs != 0 {
			t.Errorf("Evaluate(%s, %s) allocates %v times", r[0], r[1], allocs)
		}
	}
}

var sink Decision

func BenchmarkEvaluate(b *testing.B) {
	p := realisticPolicyFor(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := realisticRequests[i%len(realisticRequests)]
		sink = p.Evaluate(r[0], r[1])
		i++
	}
}

func BenchmarkCompile(b *testing.B) {
	d := mustParse(b, 0, realisticPolicy)
	ctx := testContext
	ctx.ClientID = "sensor-0042"
	b.ReportAllocs()
	for b.Loop() {
		Compile([]*Document{d}, ctx)
	}
}
