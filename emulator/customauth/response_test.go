package customauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// policyOfLength returns a compact policy object of exactly n characters.
func policyOfLength(t testing.TB, n int) string {
	t.Helper()
	base := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"` + `"}]}`
	if n < len(base) {
		t.Fatalf("policy of %d characters is too short", n)
	}
	p := strings.Replace(base, `"Resource":""`, `"Resource":"`+strings.Repeat("a", n-len(base))+`"`, 1)
	if len(p) != n {
		t.Fatalf("built %d characters, want %d", len(p), n)
	}
	return p
}

func TestValidateResponse(t *testing.T) {
	const policy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`
	docs := func(n int) string {
		return "[" + strings.TrimSuffix(strings.Repeat(policy+",", n), ",") + "]"
	}
	ok := func(extra string) string {
		return `{"isAuthenticated":true,"principalId":"abc123"` + extra + `}`
	}
	tests := []struct {
		name      string
		raw       string
		want      *Response // nil when an error is expected
		wantField string
		wantMsg   string
	}{
		{"minimal", ok(""), &Response{IsAuthenticated: true, PrincipalID: "abc123", DisconnectAfter: DefaultDisconnectAfter}, "", ""},
		{
			"aws-lambda-go zero values",
			ok(`,"disconnectAfterInSeconds":0,"refreshAfterInSeconds":0,"policyDocuments":null`),
			&Response{IsAuthenticated: true, PrincipalID: "abc123", DisconnectAfter: DefaultDisconnectAfter}, "", "",
		},
		{
			"durations and object policy with whitespace",
			ok(`,"disconnectAfterInSeconds":3600,"refreshAfterInSeconds":300,"policyDocuments":[ {"Version": "2012-10-17", "Statement": []} ]`),
			&Response{
				IsAuthenticated: true, PrincipalID: "abc123", PolicyDocuments: []string{`{"Version":"2012-10-17","Statement":[]}`},
				RefreshAfter: 300 * time.Second, DisconnectAfter: 3600 * time.Second,
			}, "", "",
		},
		{
			"policy as a string is kept as sent",
			ok(`,"policyDocuments":["{ \"Version\": \"2012-10-17\", \"Statement\": [] }"]`),
			&Response{
				IsAuthenticated: true, PrincipalID: "abc123", PolicyDocuments: []string{`{ "Version": "2012-10-17", "Statement": [] }`},
				DisconnectAfter: DefaultDisconnectAfter,
			}, "", "",
		},
		{"extra keys and null durations", ok(`,"context":{"a":1},"refreshAfterInSeconds":null`), &Response{IsAuthenticated: true, PrincipalID: "abc123", DisconnectAfter: DefaultDisconnectAfter}, "", ""},
		{"bounds", ok(`,"disconnectAfterInSeconds":86400,"refreshAfterInSeconds":86400`), &Response{IsAuthenticated: true, PrincipalID: "abc123", RefreshAfter: 86400 * time.Second, DisconnectAfter: 86400 * time.Second}, "", ""},
		{"whole float", ok(`,"refreshAfterInSeconds":3e2`), &Response{IsAuthenticated: true, PrincipalID: "abc123", RefreshAfter: 300 * time.Second, DisconnectAfter: DefaultDisconnectAfter}, "", ""},
		{"10 documents", ok(`,"policyDocuments":` + docs(10)), nil, "", ""},
		{"2048-character document", ok(`,"policyDocuments":[` + policyOfLength(t, 2048) + `]`), nil, "", ""},
		{"not authenticated skips other rules", `{"isAuthenticated":false,"principalId":"not valid!"}`, &Response{}, "", ""},

		{"empty", "", nil, "", "not valid JSON"},
		{"not JSON", "OK", nil, "", "not valid JSON"},
		{"array", `[{"isAuthenticated":true}]`, nil, "", "a JSON object is required, got an array"},
		{"null", `null`, nil, "", "got null"},
		{"string", `"{\"isAuthenticated\":true}"`, nil, "", "got a string"},
		{"too big", `{"isAuthenticated":true,"x":"` + strings.Repeat("a", MaxResponseBytes) + `"}`, nil, "", "more than Lambda's"},
		{"isAuthenticated missing", `{"principalId":"abc"}`, nil, "isAuthenticated", "missing"},
		{"isAuthenticated wrong case", `{"IsAuthenticated":true,"principalId":"abc"}`, nil, "isAuthenticated", `found "IsAuthenticated"`},
		{"isAuthenticated a string", `{"isAuthenticated":"true","principalId":"abc"}`, nil, "isAuthenticated", `got a string: "true"`},
		{"isAuthenticated null", `{"isAuthenticated":null}`, nil, "isAuthenticated", "got null"},
		{"principalId missing", `{"isAuthenticated":true}`, nil, "principalId", "missing"},
		{"principalId empty", `{"isAuthenticated":true,"principalId":""}`, nil, "principalId", "must not be empty"},
		{"principalId a number", `{"isAuthenticated":true,"principalId":123}`, nil, "principalId", "must be a string, got a number: 123"},
		{"principalId with dash", `{"isAuthenticated":true,"principalId":"user-1"}`, nil, "principalId", `"user-1" has '-' at byte 4`},
		{"principalId with username query", `{"isAuthenticated":true,"principalId":"dev?x-amz-customauthorizer-name=A"}`, nil, "principalId", `'?'`},
		{"principalId non-ASCII", `{"isAuthenticated":true,"principalId":"é"}`, nil, "principalId", `'é'`},
		{"principalId 129 characters", `{"isAuthenticated":true,"principalId":"` + strings.Repeat("a", 129) + `"}`, nil, "principalId", "129 characters, at most 128"},
		{"policyDocuments an object", ok(`,"policyDocuments":` + policy), nil, "policyDocuments", "must be an array, got an object"},
		{"11 documents", ok(`,"policyDocuments":` + docs(11)), nil, "policyDocuments", "11 documents, at most 10"},
		{"2049-character document", ok(`,"policyDocuments":[` + policyOfLength(t, 2049) + `]`), nil, "policyDocuments[0]", "2049 characters, at most 2048"},
		{"2049-character string document", ok(`,"policyDocuments":[` + mustJSON(t, policyOfLength(t, 2049)) + `]`), nil, "policyDocuments[0]", "2049 characters"},
		{"null document", ok(`,"policyDocuments":[` + policy + `,null]`), nil, "policyDocuments[1]", "got null"},
		{"number document", ok(`,"policyDocuments":[1]`), nil, "policyDocuments[0]", "got a number"},
		{"string not holding an object", ok(`,"policyDocuments":["Allow everything"]`), nil, "policyDocuments[0]", "does not hold a JSON object"},
		{"disconnect 299", ok(`,"disconnectAfterInSeconds":299`), nil, "disconnectAfterInSeconds", "299 is outside 300..86400"},
		{"disconnect 86401", ok(`,"disconnectAfterInSeconds":86401`), nil, "disconnectAfterInSeconds", "86401 is outside"},
		{"refresh 299", ok(`,"refreshAfterInSeconds":299`), nil, "refreshAfterInSeconds", "299 is outside"},
		{"refresh negative", ok(`,"refreshAfterInSeconds":-300`), nil, "refreshAfterInSeconds", "-300 is outside"},
		{"refresh huge", ok(`,"refreshAfterInSeconds":1e400`), nil, "refreshAfterInSeconds", "1e400 is outside"},
		{"refresh fraction", ok(`,"refreshAfterInSeconds":300.5`), nil, "refreshAfterInSeconds", "whole number"},
		{"refresh a string", ok(`,"refreshAfterInSeconds":"300"`), nil, "refreshAfterInSeconds", `must be a number, got a string: "300"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ValidateResponse([]byte(tt.raw))
			expectError := tt.wantField != "" || tt.wantMsg != ""
			if !expectError {
				if err != nil {
					t.Fatalf("ValidateResponse() error = %v", err)
				}
				if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("ValidateResponse() = %+v, want %+v", got, tt.want)
				}
				return
			}
			var re *ResponseError
			if !errors.As(err, &re) {
				t.Fatalf("ValidateResponse() = %+v, %v; want a *ResponseError", got, err)
			}
			if got != nil {
				t.Errorf("ValidateResponse() returned %+v with an error", got)
			}
			if re.Field != tt.wantField || !strings.Contains(re.Problem, tt.wantMsg) {
				t.Fatalf("error field %q problem %q; want field %q problem containing %q", re.Field, re.Problem, tt.wantField, tt.wantMsg)
			}
			if len(err.Error()) > 400 {
				t.Errorf("error message of %d bytes: offending values must be truncated", len(err.Error()))
			}
		})
	}
}

// mustJSON encodes v as JSON.
func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// An aws-lambda-go function's answer, as its types marshal it, is valid.
func TestValidateResponseFromLambdaGoTypes(t *testing.T) {
	resp := events.IoTCoreCustomAuthorizerResponse{
		IsAuthenticated: true,
		PrincipalID:     "dev1",
		PolicyDocuments: []*events.IAMPolicyDocument{{
			Version:   "2012-10-17",
			Statement: []events.IAMPolicyStatement{{Action: []string{"iot:Connect"}, Effect: "Allow", Resource: []string{"*"}}},
		}},
	}
	got, err := ValidateResponse([]byte(mustJSON(t, resp)))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":"2012-10-17","Statement":[{"Action":["iot:Connect"],"Effect":"Allow","Resource":["*"]}]}`
	if len(got.PolicyDocuments) != 1 || got.PolicyDocuments[0] != want || got.DisconnectAfter != DefaultDisconnectAfter || got.RefreshAfter != 0 {
		t.Fatalf("ValidateResponse() = %+v", got)
	}
}

func FuzzValidateResponse(f *testing.F) {
	f.Add([]byte(`{"isAuthenticated":true,"principalId":"a","policyDocuments":[{"Version":"2012-10-17"}],"refreshAfterInSeconds":300}`))
	f.Add([]byte(`{"isAuthenticated":true,"principalId":"a","policyDocuments":["{}"],"disconnectAfterInSeconds":1e999}`))
	f.Add([]byte(`{"isAuthenticated":false}`))
	f.Add([]byte(`[1,"2",null]`))
	f.Add([]byte(`{"isAuthenticated":true,"principalId":"\u00e9"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := ValidateResponse(raw)
		if (got == nil) == (err == nil) {
			t.Fatalf("ValidateResponse() = %v, %v: want exactly one", got, err)
		}
		if err != nil {
			var re *ResponseError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *ResponseError", err)
			}
			return
		}
		if !got.IsAuthenticated {
			return
		}
		if len(got.PolicyDocuments) > MaxPolicyDocuments || got.PrincipalID == "" ||
			got.DisconnectAfter < MinSessionSeconds*time.Second || got.DisconnectAfter > MaxSessionSeconds*time.Second ||
			got.RefreshAfter != 0 && (got.RefreshAfter < MinSessionSeconds*time.Second || got.RefreshAfter > MaxSessionSeconds*time.Second) {
			t.Fatalf("accepted an answer that breaks a rule: %+v", got)
		}
		for _, d := range got.PolicyDocuments {
			if !json.Valid([]byte(d)) {
				t.Fatalf("document %q is not JSON", d)
			}
		}
	})
}

func ExampleValidateResponse() {
	_, err := ValidateResponse([]byte(`{"isAuthenticated":true,"principalId":"user-1"}`))
	fmt.Println(err)
	// Output: invalid authorizer response: principalId: "user-1" has '-' at byte 4; only [a-zA-Z0-9] is allowed
}
