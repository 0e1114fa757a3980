package authcheck

import (
	"cmp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/iotemu/iotemu/scenarios"
)

// library runs the library's device-side cases with the user's function and credentials.
// The function-side cases are what the event and policy checks cover; they do not run.
func (c *checker) library() {
	all, err := scenarios.Library()
	if err != nil {
		panic(err) // the embedded library is tested
	}
	var device []*scenarios.Scenario
	for _, sc := range all {
		if sc.Cause == scenarios.CauseDevice {
			device = append(device, sc)
		}
	}
	c.progress("%d device-side library cases", len(device))
	c.runScenarios("library", device, nil, func(r *scenarios.Result) Finding {
		return Finding{Severity: DeniesDevice, Code: "library", Title: "device-side cases of the scenario library fail with your function and credentials",
			Details: append([]string{r.Scenario.Name + ": " + r.Failure()}, traceLines(r.Log)...),
			Rule:    "AWS: these cases depend on the device and the account, not on the function: any correct authorizer passes them",
			Fix:     "replay the case with the library's own function (iotemu scenario run -run " + r.Scenario.Name + ") and read its cause and fix (iotemu scenario list -v)"}
	})
}

// topics checks, with real clients, what the device must be allowed and denied.
func (c *checker) topics() {
	d := c.device
	var scs []*scenarios.Scenario
	names := map[*scenarios.Scenario]string{}
	add := func(name string, steps ...map[string]any) {
		doc := map[string]any{
			"description": "iotemu check: " + name,
			"setup": map[string]any{
				"keys":        map[string]any{"deviceKey": nil},
				"authorizers": map[string]any{d.Authorizer: c.scenarioAuthorizer()},
				"functions":   map[string]any{functionName: map[string]any{"response": map[string]any{"isAuthenticated": false}}},
			},
			"clients": map[string]any{"device": map[string]any{"authorizer": d.Authorizer, "token": d.Token}},
			"steps":   append([]map[string]any{{"connect": "device"}}, steps...),
		}
		data, err := yaml.Marshal(doc)
		if err != nil {
			panic(err) // maps of strings always marshal
		}
		parsed, err := scenarios.Parse("topics.yaml", data)
		if err != nil {
			c.report.add(Finding{Severity: DeniesDevice, Code: "topic-invalid", Check: "topics " + name, Title: "a topic given to the check cannot be used",
				Details: []string{err.Error()}, Rule: "AWS: topics are at most 256 bytes and 7 slashes", Fix: "give topics a device can use"})
			return
		}
		names[parsed[0]] = name
		scs = append(scs, parsed...)
	}
	pub := func(topic string, ok bool) map[string]any {
		s := map[string]any{"client": "device", "topic": topic, "payload": "iotemu check", "qos": 1, "expect": "accepted"}
		if !ok {
			s["expect"] = map[string]any{"result": "refused", "puback": 0x87}
		}
		return map[string]any{"publish": s}
	}
	sub := func(filter string, ok bool) map[string]any {
		s := map[string]any{"client": "device", "topic": filter, "qos": 1, "expect": "granted"}
		if !ok {
			s["expect"] = map[string]any{"result": "refused", "suback": 0x87}
		}
		return map[string]any{"subscribe": s}
	}
	for _, t := range d.Allow.Publish {
		add("publish "+t, pub(t, true))
	}
	for _, t := range d.Deny.Publish {
		add("publish "+t+" denied", pub(t, false))
	}
	for _, f := range d.Allow.Subscribe {
		add("subscribe "+f, sub(f, true))
	}
	for _, f := range d.Deny.Subscribe {
		add("subscribe "+f+" denied", sub(f, false))
	}
	for _, t := range d.Allow.Receive {
		add("receive "+t, sub(t, true), pub(t, true), map[string]any{"expectMessage": map[string]any{"client": "device", "topic": t}})
	}
	for _, t := range d.Deny.Receive {
		add("receive "+t+" denied", sub(t, true), pub(t, true), map[string]any{"expectNoMessage": map[string]any{"client": "device"}})
	}
	if len(scs) == 0 {
		return
	}
	c.progress("%d topic expectations with real clients", len(scs))
	c.runScenarios("topics", scs, names, func(r *scenarios.Result) Finding {
		return Finding{Severity: DeniesDevice, Code: "topics", Title: "a real client with the device's credentials is not allowed or denied what it must be",
			Details: append([]string{names[r.Scenario] + ": " + r.Failure()}, traceLines(r.Log)...),
			Rule:    "AWS: iot:Publish on topic/T, iot:Subscribe on topicfilter/F, iot:Receive on topic/T for every delivery; an explicit Deny wins",
			Fix:     "change the policy the function returns as the decision trace shows"}
	})
}

// scenarioAuthorizer is the check's authorizer in scenario form.
func (c *checker) scenarioAuthorizer() map[string]any {
	a := map[string]any{"function": functionName, "tokenKeyName": c.device.TokenKeyName}
	if c.device.SigningDisabled {
		a["signingDisabled"] = true
	} else {
		a["signingKeys"] = map[string]any{"key1": "deviceKey"}
	}
	return a
}

// runScenarios runs scenarios with the user's function and credentials; each failure becomes
// the finding failed returns. names, when not nil, names the checks.
func (c *checker) runScenarios(group string, scs []*scenarios.Scenario, names map[*scenarios.Scenario]string, failed func(*scenarios.Result) Finding) {
	runner := &scenarios.Runner{Substitute: c.substitute()}
	runner.Run(c.ctx, scs, func(r *scenarios.Result) {
		name := group + " " + cmp.Or(names[r.Scenario], r.Scenario.Name)
		c.report.Checks = append(c.report.Checks, Check{Name: name, Group: group, Passed: r.Passed(), Duration: r.Duration})
		if !r.Passed() {
			f := failed(r)
			f.Check = name
			c.report.add(f)
		}
	})
}

// maxTrace bounds the decision-trace lines a finding quotes.
const maxTrace = 3

// traceLines picks the decision trace's verdicts from a scenario's log.
func traceLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		t := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "└"))
		if strings.HasPrefix(strings.TrimSpace(l), "└") && !strings.HasPrefix(t, "event:") && !strings.HasPrefix(t, "invoke:") {
			out = append(out, "trace "+t) // the event and the raw answer may hold the token
		}
	}
	return out[max(0, len(out)-maxTrace):] // the last ones decided
}
