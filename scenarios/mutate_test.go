package scenarios

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"
)

// TestEveryScenarioCanFail flips the decisive expectation of every library scenario (refused
// becomes connected, Success becomes Failure, a message becomes no message, ...) and checks
// that the runner then reports that very step as failed.
func TestEveryScenarioCanFail(t *testing.T) {
	t.Parallel()
	scs, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	mutated := make([]*Scenario, len(scs))
	flipped := make([]int, len(scs))
	for i, sc := range scs {
		m := *sc
		m.steps = append([]*step(nil), sc.steps...)
		flipped[i] = decisive(sc.steps)
		m.steps[flipped[i]] = flip(sc.steps[flipped[i]])
		mutated[i] = &m
	}
	results := (&Runner{}).Run(context.Background(), mutated, nil)
	for i, r := range results {
		if r.Passed() {
			t.Errorf("%s: passed with step %d flipped to %s", r.Scenario.Name, flipped[i]+1, mutated[i].steps[flipped[i]].action().describe())
			continue
		}
		if last := r.Steps[len(r.Steps)-1]; last.Index != flipped[i]+1 {
			t.Errorf("%s: step %d failed, want the flipped step %d: %s", r.Scenario.Name, last.Index, flipped[i]+1, r.Failure())
		}
	}
}

// TestEveryStepKindCanFail flips each kind of expectation once in a small scenario.
func TestEveryStepKindCanFail(t *testing.T) {
	t.Parallel()
	scs, err := Parse("kinds.yaml", []byte(kindsScenario))
	if err != nil {
		t.Fatal(err)
	}
	sc := scs[0]
	var mutated []*Scenario
	var flipped []int
	for i, st := range sc.steps {
		if !isExpectation(st.action()) {
			continue
		}
		m := *sc
		m.steps = append([]*step(nil), sc.steps...)
		m.steps[i] = flip(st)
		mutated = append(mutated, &m)
		flipped = append(flipped, i)
	}
	if n := len(mutated); n < 12 {
		t.Fatalf("only %d expectations to flip", n)
	}
	if r := (&Runner{}).RunOne(context.Background(), sc); !r.Passed() {
		t.Fatalf("the scenario fails unflipped: %s", r.Failure())
	}
	for i, r := range (&Runner{}).Run(context.Background(), mutated, nil) {
		if r.Passed() || r.Steps[len(r.Steps)-1].Index != flipped[i]+1 {
			t.Errorf("flipping step %d (%s): passed %v, %s", flipped[i]+1, mutated[i].steps[flipped[i]].action().describe(), r.Passed(), r.Failure())
		}
	}
}

// kindsScenario uses every kind of expectation.
const kindsScenario = `
description: every kind of expectation
setup:
  authorizers:
    Auth: {function: fn, signingDisabled: true}
  defaultAuthorizer: Auth
  functions:
    fn:
      response:
        isAuthenticated: true
        principalId: p1
        disconnectAfterInSeconds: 600
        policyDocuments:
          - Statement:
              - {Effect: Allow, Action: [iot:Connect, iot:Subscribe], Resource: "*"}
              - {Effect: Allow, Action: [iot:Publish, iot:Receive], Resource: "arn:aws:iot:us-east-1:123456789012:topic/open/*"}
clients:
  a: {protocol: mqtt311}
  b: {}
  refused: {authorizer: NoSuchAuth}
steps:
  - connect: a
  - connect: b
  - connect: {client: refused, expect: {result: refused, connack: 0x87}}
  - subscribe: {client: a, topic: "open/#"}
  - publish: {client: b, topic: open/x, payload: hi}
  - expectMessage: {client: a, topic: open/x, payload: hi}
  - expectNoMessage: {client: a}
  - publish: {client: b, topic: closed/x, payload: hi, expect: {result: refused, puback: 0x87}}
  - expectEvent: {eventType: Publish-In, status: Failure, clientId: b, topicName: closed/x}
  - expectNoEvent: {eventType: Publish-In, status: Failure, clientId: a}
  - expectTrace: {contains: iot:Publish, clientId: b}
  - expectInvocations: {function: fn, count: 2, errors: 0}
  - query: {query: 'filter status = "Failure" and eventType = "Publish-In" | stats count(*) as n by clientId', rows: [{clientId: b, n: "1"}]}
  - advance: 599s
  - expectOpen: a
  - advance: 1s
  - expectClosed: {client: b, reason: 0xA0}
  - publish: {client: a, topic: x, qos: 0, expect: closed}
`

// decisive returns the index of the step that shows the scenario's point: the first
// expectation of something going wrong, else the last expectation.
func decisive(steps []*step) int {
	last := 0
	for i, st := range steps {
		a := st.action()
		if isSymptom(a) {
			return i
		}
		if isExpectation(a) {
			last = i
		}
	}
	return last
}

// isSymptom reports whether a step expects something to go wrong.
func isSymptom(a action) bool {
	switch a := a.(type) {
	case *connectStep:
		return a.Expect.result() != "connected"
	case *publishStep:
		return a.Expect.result() != "accepted"
	case *subscribeStep:
		return a.Expect.result() != "granted"
	case *expectClosedStep, *expectNoMessageStep, *expectNoEventStep:
		return true
	case *expectEventStep:
		for _, f := range a.fields {
			if f.name == "status" && f.value == "Failure" {
				return true
			}
		}
	}
	return false
}

// isExpectation reports whether a step checks something.
func isExpectation(a action) bool {
	switch a.(type) {
	case *advanceStep, *setPermissionsStep, *setAuthorizerStep, *setDefaultStep, *disconnectStep:
		return false
	}
	return true
}

// flip returns the step expecting the opposite. Waits for what will not come are short. A flip
// to "nothing happens" (expectOpen, expectNoMessage, expectNoEvent) must fail because the thing
// happens, which on a busy machine may be seen after the steps' default 200 ms: its window is
// long, and costs nothing, since such a step ends as soon as the thing happens.
// flipAnswer changes the first expected member of a control-plane answer.
func flipAnswer(m answerMatch) answerMatch {
	fields := slices.Clone(m.fields)
	fields[0].value += " (not this)"
	return answerMatch{fields: fields}
}

func flip(st *step) *step {
	const (
		short = duration(300 * time.Millisecond)
		long  = duration(10 * time.Second)
	)
	out := &step{at: st.at}
	switch a := st.action().(type) {
	case *connectStep:
		c := *a
		c.Expect = connectExpect{Result: map[bool]string{true: "refused", false: "connected"}[a.Expect.result() == "connected"]}
		out.Connect = &c
	case *publishStep:
		p := *a
		p.Expect = publishExpect{Result: map[bool]string{true: "refused", false: "accepted"}[a.Expect.result() == "accepted"]}
		out.Publish = &p
	case *subscribeStep:
		s := *a
		s.Expect = subscribeExpect{Result: map[bool]string{true: "refused", false: "granted"}[a.Expect.result() == "granted"]}
		out.Subscribe = &s
	case *expectEventStep:
		m := expectEventStep{eventMatch{within: short}}
		swapped := false
		for _, f := range a.fields {
			if f.name == "status" {
				f.value, swapped = map[string]string{"Success": "Failure", "Failure": "Success"}[f.value], true
			}
			m.fields = append(m.fields, f)
		}
		if !swapped {
			out.ExpectNoEvent = &expectNoEventStep{eventMatch{fields: a.fields, within: long}}
			break
		}
		out.ExpectEvent = &m
	case *expectNoEventStep:
		out.ExpectEvent = &expectEventStep{eventMatch{fields: a.fields, within: short}}
	case *expectMessageStep:
		out.ExpectNoMessage = &expectNoMessageStep{Client: a.Client, Topic: a.Topic, Within: long}
	case *expectNoMessageStep:
		out.ExpectMessage = &expectMessageStep{Client: a.Client, Topic: a.Topic, Within: short}
	case *expectClosedStep:
		out.ExpectOpen = &expectOpenStep{Client: a.Client, Within: long}
	case *expectOpenStep:
		out.ExpectClosed = &expectClosedStep{Client: a.Client, Within: short}
	case *expectInvocationsStep:
		e := *a
		n := 1
		if a.Count != nil {
			n = *a.Count + 1
		}
		e.Count = &n
		out.ExpectInvocations = &e
	case *expectTraceStep:
		out.ExpectTrace = &expectTraceStep{Contains: a.Contains + " (in no trace)", ClientID: a.ClientID, Within: duration(50 * time.Millisecond)}
	case *describeAuthorizerStep:
		d := *a
		d.Expect = flipAnswer(a.Expect)
		out.DescribeAuthorizer = &d
	case *testInvokeStep:
		ti := *a
		ti.Expect = flipAnswer(a.Expect)
		out.TestInvokeAuthorizer = &ti
	case *expectFunctionEventStep:
		e := *a
		e.Fields = maps.Clone(a.Fields)
		first := a.fieldOrder[0]
		if a.Fields[first].Absent {
			e.Fields[first] = eventPath{}
		} else {
			e.Fields[first] = eventPath{Absent: true}
		}
		out.ExpectFunctionEvent = &e
	case *queryStep:
		q := *a
		n := len(a.Rows) + 1
		if a.Count != nil {
			n = *a.Count + 1
		}
		q.Rows, q.Count, q.Within = nil, &n, short
		out.Query = &q
	default:
		panic("flip: not an expectation: " + a.describe())
	}
	return out
}
