package policy

import (
	"strings"
	"testing"
)

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name, src string
		// a request that the parsed document must allow
		action, resource string
	}{
		{"single statement object", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}}`, Connect, "x"},
		{"no Version", `{"Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`, Connect, "x"},
		{"Id and Sid", `{"Id":"p1","Statement":[{"Sid":"s1","Effect":"Allow","Action":["iot:Connect"],"Resource":["*"]}]}`, Connect, "x"},
		{"whitespace around", " \n{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}\n\t", Publish, "x"},
		{"empty Condition", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{}}]}`, Publish, "x"},
		{"number condition value", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"iot:ClientId":1.50}}}]}`, Publish, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse("p", []byte(tt.src))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if d.Name != "p" {
				t.Errorf("Name = %q", d.Name)
			}
			ctx := testContext
			if strings.Contains(tt.src, "1.50") {
				ctx.ClientID = "1.50" // JSON numbers keep their text
			}
			if dec := Compile([]*Document{d}, ctx).Evaluate(tt.action, tt.resource); !dec.Allowed {
				t.Errorf("not allowed: %s", dec)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	stmt := func(s string) string { return `{"Version":"2012-10-17","Statement":[` + s + `]}` }
	ok := `{"Effect":"Allow","Action":"*","Resource":"*"}`
	tests := []struct{ src, want string }{
		{``, `policy policyDocuments[2]: empty document`},
		{`{`, `policy policyDocuments[2]: invalid JSON`},
		{`{} {}`, `unexpected data after the policy object`},
		{`[]`, `a policy must be a JSON object, not []`},
		{`"x"`, `a policy must be a JSON object, not "x"`},
		{`{"Version":"2012-10-17"}`, `Statement is required`},
		{`{"Version":"2008-10-17","Statement":[]}`, `Version "2008-10-17" is not "2012-10-17"`},
		{`{"Version":2012,"Statement":[]}`, `Version 2012 is not "2012-10-17"`},
		{`{"Statement":"x"}`, `Statement must be an object or an array of objects`},
		{`{"Statement":[],"Extra":1}`, `unknown key "Extra"`},
		{`{"statement":[]}`, `unknown key "statement" (keys are case-sensitive: did you mean "Statement"?)`},
		{`{"Id":1,"Statement":[]}`, `Id must be a string`},
		{stmt(`"x"`), `statement 0: a statement must be a JSON object, not "x"`},
		{stmt(ok + `,{"Effect":"allow","Action":"*","Resource":"*"}`), `policy policyDocuments[2]: statement 1: Effect "allow" is not Allow or Deny`},
		{stmt(`{"Action":"*","Resource":"*"}`), `statement 0: Effect is required`},
		{stmt(`{"Effect":true,"Action":"*","Resource":"*"}`), `statement 0: Effect true is not Allow or Deny`},
		{stmt(`{"Effect":"Allow","Resource":"*"}`), `statement 0: needs Action or NotAction`},
		{stmt(`{"Effect":"Allow","Action":"*","NotAction":"*","Resource":"*"}`), `has both Action and NotAction`},
		{stmt(`{"Effect":"Allow","Action":"*"}`), `needs Resource or NotResource`},
		{stmt(`{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}`), `has both Resource and NotResource`},
		{stmt(`{"Effect":"Allow","Action":[],"Resource":"*"}`), `Action is an empty array`},
		{stmt(`{"Effect":"Allow","Action":"","Resource":"*"}`), `Action is empty`},
		{stmt(`{"Effect":"Allow","Action":["iot:Connect",3],"Resource":"*"}`), `Action[1] must be a non-empty string, not 3`},
		{stmt(`{"Effect":"Allow","Action":null,"Resource":"*"}`), `Action must be a string or an array of strings, not null`},
		{stmt(`{"Effect":"Allow","Action":"*","NotResource":{"a":1}}`), `NotResource must be a string or an array of strings, not {"a":1}`},
		{stmt(`{"Effect":"Allow","Action":"*","Resource":["*",""]}`), `Resource[1] must be a non-empty string, not ""`},
		{stmt(`{"Sid":5,"Effect":"Allow","Action":"*","Resource":"*"}`), `Sid must be a string`},
		{stmt(`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}`), `unknown key "Principal" (an IoT policy has no principal`},
		{stmt(`{"effect":"Allow","Action":"*","Resource":"*"}`), `unknown key "effect" (keys are case-sensitive: did you mean "Effect"?)`},
		{stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"iot:ClientId":"x"}}}`), `statement 0: Condition: unknown condition operator "StringEqualz"`},
		{stmt(`{"Effect":"Allow","Action":"*","Resource":"` + strings.Repeat("é", 100) + `","Sid":{}}`), `Sid must be a string`},
		{stmt(`{"Effect":"` + strings.Repeat("é", 100) + `","Action":"*","Resource":"*"}`), `Effect "ééé`},
	}
	for _, tt := range tests {
		d, err := Parse("policyDocuments[2]", []byte(tt.src))
		if err == nil {
			t.Errorf("Parse(%s) succeeded, want error containing %q", tt.src, tt.want)
			continue
		}
		if d != nil {
			t.Errorf("Parse(%s) returned a document with its error", tt.src)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%s):\n got %q\nwant it to contain %q", tt.src, err, tt.want)
		}
	}
}

func TestParsePattern(t *testing.T) {
	tests := []struct {
		src  string
		vars bool
		want []token
	}{
		{"", true, nil},
		{"a/b", true, []token{{kind: literal, text: "a/b"}}},
		{"a*b?", true, []token{{kind: literal, text: "a"}, {kind: anyRun}, {kind: literal, text: "b"}, {kind: anyChar}}},
		{"x${iot:ClientId}y", true, []token{{kind: literal, text: "x"}, {kind: variable, v: varClientID, text: "iot:ClientId"}, {kind: literal, text: "y"}}},
		{"${IOT:DOMAINNAME}${aws:sourceip}", true, []token{{kind: variable, v: varDomainName, text: "IOT:DOMAINNAME"}, {kind: variable, v: varSourceIP, text: "aws:sourceip"}}},
		{"${iot:Certificate.Subject.CommonName}", true, []token{{kind: variable, text: "iot:Certificate.Subject.CommonName", key: "iot:certificate.subject.commonname"}}},
		{"${*}${?}${$}", true, []token{{kind: literal, text: "*"}, {kind: literal, text: "?"}, {kind: literal, text: "$"}}},
		{"${*}", false, []token{{kind: literal, text: "${"}, {kind: anyRun}, {kind: literal, text: "}"}}},
		{"$aws/${", true, []token{{kind: literal, text: "$aws/${"}}},
		{"a${b*", true, []token{{kind: literal, text: "a${b"}, {kind: anyRun}}},
		{"${}", true, []token{{kind: variable}}},
	}
	for _, tt := range tests {
		got := parsePattern(tt.src, tt.vars).toks
		if len(got) != len(tt.want) {
			t.Errorf("parsePattern(%q, %v) = %v, want %v", tt.src, tt.vars, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("parsePattern(%q, %v) = %v, want %v", tt.src, tt.vars, got, tt.want)
				break
			}
		}
	}
}
