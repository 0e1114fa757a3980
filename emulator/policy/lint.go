package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/iotemu/iotemu/internal/suggest"
)

// Finding is a policy mistake that AWS IoT accepts but that denies a device at run time, or
// a risky grant (Warning).
type Finding struct {
	// Code names the kind of mistake, e.g. "subscribe-on-topic".
	Code string
	// Warning is true for findings that deny nothing (Allow *): the device works, but more is
	// allowed than meant.
	Warning bool
	// Where is the document and statement, e.g. "policyDocuments[0] statement 2".
	Where string
	// Message says what is wrong, quoting the policy; Rule the AWS rule it rests on; Fix what
	// to write instead.
	Message, Rule, Fix string
}

// LintContext is what a linted policy is meant for.
type LintContext struct {
	// Region and AccountID of the account; ARNs naming others are reported.
	Region, AccountID string
	// ClientID is the client ID the device sends; "" skips the iot:Connect check.
	ClientID string
}

// iotActions are the AWS IoT policy actions a device-side policy can name: the data plane's,
// the Device Shadow's, the retained messages' and the Jobs' (AWS: AWS IoT Core policy actions).
var iotActions = []string{
	Connect, Publish, RetainPublish, Subscribe, Receive,
	"iot:GetThingShadow", "iot:UpdateThingShadow", "iot:DeleteThingShadow", "iot:ListNamedShadowsForThing",
	"iot:GetRetainedMessage", "iot:ListRetainedMessages",
	"iot:DescribeJobExecution", "iot:GetPendingJobExecutions", "iot:StartNextPendingJobExecution", "iot:UpdateJobExecution",
	"iot:AssumeRoleWithCertificate",
}

// conditionKeys are the condition keys that have a value under custom authentication, or that
// IAM gives every request (AWS: AWS IoT Core policy condition keys; IAM global condition keys).
var conditionKeys = []string{
	"aws:sourceip", "aws:currenttime", "aws:epochtime", "aws:securetransport", "aws:sourcevpc", "aws:sourcevpce",
	"iot:clientid", "iot:domainname", "iot:connectattributes", "iot:lastwilltopic", "iot:cleansession",
	"iot:keepaliveinseconds",
}

// Lint reports the mistakes in docs that AWS IoT accepts when the authorizer answers, but
// that deny a device at run time, each with the fix:
//
//   - iot:Subscribe granted on topic/ ARNs (Subscribe is checked on topicfilter/), and
//     iot:Publish or iot:Receive on topicfilter/ ARNs (they are checked on topic/);
//   - iot:Subscribe allowed while iot:Receive is allowed nowhere;
//   - MQTT wildcards + and # in a resource, where they are literal characters;
//   - ARNs of another region or account;
//   - iot:Connect not allowed on client/ClientID for the device's client ID;
//   - action names AWS IoT does not have (iot:Publsh), condition keys it never sets;
//   - thing and certificate policy variables, which custom authentication never sets;
//
// and warns about Allow on every action and resource. Documents that do not parse are not
// linted (Parse's error says why).
func Lint(docs []*Document, ctx LintContext) []Finding {
	var out []Finding
	receive := false
	var subscribeAt string
	for _, d := range docs {
		for i, st := range d.statements {
			where := fmt.Sprintf("%s statement %d", d.Name, i)
			add := func(f Finding) {
				f.Where = where
				out = append(out, f)
			}
			actions := sources(st.actions)
			resources := sources(st.resources)
			for _, a := range actions {
				lintAction(a, add)
			}
			for _, r := range resources {
				lintResource(r, actions, st, ctx, add)
			}
			for _, c := range st.conditions {
				if !slices.Contains(conditionKeys, strings.ToLower(c.key)) && !strings.HasPrefix(strings.ToLower(c.key), "iot:connection.thing.") {
					add(Finding{Code: "unknown-condition-key", Message: fmt.Sprintf("condition %s on key %q: AWS IoT never sets this key for a custom-authenticated device, so the condition cannot hold", c.op, c.key),
						Rule: "AWS: IoT policy condition keys (iot:ClientId, iot:DomainName, iot:ConnectAttributes, aws:SourceIp, ...)", Fix: "use one of the keys AWS IoT documents, spelled as documented"})
				}
				if strings.HasPrefix(strings.ToLower(c.key), "iot:connection.thing.") {
					add(thingVariable(c.key))
				}
			}
			if st.deny || st.notAction || st.notResource {
				continue
			}
			if grants(st, Receive) {
				receive = true
			}
			if subscribeAt == "" && grants(st, Subscribe) {
				subscribeAt = where
			}
			if slices.ContainsFunc(actions, func(a string) bool { return a == "*" || strings.EqualFold(a, "iot:*") }) && slices.Contains(resources, "*") {
				add(Finding{Code: "allow-all", Warning: true, Message: "Allow " + strings.Join(actions, ", ") + " on *: every client ID, topic and filter of the account",
					Rule: "AWS: grant least privilege", Fix: "scope the resources to the device: client/${iot:ClientId}, topic/devices/${iot:ClientId}/*, ..."})
			}
		}
	}
	if subscribeAt != "" && !receive {
		out = append(out, Finding{Code: "subscribe-without-receive", Where: subscribeAt,
			Message: "iot:Subscribe is allowed but iot:Receive is allowed nowhere: the subscription succeeds and no message is ever delivered",
			Rule:    "AWS: iot:Receive is checked on topic/TOPIC for every message delivered", Fix: "allow iot:Receive on the topic/ ARNs of the topics the device subscribes to"})
	}
	if ctx.ClientID != "" {
		p := Compile(docs, Context{Region: ctx.Region, AccountID: ctx.AccountID, ClientID: ctx.ClientID})
		if d := p.Evaluate(Connect, ClientARN(ctx.Region, ctx.AccountID, ctx.ClientID)); !d.Allowed {
			out = append(out, Finding{Code: "connect-not-allowed", Where: "all documents", Message: fmt.Sprintf("iot:Connect for client ID %q: %s", ctx.ClientID, d),
				Rule: "AWS: iot:Connect is checked on client/CLIENTID at CONNECT", Fix: "allow iot:Connect on " + ClientARN(ctx.Region, ctx.AccountID, "${iot:ClientId}") + " or on the client IDs your devices use"})
		}
	}
	return out
}

// sources returns the patterns as written.
func sources(ps []pattern) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.src
	}
	return out
}

// grants reports whether an Allow statement names action (directly or by a wildcard).
func grants(st statement, action string) bool {
	for i := range st.actionMatch {
		if st.actionMatch[i].match(action) {
			return true
		}
	}
	return false
}

// lintAction reports an action name AWS IoT does not have, with the closest one that exists.
func lintAction(a string, add func(Finding)) {
	if a == "*" || strings.ContainsAny(a, "*?") {
		m := parsePattern(a, false).resolve(nil, true)
		if !slices.ContainsFunc(iotActions, func(known string) bool { return m.match(known) }) {
			add(Finding{Code: "unknown-action", Message: fmt.Sprintf("action %q matches no AWS IoT action", a), Rule: "AWS: IoT policy actions", Fix: "name the actions: " + strings.Join(iotActions[:5], ", ")})
		}
		return
	}
	if slices.ContainsFunc(iotActions, func(known string) bool { return strings.EqualFold(known, a) }) {
		return
	}
	fix := "use an AWS IoT action: " + strings.Join(iotActions[:5], ", ")
	if best := suggest.Closest(a, iotActions, 4); best != "" {
		fix = "write " + best
	}
	add(Finding{Code: "unknown-action", Message: fmt.Sprintf("action %q is not an AWS IoT action: the statement grants nothing", a), Rule: "AWS: IoT policy actions (iot:Connect, iot:Publish, iot:Subscribe, iot:Receive, ...)", Fix: fix})
}

// lintResource reports a resource that cannot match what its statement's actions check.
func lintResource(r string, actions []string, st statement, ctx LintContext, add func(Finding)) {
	for _, v := range variables(r) {
		if l := strings.ToLower(v); strings.HasPrefix(l, "iot:connection.thing.") || strings.HasPrefix(l, "iot:certificate.") {
			add(thingVariable(v))
		}
	}
	parts := strings.SplitN(r, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return
	}
	for _, f := range []struct{ what, written, actual string }{{"region", parts[3], ctx.Region}, {"account", parts[4], ctx.AccountID}} {
		if f.actual != "" && f.written != f.actual && !strings.ContainsAny(f.written, "*?$") {
			add(Finding{Code: "other-" + f.what, Message: fmt.Sprintf("%s names %s %s; the device connects to %s", r, f.what, f.written, f.actual),
				Rule: "AWS: resources are ARNs of the account and region the device connects to", Fix: fmt.Sprintf("write %s %s in the ARN", f.what, f.actual)})
		}
	}
	kind, path, _ := strings.Cut(parts[5], "/")
	has := func(action string) bool {
		return slices.ContainsFunc(actions, func(a string) bool { return strings.EqualFold(a, action) })
	}
	switch {
	case kind == "topic" && has(Subscribe) && !st.deny:
		add(Finding{Code: "subscribe-on-topic", Message: "iot:Subscribe granted on " + r + ": Subscribe is checked on topicfilter/ ARNs, so this grants no subscription",
			Rule: "AWS: iot:Subscribe is checked on topicfilter/FILTER", Fix: "grant iot:Subscribe on " + strings.Join(parts[:5], ":") + ":topicfilter/" + path})
	case kind == "topicfilter" && (has(Publish) || has(Receive)) && !st.deny:
		add(Finding{Code: "publish-on-topicfilter", Message: "iot:Publish/iot:Receive granted on " + r + ": they are checked on topic/ ARNs",
			Rule: "AWS: iot:Publish and iot:Receive are checked on topic/TOPIC", Fix: "grant them on " + strings.Join(parts[:5], ":") + ":topic/" + path})
	}
	if (kind == "topic" || kind == "topicfilter") && strings.ContainsAny(path, "+#") {
		add(Finding{Code: "mqtt-wildcard", Message: fmt.Sprintf("%s: '+' and '#' are literal characters in a policy, not MQTT wildcards", r),
			Rule: "AWS: policy resources use * and ? as wildcards; MQTT wildcards in them match only themselves", Fix: "use * where the MQTT wildcard was meant (topicfilter/a/+/b matches only the filter a/+/b itself, which is right for Subscribe to that filter)"})
	}
}

// thingVariable reports a thing or certificate variable.
func thingVariable(name string) Finding {
	return Finding{Code: "thing-variable", Message: fmt.Sprintf("${%s} never has a value for a custom-authenticated device (no thing or certificate is attached): what uses it matches nothing", name),
		Rule: "AWS: thing and certificate policy variables need an X.509 connection", Fix: "use ${iot:ClientId}, or put the value into the policy text when the authorizer builds it"}
}

// variables returns the names of the ${...} variables in a resource.
func variables(r string) []string {
	var out []string
	for _, t := range parsePattern(r, true).toks {
		if t.kind == variable {
			out = append(out, t.text)
		}
	}
	return out
}
