package policy

import (
	"strings"
	"testing"
)

func TestDecisionString(t *testing.T) {
	p := compileAll(t, testContext,
		doc(
			`{"Effect":"Allow","Action":"iot:Connect","Resource":"`+arn+`client/${iot:ClientId}"}`,
			`{"Sid":"OwnTopics","Effect":"Allow","Action":["iot:Publish","iot:Receive"],"Resource":"`+arn+`topic/${iot:ClientId}/*"}`,
			`{"Effect":"Deny","Action":"iot:Publish","Resource":"`+arn+`topic/dev1/admin"}`,
			`{"Effect":"Allow","Action":"iot:Subscribe","Resource":"arn:aws:iot:eu-west-1:999999999999:topicfilter/*"}`),
		doc(
			`{"Effect":"Allow","NotAction":"iot:Connect","NotResource":"`+arn+`topic/${iot:Connection.Thing.ThingName}"}`,
			`{"Effect":"Allow","Action":"iot:RetainPublish","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`),
	)
	tests := []struct {
		action, resource string
		want             []string
	}{
		{Connect, arn + "client/dev1", []string{
			`allowed by policyDocuments[0] statement 0 (Allow iot:Connect on ` + arn + `client/${iot:ClientId} (= ` + arn + `client/dev1))`,
		}},
		{Publish, arn + "topic/dev1/x", []string{
			`allowed by policyDocuments[0] statement 1 "OwnTopics" (Allow iot:Publish, iot:Receive on ` + arn + `topic/${iot:ClientId}/* (= ` + arn + `topic/dev1/*))`,
		}},
		{Publish, arn + "topic/dev1/admin", []string{
			`denied by policyDocuments[0] statement 2 (Deny iot:Publish on ` + arn + `topic/dev1/admin): an explicit Deny overrides any Allow`,
		}},
		{Publish, arn + "topic/other", []string{
			// NotResource whose variable does not resolve excludes nothing: this one allows.
			`allowed by policyDocuments[1] statement 0 (Allow any action except iot:Connect on any resource except ` + arn + `topic/${iot:Connection.Thing.ThingName} (matches nothing: ${iot:Connection.Thing.ThingName} does not resolve: thing and certificate variables do not resolve for custom authentication))`,
		}},
		{Connect, arn + "client/dev2", []string{
			`denied: no statement allows iot:Connect on ` + arn + `client/dev2 (implicit deny); `,
			`policyDocuments[0] statement 0 (Allow iot:Connect on ` + arn + `client/${iot:ClientId} (= ` + arn + `client/dev1)) does not match this resource`,
		}},
		{Subscribe, "arn:aws:iot:eu-west-1:999999999999:topicfilter/x", []string{
			`allowed by policyDocuments[0] statement 3`,
		}},
		{RetainPublish, arn + "topic/x", []string{
			`allowed by policyDocuments[1] statement 0`,
		}},
	}
	for _, tt := range tests {
		got := p.Evaluate(tt.action, tt.resource).String()
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("Evaluate(%s, %s).String() =\n%s\nwant it to contain\n%s", tt.action, tt.resource, got, w)
			}
		}
	}
}

func TestImplicitDenyNotes(t *testing.T) {
	p := compileAll(t, testContext,
		doc(
			`{"Effect":"Allow","Action":"iot:Publish","Resource":"`+arn+`topic/${iot:Connection.Thing.ThingName}/*"}`,
			`{"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-west-2:999999999999:topic/x"}`,
			`{"Sid":"OnlyFromOffice","Effect":"Allow","Action":"iot:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`,
			`{"Effect":"Allow","Action":"iot:Receive","Resource":"*","Condition":{"StringEquals":{"iot:Connection.Thing.ThingName":"x"}}}`))
	got := p.Evaluate(Publish, arn+"topic/x").String()
	for _, w := range []string{
		`denied: no statement allows iot:Publish on ` + arn + `topic/x (implicit deny)`,
		`policyDocuments[0] statement 0 (Allow iot:Publish on ` + arn + `topic/${iot:Connection.Thing.ThingName}/* (matches nothing: ${iot:Connection.Thing.ThingName} does not resolve: thing and certificate variables do not resolve for custom authentication)) does not match this resource`,
		`policyDocuments[0] statement 1 (Allow iot:Publish on arn:aws:iot:us-west-2:999999999999:topic/x) does not match this resource (an ARN written for region us-west-2; this connection's region is us-east-1) (an ARN written for account 999999999999; this connection's account is 123456789012)`,
		`policyDocuments[0] statement 2 "OnlyFromOffice" (Allow iot:* on *) is not in force: condition IpAddress aws:SourceIp ["10.0.0.0/8"] is false (aws:SourceIp is "203.0.113.7")`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("String() =\n%s\nwant it to contain\n%s", got, w)
		}
	}
	if strings.Contains(got, "statement 3") {
		t.Errorf("String() mentions a statement for another action:\n%s", got)
	}
	got = p.Evaluate(Receive, arn+"topic/x").String()
	if w := `condition StringEquals iot:Connection.Thing.ThingName ["x"] is false (iot:Connection.Thing.ThingName is absent for this connection)`; !strings.Contains(got, w) {
		t.Errorf("String() =\n%s\nwant it to contain\n%s", got, w)
	}

	empty := compileAll(t, testContext, doc(`{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}`))
	if got, w := empty.Evaluate(Subscribe, "x").String(), "no statement in force grants iot:Subscribe"; !strings.Contains(got, w) {
		t.Errorf("String() = %s, want it to contain %s", got, w)
	}
	var many []string
	for range 20 {
		many = append(many, `{"Effect":"Allow","Action":"iot:Publish","Resource":"`+arn+`topic/y"}`)
	}
	long := compileAll(t, testContext, doc(many...)).Evaluate(Publish, arn+"topic/x").String()
	if n := strings.Count(long, "does not match this resource"); n != maxNotes || !strings.HasSuffix(long, "; ...") {
		t.Errorf("%d notes, want %d and a trailing ...:\n%s", n, maxNotes, long)
	}
}

func TestUnresolvedReasons(t *testing.T) {
	ctx := &Context{}
	for name, want := range map[string]string{
		"iot:Connection.Thing.ThingName":     "thing and certificate variables",
		"iot:Certificate.Subject.CommonName": "thing and certificate variables",
		"iot:ClientId":                       "not known for this connection",
		"iot:Whatever":                       "not a policy variable custom authentication provides",
	} {
		if got := ctx.whyUnresolved(name); !strings.Contains(got, want) {
			t.Errorf("whyUnresolved(%s) = %q, want %q", name, got, want)
		}
	}
}
