package customauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/iotemu/iotemu/lambdarunner"
)

const (
	arnAuth   = "arn:aws:lambda:us-east-1:123456789012:function:auth"
	arnOrphan = "arn:aws:lambda:us-east-1:123456789012:function:missing"
	sni       = "abc123-ats.iot.us-east-1.amazonaws.com"
)

const allowPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`

// allow is an authorizer function written with aws-lambda-go's types.
func allow(_ context.Context, _ events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
	return events.IoTCoreCustomAuthorizerResponse{
		IsAuthenticated: true,
		PrincipalID:     "dev1",
		PolicyDocuments: []*events.IAMPolicyDocument{{
			Version:   "2012-10-17",
			Statement: []events.IAMPolicyStatement{{Action: []string{"iot:Connect"}, Effect: "Allow", Resource: []string{"*"}}},
		}},
	}, nil
}

// answer is an authorizer function that answers raw JSON.
func answer(raw string) func(context.Context, events.IoTCoreCustomAuthorizerRequest) (json.RawMessage, error) {
	return func(context.Context, events.IoTCoreCustomAuthorizerRequest) (json.RawMessage, error) {
		return json.RawMessage(raw), nil
	}
}

// recorder keeps the events a function received.
type recorder struct {
	mu     sync.Mutex
	events [][]byte
}

func (r *recorder) wrap(inv lambdarunner.Invoker) lambdarunner.Invoker {
	return invokerFunc(func(ctx context.Context, event []byte) ([]byte, error) {
		r.mu.Lock()
		r.events = append(r.events, event)
		r.mu.Unlock()
		return inv.Invoke(ctx, event)
	})
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// newFixture returns an authenticator whose registry has the authorizers MyAuth (signing with
// key1), Inactive, Open (signing disabled) and Orphan (function missing), all running handler.
func newFixture(t testing.TB, handler any, defaultAuthorizer string) (*Authenticator, *recorder) {
	t.Helper()
	key1, _ := keys(t)
	pemText := publicPEM(t, &key1.PublicKey)
	rec := &recorder{}
	signed := func(name string, status Status, arn string) *Authorizer {
		return &Authorizer{Name: name, FunctionARN: arn, TokenKeyName: "token", Status: status,
			TokenSigningPublicKeys: map[string]string{"key1": pemText}}
	}
	reg := &fakeRegistry{
		authorizers: map[string]*Authorizer{
			"MyAuth":   signed("MyAuth", StatusActive, arnAuth),
			"Inactive": signed("Inactive", StatusInactive, arnAuth),
			"Orphan":   signed("Orphan", StatusActive, arnOrphan),
			"Open":     {Name: "Open", FunctionARN: arnAuth, TokenKeyName: "token", SigningDisabled: true, Status: StatusActive},
		},
		def:      defaultAuthorizer,
		invokers: map[string]lambdarunner.Invoker{arnAuth: rec.wrap(inProcess(t, handler))},
	}
	for _, a := range reg.authorizers {
		if err := a.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	return &Authenticator{Registry: reg}, rec
}

// inProcess returns a function running handler in process.
func inProcess(t testing.TB, handler any) lambdarunner.Invoker {
	t.Helper()
	rt, err := lambdarunner.NewInProcess(handler)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := lambdarunner.NewFunction(lambdarunner.FunctionConfig{Name: "f", Runtime: rt, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// mqtt is a direct MQTT connection with the given username.
func mqtt(username string) Request {
	return Request{
		ConnectionID: "3b6c0c5e-6a37-4c4f-9d0d-4f9b3f1e2a10",
		Protocols:    ProtocolsMQTT,
		ServerName:   sni,
		HasUsername:  true,
		Username:     username,
		HasPassword:  true,
		Password:     []byte("secret"),
		ClientID:     "dev1",
	}
}

// stepNamed returns the last step called name.
func stepNamed(t *testing.T, steps []Step, name string) Step {
	t.Helper()
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].Name == name {
			return steps[i]
		}
	}
	t.Fatalf("no %q step in %+v", name, steps)
	return Step{}
}

func TestAuthenticate(t *testing.T) {
	key1, key2 := keys(t)
	sig := url.QueryEscape(mustSign(t, key1, "aToken"))
	plusToken, plusSig := signedWithPlus(t, key1)
	docs := func(n int, doc string) string {
		return `{"isAuthenticated":true,"principalId":"dev1","policyDocuments":[` + strings.TrimSuffix(strings.Repeat(doc+",", n), ",") + `]}`
	}
	slow := func(ctx context.Context, _ events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
		}
		return events.IoTCoreCustomAuthorizerResponse{}, ctx.Err()
	}

	tests := []struct {
		name        string
		handler     any    // nil means allow
		def         string // default authorizer
		timeout     time.Duration
		req         Request
		wantReason  string // "" means success
		wantErr     error  // matched with errors.Is when set
		wantInvoked bool
		wantStep    string // substring of the last step's message
		check       func(t *testing.T, res *Result, events [][]byte)
	}{
		{
			name:        "named in the username with SDK metrics",
			req:         mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken&x-amz-customauthorizer-signature=" + sig + "&SDK=PythonV2&Version=1.28.0"),
			wantInvoked: true,
			check: func(t *testing.T, res *Result, evs [][]byte) {
				if s := stepNamed(t, res.Steps, StepAuthorizer); s.Data["source"] != fromUsername {
					t.Errorf("authorizer step %+v", s)
				}
				if s := stepNamed(t, res.Steps, StepSignature); s.Data["keyName"] != "key1" {
					t.Errorf("signature step %+v", s)
				}
				if res.Authorizer.Name != "MyAuth" || res.PrincipalID != "dev1" || res.DisconnectAfter != 24*time.Hour || res.RefreshAfter != 0 {
					t.Errorf("result %+v", res)
				}
				want := `{"Version":"2012-10-17","Statement":[{"Action":["iot:Connect"],"Effect":"Allow","Resource":["*"]}]}`
				if len(res.PolicyDocuments) != 1 || res.PolicyDocuments[0] != want {
					t.Errorf("documents %q", res.PolicyDocuments)
				}
				var e events.IoTCoreCustomAuthorizerRequest
				if err := json.Unmarshal(evs[0], &e); err != nil || e.Token != "aToken" || !e.SignatureVerified || string(e.ProtocolData.MQTT.Password) != "secret" {
					t.Errorf("event %s: %v", evs[0], err)
				}
			},
		},
		{
			name:        "default authorizer",
			def:         "MyAuth",
			req:         mqtt("dev?token=aToken&x-amz-customauthorizer-signature=" + sig),
			wantInvoked: true,
			check: func(t *testing.T, res *Result, _ [][]byte) {
				if s := stepNamed(t, res.Steps, StepAuthorizer); s.Data["source"] != "default authorizer" || res.Authorizer.Name != "MyAuth" {
					t.Errorf("authorizer step %+v", s)
				}
			},
		},
		{
			name:       "unknown name, even with a default",
			def:        "MyAuth",
			req:        mqtt("dev?x-amz-customauthorizer-name=Nope&token=aToken&x-amz-customauthorizer-signature=" + sig),
			wantReason: ReasonAuthorizerNotFound, wantErr: ErrAuthorizerNotFound,
			wantStep: `authorizer "Nope" (from the MQTT username) does not exist`,
		},
		{
			name:       "default that does not exist",
			def:        "Gone",
			req:        mqtt("dev"),
			wantReason: ReasonAuthorizerNotFound, wantErr: ErrAuthorizerNotFound,
			wantStep: `"Gone" (from the default authorizer)`,
		},
		{
			name:       "no name and no default",
			req:        mqtt("dev?token=aToken"),
			wantReason: ReasonAuthorizerNotFound, wantErr: ErrNoAuthorizer,
			wantStep: `no x-amz-customauthorizer-name parameter (found MQTT username parameters ["token"]) and no default authorizer`,
		},
		{
			name:       "inactive",
			req:        mqtt("dev?x-amz-customauthorizer-name=Inactive&token=aToken&x-amz-customauthorizer-signature=" + sig),
			wantReason: ReasonAuthorizerNotFound, wantErr: ErrAuthorizerInactive,
			wantStep: "INACTIVE",
		},
		{
			name:       "signature missing",
			req:        mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken"),
			wantReason: ReasonParameterInvalid, wantErr: ErrSignatureMissing,
			wantStep: "no x-amz-customauthorizer-signature parameter",
		},
		{
			name:       "signed with another key",
			req:        mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken&x-amz-customauthorizer-signature=" + url.QueryEscape(mustSign(t, key2, "aToken"))),
			wantReason: ReasonSignatureMismatch, wantErr: ErrSignatureMismatch,
			// Said once, not "does not verify: signature does not verify: ...".
			wantStep: `the signature from the MQTT username does not verify: none of the keys ["key1"] verifies`,
		},
		{
			name:       "signature over another value",
			req:        mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken&x-amz-customauthorizer-signature=" + url.QueryEscape(mustSign(t, key1, "dev"))),
			wantReason: ReasonSignatureMismatch, wantErr: ErrSignatureMismatch,
			wantStep: "over another value than the token",
		},
		{
			name:       "signature not URL-encoded: '+' read as space",
			req:        mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=" + plusToken + "&x-amz-customauthorizer-signature=" + plusSig),
			wantReason: ReasonSignatureMismatch, wantErr: ErrSignatureEncoding,
			wantStep: "a '+' was probably read as a space because the signature was not URL-encoded",
		},
		{
			name:        "signature URL-encoded",
			req:         mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=" + plusToken + "&x-amz-customauthorizer-signature=" + url.QueryEscape(plusSig)),
			wantInvoked: true,
		},
		{
			name:       "token under the wrong key",
			req:        mqtt("dev?x-amz-customauthorizer-name=MyAuth&Token=aToken&x-amz-customauthorizer-signature=" + sig),
			wantReason: ReasonParameterInvalid, wantErr: ErrTokenMissing,
			wantStep: `no parameter "token" (the authorizer's tokenKeyName); found MQTT username parameters ["x-amz-customauthorizer-name" "Token" "x-amz-customauthorizer-signature"]`,
		},
		{
			name:       "malformed username",
			def:        "MyAuth",
			req:        mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken?SDK=PythonV2"),
			wantReason: ReasonParameterInvalid, wantErr: ErrMalformedUsername,
			wantStep: "no authorizer name can be read",
		},
		{
			name:        "isAuthenticated false",
			handler:     answer(`{"isAuthenticated":false,"principalId":"","policyDocuments":[]}`),
			req:         mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken&x-amz-customauthorizer-signature=" + sig),
			wantReason:  ReasonNotAuthenticated,
			wantErr:     ErrNotAuthenticated,
			wantInvoked: true,
			wantStep:    "isAuthenticated: false",
		},
		{
			name:        "principalId with a dash",
			handler:     answer(`{"isAuthenticated":true,"principalId":"dev-1"}`),
			req:         mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken&x-amz-customauthorizer-signature=" + sig),
			wantReason:  ReasonLambdaExecutionError,
			wantInvoked: true,
			wantStep:    `principalId: "dev-1" has '-'`,
		},
		{
			name:        "11 documents",
			handler:     answer(docs(11, allowPolicy)),
			req:         mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken&x-amz-customauthorizer-signature=" + sig),
			wantReason:  ReasonLambdaExecutionError,
			wantInvoked: true,
			wantStep:    "11 documents, at most 10",
		},
		{
			name:        "2049-character document",
			handler:     answer(docs(1, policyOfLength(t, 2049))),
			req:         mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken&x-amz-customauthorizer-signature=" + sig),
			wantReason:  ReasonLambdaExecutionError,
			wantInvoked: true,
			wantStep:    "policyDocuments[0]: 2049 characters, at most 2048",
		},
		{
			name:        "refresh below 300",
			handler:     answer(`{"isAuthenticated":true,"principalId":"dev1","refreshAfterInSeconds":299}`),
			req:         mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken&x-amz-customauthorizer-signature=" + sig),
			wantReason:  ReasonLambdaExecutionError,
			wantInvoked: true,
			wantStep:    "refreshAfterInSeconds: 299 is outside 300..86400",
		},
		{
			name:        "disconnect above 86400",
			handler:     answer(`{"isAuthenticated":true,"principalId":"dev1","disconnectAfterInSeconds":86401}`),
			req:         mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken&x-amz-customauthorizer-signature=" + sig),
			wantReason:  ReasonLambdaExecutionError,
			wantInvoked: true,
			wantStep:    "disconnectAfterInSeconds: 86401 is outside 300..86400",
		},
		{
			name:        "answer not an object",
			handler:     answer(`"OK"`),
			req:         mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken&x-amz-customauthorizer-signature=" + sig),
			wantReason:  ReasonLambdaExecutionError,
			wantInvoked: true,
			wantStep:    `a JSON object is required, got a string: "OK"`,
		},
		{
			name: "handler error",
			handler: func(context.Context, events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
				return events.IoTCoreCustomAuthorizerResponse{}, errors.New("cannot read token")
			},
			req:         mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken&x-amz-customauthorizer-signature=" + sig),
			wantReason:  ReasonLambdaExecutionError,
			wantInvoked: true,
			wantStep:    `errorMessage "cannot read token"`,
		},
		{
			name: "handler panic",
			handler: func(context.Context, events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
				panic("nil map")
			},
			req:         mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken&x-amz-customauthorizer-signature=" + sig),
			wantReason:  ReasonLambdaExecutionError,
			wantInvoked: true,
			wantStep:    "nil map",
		},
		{
			name:        "handler slower than the timeout",
			handler:     slow,
			timeout:     50 * time.Millisecond,
			req:         mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken&x-amz-customauthorizer-signature=" + sig),
			wantReason:  ReasonLambdaExecutionError,
			wantErr:     context.DeadlineExceeded,
			wantInvoked: true,
			wantStep:    "the function did not answer within 50ms (AWS allows an authorizer 5 s)",
		},
		{
			name:       "function cannot be invoked",
			req:        mqtt("dev?x-amz-customauthorizer-name=Orphan&token=aToken&x-amz-customauthorizer-signature=" + sig),
			wantReason: ReasonLambdaExecutionError,
			wantStep:   "cannot invoke " + arnOrphan + ": function not found",
		},
		{
			name:        "policies as a string and as an object",
			handler:     answer(`{"isAuthenticated":true,"principalId":"dev1","refreshAfterInSeconds":600,"disconnectAfterInSeconds":3600,"policyDocuments":[` + mustJSON(t, allowPolicy) + `,` + allowPolicy + `]}`),
			req:         mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken&x-amz-customauthorizer-signature=" + sig),
			wantInvoked: true,
			check: func(t *testing.T, res *Result, _ [][]byte) {
				if len(res.PolicyDocuments) != 2 || res.PolicyDocuments[0] != allowPolicy || res.PolicyDocuments[1] != allowPolicy {
					t.Errorf("documents %q", res.PolicyDocuments)
				}
				if res.RefreshAfter != 10*time.Minute || res.DisconnectAfter != time.Hour {
					t.Errorf("refresh %s, disconnect %s", res.RefreshAfter, res.DisconnectAfter)
				}
			},
		},
		{
			name:        "signing disabled, no token",
			req:         mqtt("dev?x-amz-customauthorizer-name=Open"),
			wantInvoked: true,
			check: func(t *testing.T, _ *Result, evs [][]byte) {
				var m map[string]any
				if err := json.Unmarshal(evs[0], &m); err != nil {
					t.Fatal(err)
				}
				if _, ok := m["token"]; ok || m["signatureVerified"] != false {
					t.Errorf("event %s", evs[0])
				}
			},
		},
		{
			name: "WSS: name in a header, token and signature in the query string",
			req: Request{
				Protocols: ProtocolsWSS, ServerName: sni, ConnectionID: "c1",
				Headers:     map[string]string{"Host": sni, "X-Amz-CustomAuthorizer-Name": "MyAuth"},
				QueryString: "token=aToken&X-Amz-CustomAuthorizer-Signature=" + sig,
				ClientID:    "dev1",
			},
			wantInvoked: true,
			check: func(t *testing.T, res *Result, evs [][]byte) {
				if s := stepNamed(t, res.Steps, StepAuthorizer); s.Data["source"] != fromHeader {
					t.Errorf("authorizer step %+v", s)
				}
				if s := stepNamed(t, res.Steps, StepToken); s.Data["source"] != fromQuery {
					t.Errorf("token step %+v", s)
				}
				var e events.IoTCoreCustomAuthorizerRequest
				if err := json.Unmarshal(evs[0], &e); err != nil || e.ProtocolData.HTTP.QueryString != "?token=aToken&X-Amz-CustomAuthorizer-Signature="+sig {
					t.Errorf("event %s: %v", evs[0], err)
				}
			},
		},
		{
			name: "HTTPS: everything in headers, signature not URL-encoded",
			req: Request{
				Protocols: ProtocolsHTTPS, ServerName: sni,
				Headers: map[string]string{
					"x-amz-customauthorizer-name": "MyAuth", "token": plusToken, "x-amz-customauthorizer-signature": plusSig,
				},
			},
			wantInvoked: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			handler := tt.handler
			if handler == nil {
				handler = allow
			}
			auth, rec := newFixture(t, handler, tt.def)
			auth.Timeout = tt.timeout
			res, err := auth.Authenticate(context.Background(), tt.req)
			if invoked := rec.count() > 0; invoked != tt.wantInvoked {
				t.Errorf("function invoked: %v, want %v", invoked, tt.wantInvoked)
			}
			var steps []Step
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("Authenticate() error = %v; steps %+v", err, stepsOf(err))
				}
				steps = res.Steps
			} else {
				var f *Failure
				if !errors.As(err, &f) {
					t.Fatalf("Authenticate() = %+v, %v; want a *Failure", res, err)
				}
				if f.Reason != tt.wantReason {
					t.Fatalf("reason %s, want %s (%v)", f.Reason, tt.wantReason, err)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v does not wrap %v", err, tt.wantErr)
				}
				steps = f.Steps
			}
			if len(steps) == 0 {
				t.Fatal("no steps")
			}
			if last := steps[len(steps)-1]; !strings.Contains(last.Message, tt.wantStep) {
				t.Fatalf("last step %q: %q, want it to contain %q", last.Name, last.Message, tt.wantStep)
			}
			if tt.check != nil {
				tt.check(t, res, rec.events)
			}
		})
	}
}

// stepsOf returns the steps of a *Failure.
func stepsOf(err error) []Step {
	var f *Failure
	if errors.As(err, &f) {
		return f.Steps
	}
	return nil
}

func TestAuthenticateStepsRecordTheExactExchange(t *testing.T) {
	key1, _ := keys(t)
	auth, rec := newFixture(t, answer(`{"isAuthenticated":true,"principalId":"dev1","extra":true}`), "")
	auth.ShowSecrets = true // the exact exchange, secrets included (local debugging)
	req := mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken&x-amz-customauthorizer-signature=" + url.QueryEscape(mustSign(t, key1, "aToken")))
	res, err := auth.Authenticate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range res.Steps {
		names = append(names, s.Name)
	}
	if got, want := strings.Join(names, ","), "authorizer,token,signature,event,invoke,response"; got != want {
		t.Fatalf("steps %s, want %s", got, want)
	}
	event, ok := stepNamed(t, res.Steps, StepEvent).Data["event"].(json.RawMessage)
	if !ok || string(event) != string(rec.events[0]) {
		t.Fatalf("event step holds %s, the function received %s", event, rec.events[0])
	}
	response, ok := stepNamed(t, res.Steps, StepInvoke).Data["response"].(json.RawMessage)
	if !ok || string(response) != `{"isAuthenticated":true,"principalId":"dev1","extra":true}` {
		t.Fatalf("invoke step holds %s", response)
	}
	// The whole trace can be encoded as JSON.
	if _, err := json.Marshal(res.Steps); err != nil {
		t.Fatal(err)
	}
}

// By default the trace holds no token, signature or password: a short hash of each secret,
// the signature's first and last characters. The function still receives them.
func TestAuthenticateTraceHidesSecrets(t *testing.T) {
	key1, _ := keys(t)
	sig := mustSign(t, key1, "aToken")
	for _, tc := range []struct {
		name string
		req  Request
	}{
		{"MQTT", mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken&x-amz-customauthorizer-signature=" + url.QueryEscape(sig))},
		{"HTTP headers", Request{Protocols: ProtocolsHTTPS, ServerName: sni,
			Headers: map[string]string{"x-amz-customauthorizer-name": "MyAuth", "token": "aToken", "x-amz-customauthorizer-signature": sig}}},
		{"HTTP query", Request{Protocols: ProtocolsWSS, ServerName: sni,
			QueryString: "x-amz-customauthorizer-name=MyAuth&token=aToken&x-amz-customauthorizer-signature=" + url.QueryEscape(sig)}},
		{"malformed username", mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken?x-amz-customauthorizer-signature=" + url.QueryEscape(sig))},
	} {
		auth, rec := newFixture(t, allow, "")
		res, err := auth.Authenticate(context.Background(), tc.req)
		steps := stepsOf(err)
		if err == nil {
			steps = res.Steps
		}
		b, _ := json.Marshal(steps)
		for _, secret := range []string{"aToken", sig, url.QueryEscape(sig), sig[8 : len(sig)-8], "c2VjcmV0"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s: the trace holds the secret %q:\n%s", tc.name, secret, b)
			}
		}
		if err == nil && !strings.Contains(string(rec.events[0]), `"token":"aToken"`) {
			t.Errorf("%s: the function did not receive the token: %s", tc.name, rec.events[0])
		}
	}
}

func TestAuthenticateConnectionID(t *testing.T) {
	auth, rec := newFixture(t, allow, "Open")
	ids := 0
	auth.NewConnectionID = func() string { ids++; return fmt.Sprintf("generated-%d", ids) }
	req := Request{Protocols: ProtocolsMQTT, ServerName: sni}
	for i := range 2 {
		res, err := auth.Authenticate(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("generated-%d", i+1); res.ConnectionID != want {
			t.Fatalf("Result.ConnectionID = %q, want %q", res.ConnectionID, want)
		}
	}
	req.ConnectionID = "fixed"
	for range 2 { // a refresh reuses the connection's ID
		if _, err := auth.Authenticate(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, raw := range rec.events {
		var e events.IoTCoreCustomAuthorizerRequest
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		got = append(got, e.ConnectionMetadata.ID)
	}
	if want := "generated-1,generated-2,fixed,fixed"; strings.Join(got, ",") != want {
		t.Fatalf("connection IDs %q, want %s", got, want)
	}

	// Without NewConnectionID, a UUID.
	auth.NewConnectionID = nil
	req.ConnectionID = ""
	if _, err := auth.Authenticate(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	var e events.IoTCoreCustomAuthorizerRequest
	if err := json.Unmarshal(rec.events[len(rec.events)-1], &e); err != nil || len(e.ConnectionMetadata.ID) != 36 {
		t.Fatalf("connection ID %q: %v", e.ConnectionMetadata.ID, err)
	}
}

func TestAuthenticateCallerGivesUp(t *testing.T) {
	auth, _ := newFixture(t, func(ctx context.Context, _ events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
		<-ctx.Done()
		return events.IoTCoreCustomAuthorizerResponse{}, ctx.Err()
	}, "Open")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := auth.Authenticate(ctx, Request{Protocols: ProtocolsMQTT})
	var f *Failure
	if !errors.As(err, &f) || f.Reason != ReasonInternalServerError || !errors.Is(err, context.Canceled) {
		t.Fatalf("Authenticate() = %v, want INTERNAL_SERVER_ERROR wrapping context.Canceled", err)
	}
}

func TestAuthenticateWithoutRegistry(t *testing.T) {
	_, err := (&Authenticator{}).Authenticate(context.Background(), Request{Protocols: ProtocolsMQTT})
	var f *Failure
	if !errors.As(err, &f) || f.Reason != ReasonInternalServerError {
		t.Fatalf("Authenticate() = %v, want INTERNAL_SERVER_ERROR", err)
	}
}

func TestFailureReasonsCoverEveryKind(t *testing.T) {
	valid := map[string]bool{
		ReasonAuthorizerNotFound: true, ReasonParameterInvalid: true, ReasonLambdaExecutionError: true,
		ReasonNotAuthenticated: true, ReasonSignatureMismatch: true, ReasonInternalServerError: true,
	}
	for kind := failAuthorizerNotFound; kind <= failInternal; kind++ {
		r := failureReasons[kind]
		if !valid[r.reason] || r.details == "" {
			t.Errorf("kind %d: reason %q details %q", kind, r.reason, r.details)
		}
	}
	if len(failureReasons) != int(failInternal)+1 {
		t.Errorf("%d reasons for %d kinds", len(failureReasons), failInternal+1)
	}
}

func TestFailureError(t *testing.T) {
	inner := errors.New("inner")
	f := &Failure{Reason: ReasonNotAuthenticated, Details: "Authentication failed", Err: inner}
	if f.Error() != "NOT_AUTHENTICATED: Authentication failed: inner" || !errors.Is(f, inner) {
		t.Fatalf("Error() = %q", f.Error())
	}
	if (&Failure{Reason: "R", Details: "D"}).Error() != "R: D" {
		t.Fatal("Error() without Err")
	}
}

// Any username, query string and header reach a verdict without panicking.
func FuzzAuthenticate(f *testing.F) {
	f.Add("dev?x-amz-customauthorizer-name=MyAuth&token=t&x-amz-customauthorizer-signature=YWJj", "", "")
	f.Add("?x-amz-customauthorizer-name=Open", "token=t", "Open")
	f.Add("a?b?c", "x-amz-customauthorizer-name=Inactive", "")
	f.Add("", "X-Amz-CustomAuthorizer-Name=MyAuth&token=%zz&x-amz-customauthorizer-signature=a+b", "MyAuth")
	f.Fuzz(func(t *testing.T, username, query, header string) {
		auth, _ := newFixture(t, allow, "Open")
		req := Request{
			Protocols: ProtocolsWSS, HasUsername: true, Username: username, QueryString: query,
			Headers: map[string]string{"X-Amz-CustomAuthorizer-Name": header, "token": header},
		}
		res, err := auth.Authenticate(context.Background(), req)
		var fail *Failure
		switch {
		case err == nil && res != nil && len(res.Steps) > 0:
		case errors.As(err, &fail) && res == nil && len(fail.Steps) > 0 && fail.Reason != "":
		default:
			t.Fatalf("Authenticate() = %+v, %v", res, err)
		}
	})
}

// TestAuthenticateDirect: the credentials of Request.Direct (TestInvokeAuthorizer's name,
// token and signature) are used before the MQTT username's, and do not appear in the event's
// protocol data.
func TestAuthenticateDirect(t *testing.T) {
	auth, rec := newFixture(t, allow, "")
	key1, _ := keys(t)
	req := mqtt("u?x-amz-customauthorizer-name=Open&token=from-username")
	req.Direct = []Param{
		{Key: ParamAuthorizerName, Value: "MyAuth"},
		{Key: "token", Value: "direct-token"},
		{Key: ParamSignature, Value: mustSign(t, key1, "direct-token")},
	}
	res, err := auth.Authenticate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Authorizer.Name != "MyAuth" {
		t.Errorf("authorizer %q, want MyAuth (from Direct)", res.Authorizer.Name)
	}
	var e events.IoTCoreCustomAuthorizerRequest
	if err := json.Unmarshal(rec.events[0], &e); err != nil {
		t.Fatal(err)
	}
	if e.Token != "direct-token" || !e.SignatureVerified || e.ProtocolData.MQTT.Username != req.Username {
		t.Errorf("event %s: want the direct token, verified, and the username as sent", rec.events[0])
	}
	if step := stepNamed(t, res.Steps, StepToken); !strings.Contains(step.Message, "test request") {
		t.Errorf("token step %q does not name the test request", step.Message)
	}
}
