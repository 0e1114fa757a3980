package scenarios

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/iotemu/iotemu/emulator/customauth"
)

// Steps that call the control plane as the aws CLI does (the AWS IoT REST API on the
// emulator's listen.api) and check its answer.

// describeAuthorizerStep is `aws iot describe-authorizer`.
type describeAuthorizerStep struct {
	Authorizer ref         `yaml:"authorizer"`
	Expect     answerMatch `yaml:"expect"`
}

// testInvokeStep is `aws iot test-invoke-authorizer`. The signature is TokenSignature, else
// the token signed with SignWith, else with the key behind the authorizer's first signing key
// (as for clients); Signature "none" sends none. The contexts go to AWS as written.
type testInvokeStep struct {
	Authorizer     ref            `yaml:"authorizer"`
	Token          *string        `yaml:"token"`
	TokenSignature *string        `yaml:"tokenSignature"`
	SignWith       *ref           `yaml:"signWith"`
	Signature      string         `yaml:"signature"`
	HTTPContext    map[string]any `yaml:"httpContext"`
	MQTTContext    map[string]any `yaml:"mqttContext"`
	TLSContext     map[string]any `yaml:"tlsContext"`
	Expect         answerMatch    `yaml:"expect"`
}

// answerMatch is the members an answer must have, in file order; the member "error" is the
// AWS exception (x-amzn-ErrorType) the call must fail with.
type answerMatch struct{ fields []field }

// UnmarshalYAML reads the members; a non-scalar value is compared as JSON.
func (m *answerMatch) UnmarshalYAML(n *yaml.Node) error {
	for _, p := range pairs(n) {
		v := resolve(p.value)
		value := v.Value
		if v.Kind != yaml.ScalarNode {
			var x any
			if err := v.Decode(&x); err != nil {
				return err
			}
			b, _ := json.Marshal(x)
			value = string(b)
		}
		m.fields = append(m.fields, field{p.key.Value, value})
	}
	return nil
}

func (m answerMatch) String() string { return eventMatch{fields: m.fields}.String() }

// check compares an answer with the fields: "error" with the exception, the others with the
// members of body (or of its wrapper member, e.g. authorizerDescription).
func (m answerMatch) check(exception string, body map[string]any) (string, bool) {
	saw := "answer " + compactJSON(body)
	if exception != "" {
		saw = exception + ": " + fmt.Sprint(body["message"])
	}
	for _, f := range m.fields {
		got, ok := "", false
		if f.name == "error" {
			got, ok = exception, exception != ""
		} else if v, present := body[f.name]; present && exception == "" {
			got, ok = jsonValueText(v), true
		}
		if !ok || got != f.value {
			return saw, false
		}
	}
	// Without an "error" member, the call must succeed.
	return saw, exception == "" || slices.ContainsFunc(m.fields, func(f field) bool { return f.name == "error" })
}

// jsonValueText is a decoded JSON value as a file writes it: strings as they are, the rest as JSON.
func jsonValueText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func compactJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// callAPI sends one control-plane request and returns the exception name (empty on success)
// and the decoded JSON body.
func (x *execution) callAPI(method, path string, body any) (string, map[string]any, error) {
	var in io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return "", nil, err
		}
		in = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(x.ctx, waitFor+customauth.DefaultTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+x.emu.APIAddr().String()+path, in)
	if err != nil {
		return "", nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil && err != io.EOF {
		return "", nil, fmt.Errorf("%s %s: answer is not JSON: %w", method, path, err)
	}
	return resp.Header.Get("x-amzn-ErrorType"), out, nil
}

func (s *describeAuthorizerStep) describe() string  { return "describeAuthorizer " + s.Authorizer.name }
func (s *describeAuthorizerStep) refs() []reference { return nil } // naming an unknown one is a case

func (s *describeAuthorizerStep) run(x *execution) outcome {
	want := "an answer with " + s.Expect.String()
	exception, body, err := x.callAPI(http.MethodGet, "/authorizer/"+url.PathEscape(s.Authorizer.name), nil)
	if err != nil {
		return outcome{want: want, saw: err.Error()}
	}
	if d, ok := body["authorizerDescription"].(map[string]any); ok {
		body = d
	}
	saw, ok := s.Expect.check(exception, body)
	return outcome{want: want, saw: saw, ok: ok}
}

func (s *testInvokeStep) describe() string { return "testInvokeAuthorizer " + s.Authorizer.name }

func (s *testInvokeStep) refs() []reference {
	if s.SignWith != nil {
		return []reference{{refKey, *s.SignWith}}
	}
	return nil
}

func (s *testInvokeStep) run(x *execution) outcome {
	want := "an answer with " + s.Expect.String()
	body := map[string]any{}
	if s.Token != nil {
		body["token"] = *s.Token
	}
	sig, err := s.signature(x)
	if err != nil {
		return outcome{want: want, saw: err.Error()}
	}
	if sig != "" {
		body["tokenSignature"] = sig
	}
	for name, c := range map[string]map[string]any{"httpContext": s.HTTPContext, "mqttContext": s.MQTTContext, "tlsContext": s.TLSContext} {
		if c != nil {
			body[name] = c
		}
	}
	exception, answer, err := x.callAPI(http.MethodPost, "/authorizer/"+url.PathEscape(s.Authorizer.name)+"/test", body)
	if err != nil {
		return outcome{want: want, saw: err.Error()}
	}
	saw, ok := s.Expect.check(exception, answer)
	return outcome{want: want, saw: saw, ok: ok}
}

// signature is the tokenSignature to send; "" for none.
func (s *testInvokeStep) signature(x *execution) (string, error) {
	keyName := ""
	switch {
	case s.TokenSignature != nil:
		return *s.TokenSignature, nil
	case s.Signature == "none" || s.Token == nil:
		return "", nil
	case s.SignWith != nil:
		keyName = s.SignWith.name
	default:
		a := x.sc.setup.Authorizers[s.Authorizer.name]
		if a == nil {
			return "", nil
		}
		keyName = a.firstKey()
	}
	if keyName == "" {
		return "", nil
	}
	return customauth.Sign(x.keys[keyName], *s.Token)
}

// expectFunctionEventStep checks the event the function received, from the decision trace.
type expectFunctionEventStep struct {
	Function ref `yaml:"function"`
	// Invocation counts the function's events from 1; 0 means the last one.
	Invocation int                  `yaml:"invocation"`
	Fields     map[string]eventPath `yaml:"fields"`
	fieldOrder []string
}

// UnmarshalYAML keeps the fields in file order.
func (s *expectFunctionEventStep) UnmarshalYAML(n *yaml.Node) error {
	type plain expectFunctionEventStep
	if err := n.Decode((*plain)(s)); err != nil {
		return err
	}
	for _, p := range pairs(n) {
		if p.key.Value == "fields" {
			for _, f := range pairs(p.value) {
				s.fieldOrder = append(s.fieldOrder, f.key.Value)
			}
		}
	}
	return nil
}

// eventPath is what one field of the event must be: equal to a value, absent, the base64 of
// a text, or containing a text.
type eventPath struct {
	Equals   *string `yaml:"equals"`
	Absent   bool    `yaml:"absent"`
	Base64Of *string `yaml:"base64Of"`
	Contains *string `yaml:"contains"`
}

// UnmarshalYAML accepts a scalar for "equals".
func (e *eventPath) UnmarshalYAML(n *yaml.Node) error {
	type plain eventPath
	return shorthand(n, (*plain)(e), func(n *yaml.Node) { v := n.Value; e.Equals = &v })
}

func (e eventPath) String() string {
	switch {
	case e.Absent:
		return "absent"
	case e.Base64Of != nil:
		return fmt.Sprintf("base64 of %q", *e.Base64Of)
	case e.Contains != nil:
		return fmt.Sprintf("containing %q", *e.Contains)
	case e.Equals != nil:
		return fmt.Sprintf("%q", *e.Equals)
	}
	return "present"
}

// matches reports whether the value at a path (present or not) is what e says.
func (e eventPath) matches(v any, present bool) bool {
	switch {
	case e.Absent:
		return !present
	case !present:
		return false
	case e.Base64Of != nil:
		return v == base64.StdEncoding.EncodeToString([]byte(*e.Base64Of))
	case e.Contains != nil:
		return strings.Contains(jsonValueText(v), *e.Contains)
	case e.Equals != nil:
		return jsonValueText(v) == *e.Equals
	}
	return true
}

func (s *expectFunctionEventStep) describe() string {
	return "expectFunctionEvent " + s.Function.name
}
func (s *expectFunctionEventStep) refs() []reference { return []reference{{refFunction, s.Function}} }

func (s *expectFunctionEventStep) run(x *execution) outcome {
	wants := make([]string, len(s.fieldOrder))
	for i, path := range s.fieldOrder {
		wants[i] = path + " " + s.Fields[path].String()
	}
	want := "an event with " + strings.Join(wants, ", ")
	events := x.functionEvents(s.Function.name)
	i := len(events) - 1
	if s.Invocation > 0 {
		i = s.Invocation - 1
	}
	if i < 0 || i >= len(events) {
		return outcome{want: want, saw: fmt.Sprintf("the function received %d event(s)", len(events))}
	}
	var ev any
	if err := json.Unmarshal(events[i], &ev); err != nil {
		return outcome{want: want, saw: err.Error()}
	}
	for _, path := range s.fieldOrder {
		v, present := lookup(ev, path)
		if !s.Fields[path].matches(v, present) {
			return outcome{want: want, saw: "event " + string(events[i])}
		}
	}
	return outcome{want: want, saw: "event " + string(events[i]), ok: true}
}

// functionEvents returns the events sent to a function, in order, from the decision trace.
func (x *execution) functionEvents(function string) []json.RawMessage {
	var out []json.RawMessage
	for _, t := range x.emu.Logs().Traces() {
		if t.Step != customauth.StepEvent || !strings.HasSuffix(t.Message, ":function:"+function) {
			continue
		}
		if ev, ok := t.Data["event"].(json.RawMessage); ok {
			out = append(out, ev)
		}
	}
	return out
}

// lookup follows a dot-separated path of member names through decoded JSON.
func lookup(v any, path string) (any, bool) {
	for _, key := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[key]; !ok {
			return nil, false
		}
	}
	return v, true
}
