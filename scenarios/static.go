package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.yaml.in/yaml/v3"

	"github.com/iotemu/iotemu/lambdarunner"
)

// A static function is the scenarios' built-in authorizer: it answers what the file says,
// in order (the last answer repeats), as an in-process Go handler. String values of a response
// are Go templates over the event the function receives.

// staticAnswer is one compiled answer.
type staticAnswer struct {
	response jsonValue // the JSON answer; nil when raw or err is set
	raw      jsonValue // a raw answer (a templated string rendered without JSON quoting)
	err      string    // the function fails with this message
	sleep    time.Duration
}

// compileAnswers compiles a static function's answers, recording template problems.
func compileAnswers(p *problems, f *function) []staticAnswer {
	list := f.Responses
	if len(list) == 0 {
		list = []*answer{&f.answer}
	}
	out := make([]staticAnswer, len(list))
	for i, a := range list {
		out[i].sleep = time.Duration(a.Sleep)
		switch {
		case a.Error != nil:
			out[i].err = *a.Error
		case a.ResponseRaw != nil:
			out[i].raw = compileText(p, f.at, *a.ResponseRaw, false)
		case a.Response.Kind != 0:
			out[i].response = compileJSON(p, &a.Response)
		}
	}
	return out
}

// staticFunction is a running static function: a lambda.Handler.
type staticFunction struct {
	answers []staticAnswer
	mu      sync.Mutex
	calls   int
}

func newStaticFunction(answers []staticAnswer) *staticFunction {
	return &staticFunction{answers: answers}
}

// Invoke answers one invocation.
func (f *staticFunction) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	f.mu.Lock()
	a := f.answers[min(f.calls, len(f.answers)-1)]
	f.calls++
	f.mu.Unlock()
	if a.sleep > 0 {
		t := time.NewTimer(a.sleep)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var req events.IoTCoreCustomAuthorizerRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return nil, err
	}
	switch {
	case a.err != "":
		// What Lambda reports for a function that throws (Node.js: errorType "Error").
		return nil, &lambdarunner.FunctionError{Type: "Error", Message: a.err}
	case a.raw != nil:
		return a.raw.appendJSON(nil, req)
	}
	return a.response.appendJSON(nil, req)
}

// jsonValue is a compiled JSON value whose strings may be templates.
type jsonValue interface {
	appendJSON(b []byte, data any) ([]byte, error)
}

type jsonLiteral []byte

func (l jsonLiteral) appendJSON(b []byte, _ any) ([]byte, error) { return append(b, l...), nil }

// jsonText is a templated string, written as a JSON string, or as is when raw.
type jsonText struct {
	t   *template.Template
	raw bool
}

func (t jsonText) appendJSON(b []byte, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.t.Execute(&buf, data); err != nil {
		return nil, err
	}
	if t.raw {
		return append(b, buf.Bytes()...), nil
	}
	return append(b, quote(buf.String())...), nil
}

type jsonObject struct {
	keys   [][]byte // encoded
	values []jsonValue
}

func (o jsonObject) appendJSON(b []byte, data any) ([]byte, error) {
	b = append(b, '{')
	for i, k := range o.keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(append(b, k...), ':')
		var err error
		if b, err = o.values[i].appendJSON(b, data); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

type jsonArray []jsonValue

func (a jsonArray) appendJSON(b []byte, data any) ([]byte, error) {
	b = append(b, '[')
	for i, v := range a {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = v.appendJSON(b, data); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// compileJSON turns a YAML node into compact JSON, keys in file order, so that what the
// function answers is exactly what the file shows (policy document lengths included).
func compileJSON(p *problems, n *yaml.Node) jsonValue {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		var o jsonObject
		for _, e := range pairs(n) {
			o.keys = append(o.keys, quote(e.key.Value))
			o.values = append(o.values, compileJSON(p, e.value))
		}
		return o
	case yaml.SequenceNode:
		a := jsonArray{}
		for _, item := range n.Content {
			a = append(a, compileJSON(p, item))
		}
		return a
	}
	switch v := scalarValue(n).(type) {
	case nil:
		return jsonLiteral("null")
	case bool:
		return jsonLiteral(strconv.FormatBool(v))
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			p.add(posOf(n), "%s is not a JSON number", n.Value)
			return jsonLiteral("null")
		}
		return jsonLiteral(strconv.FormatFloat(v, 'f', -1, 64))
	}
	return compileText(p, posOf(n), n.Value, true)
}

// compileText compiles a string that may be a template; quoted says whether it is written as
// a JSON string.
func compileText(p *problems, at pos, s string, quoted bool) jsonValue {
	if !strings.Contains(s, "{{") {
		if quoted {
			return jsonLiteral(quote(s))
		}
		return jsonLiteral(s)
	}
	t, err := template.New("response").Funcs(templateFuncs).Option("missingkey=error").Parse(s)
	if err == nil {
		// A dry run against an event with every part catches fields the event does not have.
		err = t.Execute(io.Discard, sampleEvent)
	}
	if err != nil {
		p.add(at, "template: %v", strings.TrimPrefix(err.Error(), "template: "))
		return jsonLiteral("null")
	}
	return jsonText{t: t, raw: !quoted}
}

// sampleEvent has every part an event can have, for dry runs.
var sampleEvent = events.IoTCoreCustomAuthorizerRequest{
	ProtocolData: &events.IoTCoreProtocolData{
		TLS:  &events.IoTCoreTLSContext{},
		HTTP: &events.IoTCoreHTTPContext{},
		MQTT: &events.IoTCoreMQTTContext{},
	},
	ConnectionMetadata: &events.IoTCoreConnectionMetadata{},
}

// templateFuncs are the functions a response template can call besides Go's built-ins.
var templateFuncs = template.FuncMap{
	// repeat makes long values: {{repeat "x" 2000}}.
	"repeat": strings.Repeat,
}

// quote encodes s as a JSON string without escaping <, > and &, as AWS's answers carry them.
func quote(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
