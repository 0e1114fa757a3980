// Package authcheck checks a user's own AWS IoT custom authorizer function: is it right, and
// will the device get in?
//
// Run invokes the function with every event shape AWS IoT can send, validates each answer
// with AWS's rules (customauth.ValidateResponse), lints the policies it returns for mistakes
// AWS accepts but that deny devices at run time (policy.Lint), runs the device-side cases of
// the scenario library with the user's function and credentials, checks the topics the device
// must be allowed and denied with real MQTT clients, and measures cold and warm invocations
// against AWS IoT's 5 s budget. The Report groups its findings by severity, each with the AWS
// rule it rests on and the fix.
//
// From a Go test, Test does the same for an in-process handler and fails the test on a
// finding.
package authcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/customauth"
	"github.com/iotemu/iotemu/emulator/policy"
	"github.com/iotemu/iotemu/lambdarunner"
	"github.com/iotemu/iotemu/scenarios"
)

// Options tune a check. The zero value is AWS's defaults.
type Options struct {
	// Region and AccountID of the emulated account (default us-east-1, 123456789012): the
	// ARNs the function's policies must name.
	Region, AccountID string
	// WarmInvocations is how many warm invocations the timing takes (default 20).
	WarmInvocations int
	// Progress receives a line as each part of the check starts; nil: none.
	Progress io.Writer
}

// budget is how long AWS IoT waits for the authorizer. AWS: 5 seconds.
const budget = customauth.DefaultTimeout

// functionName is the function's name in the check's emulator and in library cases.
const functionName = scenarios.SubstitutedFunction

// checker is one check running.
type checker struct {
	ctx    context.Context
	opts   Options
	device Device
	emu    *emulator.Emulator
	report *Report
	// mu makes invocations one at a time, so that one warm instance serves the whole check
	// (a function with a slow cold start would otherwise start one per parallel case).
	mu sync.Mutex
}

// Run checks the function with the device's credentials. An error means the check could not
// start (no such executable, not executable, a bad URL); problems of the function are
// findings in the Report.
func Run(ctx context.Context, fn Function, dev Device, opts Options) (*Report, error) {
	start := time.Now()
	dev = dev.withDefaults()
	if opts.WarmInvocations <= 0 {
		opts.WarmInvocations = 20
	}
	if !dev.SigningDisabled && dev.SigningKey == nil {
		key, err := emulator.GenerateSigningKey()
		if err != nil {
			return nil, err
		}
		dev.SigningKey = key
	}
	c := &checker{ctx: ctx, opts: opts, device: dev, report: &Report{Function: fn.String(), Device: dev.describe(), Findings: []Finding{}}}
	if err := c.start(fn); err != nil {
		return nil, err
	}
	defer c.emu.Close()
	c.run()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("check interrupted: %w", err)
	}
	c.report.Duration = time.Since(start)
	return c.report, nil
}

// describe names the device's credentials for the report, without the secrets.
func (d Device) describe() string {
	return fmt.Sprintf("client ID %q, token under %q", d.ClientID, d.TokenKeyName)
}

// start starts the emulator that runs the function.
func (c *checker) start(fn Function) error {
	f, err := fn.emulatorFunction(functionName)
	if err != nil {
		return err
	}
	cfg := emulator.Config{AccountID: c.opts.AccountID, Region: c.opts.Region, Functions: []emulator.Function{f}}
	a := emulator.Authorizer{Name: c.device.Authorizer, FunctionARN: functionName, TokenKeyName: c.device.TokenKeyName, SigningDisabled: c.device.SigningDisabled}
	if !c.device.SigningDisabled {
		pem, err := emulator.PublicKeyPEM(&c.device.SigningKey.PublicKey)
		if err != nil {
			return err
		}
		a.TokenSigningPublicKeys = map[string]string{"key1": pem}
	}
	cfg.Authorizers = []emulator.Authorizer{a}
	c.emu, err = emulator.Start(cfg, emulator.Options{LogMemoryBytes: 16 << 20})
	if err != nil {
		return fmt.Errorf("check %s: %w", fn, err)
	}
	cfg = c.emu.Config()
	c.opts.Region, c.opts.AccountID = cfg.Region, cfg.AccountID
	return nil
}

// credentials are the device's credentials, signed.
func (c *checker) credentials() emulator.DeviceCredentials {
	d := c.device
	cr := emulator.DeviceCredentials{User: d.Username, Authorizer: d.Authorizer, TokenKeyName: d.TokenKeyName, Token: d.Token}
	if !d.SigningDisabled {
		cr.Signature, _ = emulator.SignToken(d.SigningKey, d.Token) // an RSA key of the right size never fails to sign
	}
	return cr
}

func (c *checker) progress(format string, args ...any) {
	if c.opts.Progress != nil {
		fmt.Fprintf(c.opts.Progress, "check: "+format+"\n", args...)
	}
}

// invoke runs one invocation, one at a time, and times it.
func (c *checker) invoke(ctx context.Context, event []byte) ([]byte, time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	start := time.Now()
	out, err := c.emu.Invoke(ctx, functionName, event)
	return out, time.Since(start), err
}

func timedOut(err error) bool { return errors.Is(err, context.DeadlineExceeded) }

// run runs the parts of the check in order; the library and the topics need a function that
// answers every event, so they run only when nothing would fail on AWS.
func (c *checker) run() {
	shapes := c.shapes()
	c.progress("cold start")
	if !c.coldStart(shapes[0]) {
		return
	}
	c.progress("%d event shapes", len(shapes))
	docs := c.events(shapes)
	c.progress("policy lint")
	c.lint(docs)
	c.progress("%d warm invocations", c.opts.WarmInvocations)
	c.warm(shapes[0])
	if slices.ContainsFunc(c.report.Findings, func(f Finding) bool { return f.Severity == FailsOnAWS }) {
		why := "fix what would fail on AWS first (these need a function that answers every event)"
		c.report.Checks = append(c.report.Checks, Check{Name: "library", Group: "library", Skipped: why})
		if !c.device.Allow.empty() || !c.device.Deny.empty() {
			c.report.Checks = append(c.report.Checks, Check{Name: "topics", Group: "topics", Skipped: why})
		}
		return
	}
	c.library()
	c.topics()
}

// event builds the event of a shape.
func (c *checker) event(s shape) []byte {
	a := &customauth.Authorizer{Name: c.device.Authorizer, TokenKeyName: c.device.TokenKeyName, SigningDisabled: c.device.SigningDisabled}
	ev, err := customauth.BuildEvent(s.req, a, s.token, s.verified)
	if err != nil {
		panic(err) // every shape has protocols: a bug here
	}
	return ev
}

// coldStart times the first invocation. It reports false when the function does not answer
// within 5 s twice in a row: nothing else can be checked.
func (c *checker) coldStart(s shape) bool {
	ev := c.event(s)
	_, d, err := c.invoke(c.ctx, ev)
	c.report.Timing.Cold, c.report.Timing.Budget = d, budget
	if !timedOut(err) {
		c.report.Checks = append(c.report.Checks, Check{Name: "timing cold start", Group: "timing", Duration: d, Passed: true})
		return true
	}
	c.report.Timing.ColdTimedOut = true
	_, d2, err := c.invoke(c.ctx, ev)
	if timedOut(err) {
		c.report.Timing.NeverAnswered = true
		c.report.Checks = append(c.report.Checks, Check{Name: "timing cold start", Group: "timing", Duration: d + d2})
		c.report.add(Finding{Severity: FailsOnAWS, Code: "no-answer", Check: "timing cold start",
			Title:   fmt.Sprintf("the function did not answer within %s, twice in a row: every device would be refused", budget),
			Details: []string{"the check stops here: nothing else can be checked", "its processes were stopped"},
			Rule:    "AWS: AWS IoT waits 5 seconds for the authorizer, then refuses the connection (CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR)",
			Fix:     "make the handler return on every path; look for a blocking call (a network call without a timeout, a channel nobody writes)"})
		return false
	}
	c.report.Checks = append(c.report.Checks, Check{Name: "timing cold start", Group: "timing", Duration: d})
	c.report.add(Finding{Severity: FailsOnAWS, Code: "cold-start", Check: "timing cold start",
		Title:   fmt.Sprintf("the first invocation (a cold start) got no answer within %s; the next answered after %s more", budget, ms(d2)),
		Details: []string{"every new Lambda instance (first use, scale-out, deployment) refuses the device that triggered it"},
		Rule:    "AWS: AWS IoT waits 5 seconds for the authorizer, cold start included",
		Fix:     "do less before lambda.Start (load configuration lazily, reuse clients), or keep instances warm with provisioned concurrency"})
	return true
}

// events invokes every shape and checks each answer; it returns the policy documents of the
// device's own connection.
func (c *checker) events(shapes []shape) []string {
	var docs []string
	for _, s := range shapes {
		name := "event " + s.name
		out, d, err := c.invoke(c.ctx, c.event(s))
		check := Check{Name: name, Group: "event", Duration: d}
		switch resp, verr := customauth.ValidateResponse(out); {
		case timedOut(err):
			c.report.add(Finding{Severity: FailsOnAWS, Code: "timeout", Check: name, Title: fmt.Sprintf("no answer within %s", budget),
				Details: []string{s.name}, Rule: "AWS: AWS IoT waits 5 seconds for the authorizer", Fix: "answer within 5 s on every path, whatever the event holds"})
		case err != nil:
			c.report.add(Finding{Severity: FailsOnAWS, Code: "function-error", Check: name, Title: "the function fails (an error, a panic or a crash) on events AWS IoT sends",
				Details: []string{s.name + ": " + firstLine(err.Error())},
				Rule:    "AWS: fields not relevant to the request are omitted from the event; a function error refuses the device (CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR)",
				Fix:     "check every optional field (protocolData and its tls, http and mqtt parts, password, clientId) before using it, and answer isAuthenticated false instead of failing"})
		case verr != nil:
			c.report.add(invalidAnswer(name, s.name, verr))
		case !resp.IsAuthenticated && s.mustAllow:
			c.report.add(Finding{Severity: DeniesDevice, Code: "refused", Check: name, Title: "the device's own credentials are refused (isAuthenticated false)",
				Rule: "AWS: isAuthenticated false refuses the connection (NOT_AUTHENTICATED)", Fix: "check the token, token key name, username, password and client ID given to the check against what the function accepts"})
		default:
			check.Passed = true
			if s.mustAllow {
				docs = resp.PolicyDocuments
			}
		}
		c.report.Checks = append(c.report.Checks, check)
	}
	return docs
}

// invalidAnswer turns a broken answer rule into a finding with its fix.
func invalidAnswer(check, shape string, err error) Finding {
	f := Finding{Severity: FailsOnAWS, Code: "invalid-answer", Check: check, Title: "AWS rejects the function's answer",
		Details: []string{shape + ": " + err.Error()},
		Rule:    "AWS: principalId 1-128 characters [a-zA-Z0-9]; at most 10 policy documents of at most 2048 characters; refresh/disconnectAfterInSeconds 300..86400",
		Fix:     "answer an object with isAuthenticated (a boolean), principalId, policyDocuments and the session fields within AWS's limits"}
	var re *customauth.ResponseError
	if errors.As(err, &re) {
		f.Code += " " + re.Field
		switch re.Field {
		case "principalId":
			f.Title, f.Fix = "AWS rejects the answer's principalId", "answer a principalId of 1-128 letters and digits: drop '-', '_', ':' and the like (e.g. keep only the client ID's letters and digits)"
		case "policyDocuments":
			f.Title, f.Fix = "AWS rejects the answer's policyDocuments", "answer at most 10 documents of at most 2048 characters: merge statements, use wildcards and ${iot:ClientId} instead of listing topics"
		case "refreshAfterInSeconds", "disconnectAfterInSeconds":
			f.Title, f.Fix = "AWS rejects the answer's "+re.Field, "answer a whole number of seconds in 300..86400, or 0 (not set)"
		}
	}
	return f
}

// lint checks the device's policies.
func (c *checker) lint(docs []string) {
	check := Check{Name: "policy lint", Group: "policy"}
	defer func() { c.report.Checks = append(c.report.Checks, check) }()
	if docs == nil {
		check.Skipped = "the device's own connection got no policy to lint"
		return
	}
	var parsed []*policy.Document
	for i, text := range docs {
		doc, err := policy.Parse(fmt.Sprintf("policyDocuments[%d]", i), []byte(text))
		if err != nil {
			c.report.add(Finding{Severity: DeniesDevice, Code: "policy-invalid", Check: check.Name, Title: "a policy document is not a valid AWS IoT policy",
				Details: []string{err.Error()}, Rule: "AWS: IoT policies are IAM-style JSON, Version 2012-10-17; an unknown condition operator makes the policy invalid", Fix: "correct the document as the message says"})
			continue
		}
		parsed = append(parsed, doc)
	}
	findings := policy.Lint(parsed, policy.LintContext{Region: c.opts.Region, AccountID: c.opts.AccountID, ClientID: c.device.ClientID})
	for _, f := range findings {
		sev := DeniesDevice
		if f.Warning {
			sev = Warning
		}
		c.report.add(Finding{Severity: sev, Code: f.Code, Check: check.Name, Title: f.Message, Details: []string{f.Where}, Rule: f.Rule, Fix: f.Fix})
	}
	check.Passed = !slices.ContainsFunc(findings, func(f policy.Finding) bool { return !f.Warning })
}

// warm times warm invocations of the device's own event.
func (c *checker) warm(s shape) {
	ev := c.event(s)
	var ds []time.Duration
	for range c.opts.WarmInvocations {
		if _, d, err := c.invoke(c.ctx, ev); err == nil {
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	t := &c.report.Timing
	t.Invocations, t.WarmP50, t.WarmP99 = len(ds), ds[len(ds)/2], ds[(len(ds)*99+99)/100-1]
	c.report.Checks = append(c.report.Checks, Check{Name: "timing warm", Group: "timing", Duration: t.WarmP99, Passed: true})
	if t.WarmP99 > budget/2 {
		c.report.add(Finding{Severity: Warning, Code: "slow", Check: "timing warm", Title: fmt.Sprintf("warm invocations take %s (p99): over half of AWS's budget", ms(t.WarmP99)),
			Rule: "AWS: AWS IoT waits 5 seconds for the authorizer", Fix: "cache what every invocation fetches; set timeouts on network calls well under 5 s"})
	}
}

// forward is the Go handler that stands for the user's function in scenario emulators.
func (c *checker) forward(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
	out, _, err := c.invoke(ctx, event)
	if fe := (*lambdarunner.FunctionError)(nil); errors.As(err, &fe) {
		return nil, errors.New(fe.Message)
	}
	return out, err
}

// substitute is the user's function and credentials for scenario runs.
func (c *checker) substitute() *scenarios.Substitute {
	d := c.device
	sub := &scenarios.Substitute{
		Function:     emulator.Function{Kind: emulator.KindGo, Handler: c.forward},
		TokenKeyName: d.TokenKeyName, Token: d.Token, User: d.Username, Password: d.Password, ClientID: d.ClientID,
	}
	if len(d.Allow.Publish) > 0 {
		sub.PublishTopic = d.Allow.Publish[0]
	}
	return sub
}

// firstLine returns the first line of s, at most 300 bytes of it.
func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' || i >= 300 {
			return s[:i]
		}
	}
	return s
}
