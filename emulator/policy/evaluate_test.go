package policy

import (
	"fmt"
	"strings"
	"testing"
)

const (
	region  = "us-east-1"
	account = "123456789012"
	arn     = "arn:aws:iot:" + region + ":" + account + ":"
)

// testContext is the connection most tests evaluate for.
var testContext = Context{
	Region:     region,
	AccountID:  account,
	ClientID:   "dev1",
	DomainName: "example.iot.us-east-1.amazonaws.com",
	SourceIP:   "203.0.113.7",
}

// mustParse parses src as policyDocuments[i].
func mustParse(t testing.TB, i int, src string) *Document {
	t.Helper()
	d, err := Parse(fmt.Sprintf("policyDocuments[%d]", i), []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return d
}

// compileAll parses every source as one document and compiles them together.
func compileAll(t testing.TB, ctx Context, srcs ...string) *Policy {
	t.Helper()
	docs := make([]*Document, len(srcs))
	for i, src := range srcs {
		docs[i] = mustParse(t, i, src)
	}
	return Compile(docs, ctx)
}

// doc builds a policy document from statements.
func doc(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

func TestEvaluate(t *testing.T) {
	type request struct {
		action, resource string
		allowed          bool
	}
	tests := []struct {
		name     string
		ctx      Context // testContext when zero
		docs     []string
		requests []request
	}{
		{
			name: "star crosses topic levels",
			docs: []string{doc(`{"Effect":"Allow","Action":"iot:Publish","Resource":"` + arn + `topic/a/*"}`)},
			requests: []request{
				{Publish, arn + "topic/a/b", true},
				{Publish, arn + "topic/a/b/c", true},
				{Publish, arn + "topic/a/", true},
				{Publish, arn + "topic/a", false},
				{Publish, arn + "topic/b/a/c", false},
			},
		},
		{
			name: "plus and hash are literal",
			docs: []string{doc(
				`{"Effect":"Allow","Action":"iot:Subscribe","Resource":"`+arn+`topicfilter/a/+"}`,
				`{"Effect":"Allow","Action":"iot:Subscribe","Resource":"`+arn+`topicfilter/b/#"}`)},
			requests: []request{
				{Subscribe, arn + "topicfilter/a/+", true},
				{Subscribe, arn + "topicfilter/a/x", false},
				{Subscribe, arn + "topicfilter/a/+/x", false},
				{Subscribe, arn + "topicfilter/b/#", true},
				{Subscribe, arn + "topicfilter/b/x", false},
				{Subscribe, arn + "topicfilter/b/x/y", false},
			},
		},
		{
			name: "question mark is exactly one character",
			docs: []string{doc(`{"Effect":"Allow","Action":"iot:Publish","Resource":"` + arn + `topic/room?/temp"}`)},
			requests: []request{
				{Publish, arn + "topic/room1/temp", true},
				{Publish, arn + "topic/roomé/temp", true},
				{Publish, arn + "topic/room/temp", false},
				{Publish, arn + "topic/room12/temp", false},
			},
		},
		{
			name: "resources are case-sensitive, actions are not",
			docs: []string{doc(`{"Effect":"Allow","Action":"IOT:publish","Resource":"` + arn + `topic/Data"}`)},
			requests: []request{
				{Publish, arn + "topic/Data", true},
				{"iot:PUBLISH", arn + "topic/Data", true},
				{Publish, arn + "topic/data", false},
				{Receive, arn + "topic/Data", false},
			},
		},
		{
			name: "action wildcards",
			docs: []string{doc(
				`{"Effect":"Allow","Action":"iot:Pub*","Resource":"`+arn+`topic/p"}`,
				`{"Effect":"Allow","Action":"iot:*","Resource":"`+arn+`topic/all"}`,
				`{"Effect":"Allow","Action":"*","Resource":"`+arn+`topic/any"}`,
				`{"Effect":"Allow","Action":"iot:Rece?ve","Resource":"`+arn+`topic/r"}`)},
			requests: []request{
				{Publish, arn + "topic/p", true},
				{RetainPublish, arn + "topic/p", false},
				{Receive, arn + "topic/all", true},
				{"iot:GetRetainedMessage", arn + "topic/all", true},
				{"greengrass:Anything", arn + "topic/any", true},
				{"greengrass:Anything", arn + "topic/all", false},
				{Receive, arn + "topic/r", true},
				{Publish, arn + "topic/r", false},
			},
		},
		{
			name: "client ID is substituted as literal text",
			ctx:  Context{ClientID: "dev*1?"},
			docs: []string{doc(
				`{"Effect":"Allow","Action":"iot:Connect","Resource":"`+arn+`client/${iot:ClientId}"}`,
				`{"Effect":"Allow","Action":"iot:Publish","Resource":"`+arn+`topic/${iot:ClientId}/*"}`)},
			requests: []request{
				{Connect, arn + "client/dev*1?", true},
				{Connect, arn + "client/devXX1Y", false},
				{Connect, arn + "client/dev*1", false},
				{Publish, arn + "topic/dev*1?/x/y", true},
				{Publish, arn + "topic/dev-1!/x", false},
			},
		},
		{
			name: "domain name and source IP variables",
			docs: []string{doc(
				`{"Effect":"Allow","Action":"iot:Publish","Resource":"` + arn + `topic/${iot:DomainName}/${aws:SourceIp}"}`)},
			requests: []request{
				{Publish, arn + "topic/example.iot.us-east-1.amazonaws.com/203.0.113.7", true},
				{Publish, arn + "topic/example.iot.us-east-1.amazonaws.com/203.0.113.8", false},
			},
		},
		{
			name: "variable names are case-insensitive",
			docs: []string{doc(`{"Effect":"Allow","Action":"iot:Connect","Resource":"` + arn + `client/${IOT:clientid}"}`)},
			requests: []request{
				{Connect, arn + "client/dev1", true},
			},
		},
		{
			name: "escapes stand for literal characters",
			docs: []string{doc(`{"Effect":"Allow","Action":"iot:Publish","Resource":"` + arn + `topic/${*}/${?}/${$}{x}/*"}`)},
			requests: []request{
				{Publish, arn + "topic/*/?/${x}/y", true},
				{Publish, arn + "topic/a/?/${x}/y", false},
				{Publish, arn + "topic/*/b/${x}/y", false},
			},
		},
		{
			name: "dollar without brace and unterminated variable are literal",
			docs: []string{doc(`{"Effect":"Allow","Action":"iot:Publish","Resource":["` + arn + `topic/$aws/things/*","` + arn + `topic/x${a*"]}`)},
			requests: []request{
				{Publish, arn + "topic/$aws/things/t1/shadow/update", true},
				{Publish, arn + "topic/x${abc", true},
				{Publish, arn + "topic/x${", false},
			},
		},
		{
			name: "thing and certificate variables match nothing",
			docs: []string{doc(
				`{"Effect":"Allow","Action":"iot:Connect","Resource":"`+arn+`client/${iot:Connection.Thing.ThingName}"}`,
				`{"Effect":"Allow","Action":"iot:Publish","Resource":"`+arn+`topic/${iot:Connection.Thing.Attributes[room]}/*"}`,
				`{"Effect":"Allow","Action":"iot:Subscribe","Resource":"`+arn+`topicfilter/${iot:Certificate.Subject.CommonName}"}`,
				`{"Effect":"Allow","Action":"iot:Receive","Resource":"`+arn+`topic/${iot:Connection.Thing.ThingTypeName}"}`)},
			requests: []request{
				{Connect, arn + "client/dev1", false},
				{Connect, arn + "client/${iot:Connection.Thing.ThingName}", false},
				{Connect, arn + "client/", false},
				{Publish, arn + "topic//x", false},
				{Subscribe, arn + "topicfilter/", false},
				{Receive, arn + "topic/", false},
			},
		},
		{
			name: "unknown and empty variables match nothing",
			ctx:  Context{ClientID: "dev1"},
			docs: []string{doc(
				`{"Effect":"Allow","Action":"iot:Connect","Resource":"`+arn+`client/${iot:NoSuch}"}`,
				`{"Effect":"Allow","Action":"iot:Publish","Resource":"`+arn+`topic/${iot:DomainName}"}`,
				`{"Effect":"Allow","Action":"iot:Receive","Resource":"`+arn+`topic/${}"}`)},
			requests: []request{
				{Connect, arn + "client/", false},
				{Publish, arn + "topic/", false},
				{Receive, arn + "topic/", false},
			},
		},
		{
			name: "explicit deny beats allow",
			docs: []string{doc(
				`{"Effect":"Allow","Action":"iot:*","Resource":"*"}`,
				`{"Effect":"Deny","Action":"iot:Publish","Resource":"`+arn+`topic/admin/*"}`)},
			requests: []request{
				{Publish, arn + "topic/admin/reboot", false},
				{Publish, arn + "topic/user/x", true},
				{Receive, arn + "topic/admin/reboot", true},
			},
		},
		{
			name: "deny in one document beats allow in another",
			docs: []string{
				doc(`{"Effect":"Allow","Action":"iot:Publish","Resource":"*"}`),
				doc(`{"Effect":"Deny","Action":"iot:Publish","Resource":"` + arn + `topic/secret"}`),
			},
			requests: []request{
				{Publish, arn + "topic/secret", false},
				{Publish, arn + "topic/public", true},
			},
		},
		{
			name: "allows from several documents add up",
			docs: []string{
				doc(`{"Effect":"Allow","Action":"iot:Connect","Resource":"` + arn + `client/${iot:ClientId}"}`),
				doc(`{"Effect":"Allow","Action":"iot:Publish","Resource":"` + arn + `topic/t"}`),
			},
			requests: []request{
				{Connect, arn + "client/dev1", true},
				{Publish, arn + "topic/t", true},
				{Subscribe, arn + "topicfilter/t", false},
			},
		},
		{
			name: "NotAction",
			docs: []string{doc(`{"Effect":"Allow","NotAction":["iot:Connect","iot:Receive"],"Resource":"*"}`)},
			requests: []request{
				{Publish, arn + "topic/x", true},
				{Subscribe, arn + "topicfilter/x", true},
				{Connect, arn + "client/dev1", false},
				{Receive, arn + "topic/x", false},
				{"iot:receive", arn + "topic/x", false},
			},
		},
		{
			name: "NotResource",
			docs: []string{doc(
				`{"Effect":"Allow","Action":"iot:Publish","Resource":"*"}`,
				`{"Effect":"Deny","Action":"iot:Publish","NotResource":["`+arn+`topic/dev1/*","`+arn+`topic/shared"]}`)},
			requests: []request{
				{Publish, arn + "topic/dev1/x", true},
				{Publish, arn + "topic/shared", true},
				{Publish, arn + "topic/dev2/x", false},
			},
		},
		{
			name: "NotResource with an unresolved variable covers everything",
			docs: []string{doc(
				`{"Effect":"Allow","Action":"iot:Publish","Resource":"*"}`,
				`{"Effect":"Deny","Action":"iot:Publish","NotResource":"`+arn+`topic/${iot:Connection.Thing.ThingName}/*"}`)},
			requests: []request{
				{Publish, arn + "topic/dev1/x", false},
			},
		},
		{
			name: "no statements: implicit deny",
			docs: []string{`{"Version":"2012-10-17","Statement":[]}`},
			requests: []request{
				{Connect, arn + "client/dev1", false},
			},
		},
		{
			name: "false condition takes the statement out",
			docs: []string{doc(
				`{"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"StringEquals":{"iot:ClientId":"other"}}}`,
				`{"Effect":"Allow","Action":"iot:Publish","Resource":"*"}`,
				`{"Effect":"Deny","Action":"iot:Publish","Resource":"*","Condition":{"StringEquals":{"iot:ClientId":"other"}}}`)},
			requests: []request{
				{Connect, arn + "client/dev1", false},
				{Publish, arn + "topic/x", true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx.ClientID == "" {
				ctx = testContext
			}
			p := compileAll(t, ctx, tt.docs...)
			for _, r := range tt.requests {
				d := p.Evaluate(r.action, r.resource)
				if d.Allowed != r.allowed {
					t.Errorf("Evaluate(%s, %s).Allowed = %v, want %v: %s", r.action, r.resource, d.Allowed, r.allowed, d)
				}
			}
		})
	}
}

func TestDecisionFields(t *testing.T) {
	p := compileAll(t, testContext,
		doc(`{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}`),
		doc(
			`{"Effect":"Allow","Action":"iot:Publish","Resource":"`+arn+`topic/*"}`,
			`{"Sid":"NoAdmin","Effect":"Deny","Action":"iot:Publish","Resource":"`+arn+`topic/admin"}`))
	tests := []struct {
		action, resource string
		want             Decision
	}{
		{Connect, arn + "client/dev1", Decision{Allowed: true, Effect: EffectAllow, Document: "policyDocuments[0]", Statement: 0}},
		{Publish, arn + "topic/x", Decision{Allowed: true, Effect: EffectAllow, Document: "policyDocuments[1]", Statement: 0}},
		{Publish, arn + "topic/admin", Decision{Allowed: false, Effect: EffectDeny, Document: "policyDocuments[1]", Statement: 1}},
		{Receive, arn + "topic/x", Decision{Allowed: false, Effect: "", Document: "", Statement: -1}},
	}
	for _, tt := range tests {
		d := p.Evaluate(tt.action, tt.resource)
		if d.Allowed != tt.want.Allowed || d.Effect != tt.want.Effect || d.Document != tt.want.Document || d.Statement != tt.want.Statement {
			t.Errorf("Evaluate(%s, %s) = {%v %q %q %d}, want {%v %q %q %d}", tt.action, tt.resource,
				d.Allowed, d.Effect, d.Document, d.Statement,
				tt.want.Allowed, tt.want.Effect, tt.want.Document, tt.want.Statement)
		}
		if d.Action != tt.action || d.Resource != tt.resource {
			t.Errorf("Decision request = %s %s, want %s %s", d.Action, d.Resource, tt.action, tt.resource)
		}
	}
}

func TestNilPolicyDeniesEverything(t *testing.T) {
	var p *Policy
	d := p.Evaluate(Connect, arn+"client/dev1")
	if d.Allowed || d.Effect != "" || d.Statement != -1 {
		t.Fatalf("nil Policy: %+v", d)
	}
	if got := d.String(); !strings.Contains(got, "implicit deny") {
		t.Fatalf("String() = %q", got)
	}
	if p := Compile([]*Document{nil}, testContext); p.Evaluate(Connect, "*").Allowed {
		t.Fatal("nil document allowed something")
	}
}

func TestCompileCopiesConnectAttributes(t *testing.T) {
	attrs := []string{"PersistentConnect"}
	p := compileAll(t, Context{ClientID: "c", ConnectAttributes: attrs},
		doc(`{"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"iot:ConnectAttributes":"PersistentConnect"}}}`))
	attrs[0] = "LastWill"
	if d := p.Evaluate(Connect, arn+"client/c"); !d.Allowed {
		t.Fatalf("denied: %s", d)
	}
}

func TestARNs(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{ClientARN(region, account, "dev1"), "arn:aws:iot:us-east-1:123456789012:client/dev1"},
		{TopicARN(region, account, "a/b"), "arn:aws:iot:us-east-1:123456789012:topic/a/b"},
		{TopicFilterARN(region, account, "a/+/#"), "arn:aws:iot:us-east-1:123456789012:topicfilter/a/+/#"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
}

// TestConditionsOutOfForceAcrossDocuments checks that a false condition takes out its own
// statement only, whatever its document and its place among the policy's statements.
func TestConditionsOutOfForceAcrossDocuments(t *testing.T) {
	var many []string
	for i := range 70 {
		action, cond := Publish, ""
		if i == 66 {
			action, cond = Receive, `,"Condition":{"StringEquals":{"iot:ClientId":"other"}}`
		}
		many = append(many, fmt.Sprintf(`{"Effect":"Allow","Action":"%s","Resource":"%stopic/t%d"%s}`, action, arn, i, cond))
	}
	p := compileAll(t, testContext,
		doc(many...),
		doc(`{"Effect":"Allow","Action":"iot:Subscribe","Resource":"*"}`,
			`{"Effect":"Deny","Action":["iot:Publish","iot:Receive"],"Resource":"*","Condition":{"StringEquals":{"iot:ClientId":"other"}}}`,
			`{"Effect":"Deny","Action":"iot:Subscribe","Resource":"`+arn+`topicfilter/no"}`))
	for i := range 70 {
		if d := p.Evaluate(Publish, fmt.Sprintf("%stopic/t%d", arn, i)); d.Allowed != (i != 66) {
			t.Errorf("publish to t%d: %s", i, d)
		}
	}
	if d := p.Evaluate(Subscribe, arn+"topicfilter/no"); d.Allowed || d.Document != "policyDocuments[1]" || d.Statement != 2 {
		t.Errorf("subscribe to no: %s (%s statement %d)", d, d.Document, d.Statement)
	}
	d := p.Evaluate(Receive, arn+"topic/t66")
	if got := d.String(); d.Allowed || !strings.Contains(got, `policyDocuments[0] statement 66 (Allow iot:Receive on `+arn+`topic/t66) is not in force: condition StringEquals iot:ClientId ["other"] is false`) ||
		!strings.Contains(got, `policyDocuments[1] statement 1 (Deny iot:Publish, iot:Receive on *) is not in force`) {
		t.Errorf("explanation: %s", got)
	}
}

func TestPolicyTexts(t *testing.T) {
	a, b := doc(`{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}`), doc(`{"Effect":"Deny","Action":"iot:Publish","Resource":"*"}`)
	p := compileAll(t, testContext, a, b)
	if got := p.Texts(); len(got) != 2 || got[0] != a || got[1] != b {
		t.Fatalf("Texts() = %q", got)
	}
	var none *Policy
	if got := none.Texts(); got != nil {
		t.Fatalf("nil policy: Texts() = %q", got)
	}
}
