package policy

import (
	"strings"
	"testing"
)

// conditionHolds compiles an Allow-everything statement guarded by condition (the JSON of a
// Condition block) for ctx, and reports whether it is in force.
func conditionHolds(t *testing.T, condition string, ctx Context) bool {
	t.Helper()
	p := compileAll(t, ctx, doc(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":`+condition+`}`))
	return p.Evaluate(Connect, arn+"client/x").Allowed
}

func TestConditionOperators(t *testing.T) {
	persistent := testContext
	persistent.ConnectAttributes = []string{"PersistentConnect"}
	both := testContext
	both.ConnectAttributes = []string{"PersistentConnect", "LastWill"}
	v6 := testContext
	v6.SourceIP = "[2001:db8::5]:51000"
	mapped := testContext
	mapped.SourceIP = "::ffff:10.1.2.3"
	withPort := testContext
	withPort.SourceIP = "10.1.2.3:4711"
	noIP := testContext
	noIP.SourceIP = ""

	tests := []struct {
		name      string
		condition string
		ctx       Context // testContext when zero
		want      bool
	}{
		// StringEquals and friends.
		{"StringEquals match", `{"StringEquals":{"iot:ClientId":"dev1"}}`, Context{}, true},
		{"StringEquals no match", `{"StringEquals":{"iot:ClientId":"dev2"}}`, Context{}, false},
		{"StringEquals any of values", `{"StringEquals":{"iot:ClientId":["dev2","dev1"]}}`, Context{}, true},
		{"StringEquals is case-sensitive", `{"StringEquals":{"iot:ClientId":"DEV1"}}`, Context{}, false},
		{"StringEquals star is literal", `{"StringEquals":{"iot:ClientId":"dev*"}}`, Context{}, false},
		{"StringEquals key name case-insensitive", `{"StringEquals":{"IOT:CLIENTID":"dev1"}}`, Context{}, true},
		{"StringEquals variable in value", `{"StringEquals":{"iot:DomainName":"${iot:DomainName}"}}`, Context{}, true},
		{"StringEquals unresolved variable in value", `{"StringEquals":{"iot:ClientId":"${iot:Connection.Thing.ThingName}"}}`, Context{}, false},
		{"StringEquals absent key", `{"StringEquals":{"iot:Connection.Thing.ThingName":"dev1"}}`, Context{}, false},
		{"StringEquals unknown key", `{"StringEquals":{"aws:NoSuchKey":"x"}}`, Context{}, false},
		{"StringEqualsIfExists absent key", `{"StringEqualsIfExists":{"aws:NoSuchKey":"x"}}`, Context{}, true},
		{"StringEqualsIfExists present key no match", `{"StringEqualsIfExists":{"iot:ClientId":"x"}}`, Context{}, false},
		{"StringNotEquals match", `{"StringNotEquals":{"iot:ClientId":"dev2"}}`, Context{}, true},
		{"StringNotEquals no match", `{"StringNotEquals":{"iot:ClientId":["dev2","dev1"]}}`, Context{}, false},
		{"StringNotEquals absent key", `{"StringNotEquals":{"aws:NoSuchKey":"x"}}`, Context{}, true},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"iot:ClientId":"DEV1"}}`, Context{}, true},
		{"StringNotEqualsIgnoreCase", `{"StringNotEqualsIgnoreCase":{"iot:ClientId":"DEV1"}}`, Context{}, false},
		{"StringLike", `{"StringLike":{"iot:DomainName":"*.amazonaws.com"}}`, Context{}, true},
		{"StringLike question mark", `{"StringLike":{"iot:ClientId":"dev?"}}`, Context{}, true},
		{"StringLike no match", `{"StringLike":{"iot:ClientId":"sensor-*"}}`, Context{}, false},
		{"StringLike escaped star", `{"StringLike":{"iot:ClientId":"dev${*}"}}`, Context{}, false},
		{"StringNotLike", `{"StringNotLike":{"iot:ClientId":"sensor-*"}}`, Context{}, true},
		{"StringNotLike no", `{"StringNotLike":{"iot:ClientId":"d*"}}`, Context{}, false},

		// Bool and Null.
		{"Bool compares text case-insensitively", `{"Bool":{"iot:ClientId":"DEV1"}}`, Context{}, true},
		{"Bool JSON boolean", `{"Bool":{"iot:Connection.Thing.IsAttached":true}}`, Context{}, false},
		{"BoolIfExists on an absent thing key", `{"BoolIfExists":{"iot:Connection.Thing.IsAttached":"true"}}`, Context{}, true},
		{"Null true on absent key", `{"Null":{"iot:Connection.Thing.ThingName":"true"}}`, Context{}, true},
		{"Null true on present key", `{"Null":{"iot:ClientId":"true"}}`, Context{}, false},
		{"Null false on present key", `{"Null":{"iot:ClientId":false}}`, Context{}, true},

		// IP addresses.
		{"IpAddress CIDR", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, Context{}, true},
		{"IpAddress CIDR no match", `{"IpAddress":{"aws:SourceIp":"198.51.100.0/24"}}`, Context{}, false},
		{"IpAddress plain IP", `{"IpAddress":{"aws:SourceIp":"203.0.113.7"}}`, Context{}, true},
		{"IpAddress plain IP no match", `{"IpAddress":{"aws:SourceIp":"203.0.113.8"}}`, Context{}, false},
		{"IpAddress any of values", `{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","203.0.113.0/28"]}}`, Context{}, true},
		{"IpAddress host bits in CIDR", `{"IpAddress":{"aws:SourceIp":"203.0.113.99/24"}}`, Context{}, true},
		{"IpAddress source with port", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, withPort, true},
		{"IpAddress IPv6 source with port", `{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`, v6, true},
		{"IpAddress IPv6 source, IPv4 block", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, v6, false},
		{"IpAddress IPv4-mapped source", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, mapped, true},
		{"IpAddress absent source", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, noIP, false},
		{"IpAddress on a non-IP key", `{"IpAddress":{"iot:ClientId":"0.0.0.0/0"}}`, Context{}, false},
		{"IpAddress variable value", `{"IpAddress":{"aws:SourceIp":"${aws:SourceIp}"}}`, Context{}, true},
		{"NotIpAddress", `{"NotIpAddress":{"aws:SourceIp":"198.51.100.0/24"}}`, Context{}, true},
		{"NotIpAddress no", `{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, Context{}, false},
		{"NotIpAddress absent source", `{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, noIP, true},

		// ARN operators: no custom-authentication key is an ARN.
		{"ArnLike on a non-ARN key", `{"ArnLike":{"iot:ClientId":"*"}}`, Context{ClientID: "x"}, false},
		{"ArnLike on an ARN value", `{"ArnLike":{"iot:ClientId":"arn:aws:iot:*:*:client/*"}}`, Context{ClientID: "arn:aws:iot:r:1:client/c"}, true},
		{"ArnEquals takes wildcards", `{"ArnEquals":{"iot:ClientId":"arn:aws:iot:?:1:client/c"}}`, Context{ClientID: "arn:aws:iot:r:1:client/c"}, true},
		{"ArnNotLike", `{"ArnNotLike":{"iot:ClientId":"arn:*"}}`, Context{ClientID: "x"}, true},
		{"ArnNotEquals", `{"ArnNotEquals":{"iot:ClientId":"arn:aws:iot:r:1:client/c"}}`, Context{ClientID: "arn:aws:iot:r:1:client/c"}, false},

		// Multi-valued iot:ConnectAttributes.
		{"ForAnyValue match", `{"ForAnyValue:StringEquals":{"iot:ConnectAttributes":"PersistentConnect"}}`, persistent, true},
		{"ForAnyValue one of two", `{"ForAnyValue:StringEquals":{"iot:ConnectAttributes":"LastWill"}}`, both, true},
		{"ForAnyValue no match", `{"ForAnyValue:StringEquals":{"iot:ConnectAttributes":"LastWill"}}`, persistent, false},
		{"ForAnyValue absent", `{"ForAnyValue:StringEquals":{"iot:ConnectAttributes":"LastWill"}}`, Context{}, false},
		{"ForAnyValue negated", `{"ForAnyValue:StringNotEquals":{"iot:ConnectAttributes":"LastWill"}}`, both, true},
		{"ForAnyValue negated no", `{"ForAnyValue:StringNotEquals":{"iot:ConnectAttributes":["LastWill","PersistentConnect"]}}`, both, false},
		{"ForAnyValue StringLike", `{"ForAnyValue:StringLike":{"iot:ConnectAttributes":"Persist*"}}`, both, true},
		{"ForAllValues all in set", `{"ForAllValues:StringEquals":{"iot:ConnectAttributes":["PersistentConnect","LastWill"]}}`, both, true},
		{"ForAllValues one outside set", `{"ForAllValues:StringEquals":{"iot:ConnectAttributes":"PersistentConnect"}}`, both, false},
		{"ForAllValues absent", `{"ForAllValues:StringEquals":{"iot:ConnectAttributes":"PersistentConnect"}}`, Context{}, true},
		{"ForAllValues negated", `{"ForAllValues:StringNotEquals":{"iot:ConnectAttributes":"LastWill"}}`, persistent, true},
		{"ForAllValues negated no", `{"ForAllValues:StringNotEquals":{"iot:ConnectAttributes":"LastWill"}}`, both, false},
		{"plain operator on multi-valued key", `{"StringEquals":{"iot:ConnectAttributes":"LastWill"}}`, both, true},
		{"plain negated operator on multi-valued key", `{"StringNotEquals":{"iot:ConnectAttributes":"LastWill"}}`, both, false},
		{"ForAnyValue IfExists absent", `{"ForAnyValue:StringEqualsIfExists":{"iot:ConnectAttributes":"LastWill"}}`, Context{}, true},
		{"ConnectAttributes is not a variable", `{"StringEquals":{"iot:ClientId":"${iot:ConnectAttributes}"}}`, Context{ClientID: "LastWill", ConnectAttributes: []string{"LastWill"}}, false},

		// Several operators and keys are ANDed.
		{"AND all true", `{"StringEquals":{"iot:ClientId":"dev1"},"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, Context{}, true},
		{"AND one false", `{"StringEquals":{"iot:ClientId":"dev1"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, Context{}, false},
		{"AND keys under one operator", `{"StringEquals":{"iot:ClientId":"dev1","iot:DomainName":"other"}}`, Context{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx.ClientID == "" {
				attrs := ctx.ConnectAttributes
				ctx = testContext
				ctx.ConnectAttributes = attrs
			}
			if got := conditionHolds(t, tt.condition, ctx); got != tt.want {
				t.Errorf("%s: holds = %v, want %v", tt.condition, got, tt.want)
			}
		})
	}
}

func TestConditionOperatorErrors(t *testing.T) {
	tests := []struct{ condition, want string }{
		{`{"StringEqualz":{"iot:ClientId":"x"}}`, `unknown condition operator "StringEqualz"`},
		{`{"stringequals":{"iot:ClientId":"x"}}`, `did you mean "StringEquals"?`},
		{`{"ForSomeValues:StringEquals":{"iot:ClientId":"x"}}`, `unknown condition operator "ForSomeValues:StringEquals"`},
		{`{"NullIfExists":{"iot:ClientId":"true"}}`, `unknown condition operator "NullIfExists"`},
		{`{"StringEqualsIfExistsIfExists":{"iot:ClientId":"x"}}`, `unknown condition operator`},
		{`{"NumericLessThan":{"iot:ClientId":"3"}}`, `condition operator "NumericLessThan" is not supported by iotemu`},
		{`{"DateGreaterThanIfExists":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}`, `not supported by iotemu`},
		{`{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}`, `"10.0.0.0/33" is not an IP address or CIDR block`},
		{`{"IpAddress":{"aws:SourceIp":"example.com"}}`, `is not an IP address or CIDR block`},
		{`{"StringEquals":{"iot:ClientId":[]}}`, `no values`},
		{`{"StringEquals":{"iot:ClientId":null}}`, `values must be strings`},
		{`{"StringEquals":{"iot:ClientId":{"a":"b"}}}`, `values must be strings`},
		{`{"StringEquals":"iot:ClientId"}`, `Condition "StringEquals" must be an object`},
		{`[]`, `Condition must be an object`},
	}
	for _, tt := range tests {
		src := doc(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":` + tt.condition + `}`)
		_, err := Parse("policyDocuments[0]", []byte(src))
		if err == nil {
			t.Errorf("%s: Parse succeeded, want an error containing %q", tt.condition, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "policy policyDocuments[0]: statement 0: ") {
			t.Errorf("%s: error %q, want it to name the statement and contain %q", tt.condition, err, tt.want)
		}
	}
}
