package customauth

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// jsonPaths lists every key path of a JSON document (arrays are leaves), sorted.
func jsonPaths(t *testing.T, raw []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var paths []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, child := range m {
			p := prefix + k
			paths = append(paths, p)
			walk(p+".", child)
		}
	}
	walk("", v)
	sort.Strings(paths)
	return paths
}

func TestBuildEventDirectMQTT(t *testing.T) {
	req := Request{
		ConnectionID: "3b6c0c5e-6a37-4c4f-9d0d-4f9b3f1e2a10",
		Protocols:    ProtocolsMQTT,
		ServerName:   "abc123-ats.iot.us-east-1.amazonaws.com",
		HasUsername:  true,
		Username:     "dev?x-amz-customauthorizer-name=MyAuth&token=aToken&SDK=PythonV2&Version=1.28.0",
		HasPassword:  true,
		Password:     []byte("secret"),
		ClientID:     "dev1",
	}
	got, err := BuildEvent(req, &Authorizer{Name: "MyAuth"}, "aToken", true)
	if err != nil {
		t.Fatal(err)
	}
	// The documented shape, in aws-lambda-go's field order, without HTML escaping.
	want := `{"token":"aToken","signatureVerified":true,"protocols":["tls","mqtt"],` +
		`"protocolData":{"tls":{"serverName":"abc123-ats.iot.us-east-1.amazonaws.com"},` +
		`"mqtt":{"clientId":"dev1","password":"c2VjcmV0",` +
		`"username":"dev?x-amz-customauthorizer-name=MyAuth&token=aToken&SDK=PythonV2&Version=1.28.0"}},` +
		`"connectionMetadata":{"id":"3b6c0c5e-6a37-4c4f-9d0d-4f9b3f1e2a10"}}`
	if string(got) != want {
		t.Fatalf("event:\n got %s\nwant %s", got, want)
	}
	wantKeys := []string{
		"connectionMetadata", "connectionMetadata.id",
		"protocolData", "protocolData.mqtt", "protocolData.mqtt.clientId", "protocolData.mqtt.password",
		"protocolData.mqtt.username", "protocolData.tls", "protocolData.tls.serverName",
		"protocols", "signatureVerified", "token",
	}
	if keys := jsonPaths(t, got); !slices.Equal(keys, wantKeys) {
		t.Fatalf("keys %q, want %q", keys, wantKeys)
	}

	var e events.IoTCoreCustomAuthorizerRequest
	dec := json.NewDecoder(bytes.NewReader(got))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("event does not decode into events.IoTCoreCustomAuthorizerRequest: %v", err)
	}
	wantEvent := events.IoTCoreCustomAuthorizerRequest{
		Token:             "aToken",
		SignatureVerified: true,
		Protocols:         []string{"tls", "mqtt"},
		ProtocolData: &events.IoTCoreProtocolData{
			TLS: &events.IoTCoreTLSContext{ServerName: "abc123-ats.iot.us-east-1.amazonaws.com"},
			MQTT: &events.IoTCoreMQTTContext{
				ClientID: "dev1",
				Password: []byte("secret"),
				Username: req.Username,
			},
		},
		ConnectionMetadata: &events.IoTCoreConnectionMetadata{ID: req.ConnectionID},
	}
	if !reflect.DeepEqual(e, wantEvent) {
		t.Fatalf("decoded event %+v, want %+v", e, wantEvent)
	}
}

func TestBuildEventShapes(t *testing.T) {
	tests := []struct {
		name     string
		req      Request
		auth     Authorizer
		token    string
		verified bool
		want     string
	}{
		{
			name: "MQTT with nothing sent, no SNI, no connection ID",
			req:  Request{Protocols: ProtocolsMQTT},
			want: `{"signatureVerified":false,"protocols":["tls","mqtt"],"protocolData":{"mqtt":{}}}`,
		},
		{
			name: "MQTT with empty username and password",
			req:  Request{Protocols: ProtocolsMQTT, HasUsername: true, HasPassword: true, ConnectionID: "id"},
			want: `{"signatureVerified":false,"protocols":["tls","mqtt"],"protocolData":{"mqtt":{"password":"","username":""}},"connectionMetadata":{"id":"id"}}`,
		},
		{
			name:     "signing disabled forces signatureVerified false",
			req:      Request{Protocols: ProtocolsMQTT, ClientID: "c"},
			auth:     Authorizer{SigningDisabled: true},
			token:    "t",
			verified: true,
			want:     `{"token":"t","signatureVerified":false,"protocols":["tls","mqtt"],"protocolData":{"mqtt":{"clientId":"c"}}}`,
		},
		{
			name: "WSS",
			req: Request{
				Protocols: ProtocolsWSS, ServerName: "h", ConnectionID: "id",
				Headers:     map[string]string{"X-Amz-CustomAuthorizer-Name": "A", "Host": "h"},
				QueryString: "token=t&x=1",
				HasUsername: true, Username: "u", ClientID: "c",
			},
			token: "t", verified: true,
			want: `{"token":"t","signatureVerified":true,"protocols":["tls","http","mqtt"],"protocolData":{"tls":{"serverName":"h"},` +
				`"http":{"headers":{"Host":"h","X-Amz-CustomAuthorizer-Name":"A"},"queryString":"?token=t&x=1"},` +
				`"mqtt":{"clientId":"c","username":"u"}},"connectionMetadata":{"id":"id"}}`,
		},
		{
			name: "HTTPS without query, username ignored",
			req: Request{
				Protocols: ProtocolsHTTPS, ServerName: "h", HasUsername: true, Username: "ignored",
				Headers: map[string]string{"token": "t"},
			},
			want: `{"signatureVerified":false,"protocols":["tls","http"],"protocolData":{"tls":{"serverName":"h"},"http":{"headers":{"token":"t"}}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BuildEvent(tt.req, &tt.auth, tt.token, tt.verified)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("event:\n got %s\nwant %s", got, tt.want)
			}
			var e events.IoTCoreCustomAuthorizerRequest
			if err := json.Unmarshal(got, &e); err != nil {
				t.Fatalf("does not decode into events.IoTCoreCustomAuthorizerRequest: %v", err)
			}
		})
	}
}

func TestBuildEventErrors(t *testing.T) {
	if _, err := BuildEvent(Request{Protocols: ProtocolsMQTT}, nil, "", false); err == nil {
		t.Error("nil authorizer: no error")
	}
}

// TestBuildEventNoContext: a request with no protocol data (TestInvokeAuthorizer with only a
// token) gives an event without protocolData, which AWS's tutorial function relies on.
func TestBuildEventNoContext(t *testing.T) {
	b, err := BuildEvent(Request{ConnectionID: "id"}, &Authorizer{}, "tok", true)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"token":"tok","signatureVerified":true,"protocols":[],"connectionMetadata":{"id":"id"}}`; string(b) != want {
		t.Errorf("event %s; want %s", b, want)
	}
}

// encodingJSON is what event.encode must write: encoding/json with HTML escaping off.
func encodingJSON(t *testing.T, e *event) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// tricky are strings every JSON escape applies to.
var tricky = []string{"", "plain", `q"uote\back`, "<&>", "ctl\x00\x01\x08\x0c\n\r\t\x1f\x7f", "é€😀", "bad\xff\xfe utf8\xe2\x82", "\u2028\u2029", "a=b&c=d?e"}

func TestEventEncodeIsEncodingJSON(t *testing.T) {
	a := &Authorizer{Name: "A", FunctionARN: arnAuth}
	for i, s := range tricky {
		for _, req := range []Request{
			{ConnectionID: s, Protocols: ProtocolsMQTT, ServerName: s, HasUsername: true, Username: s, HasPassword: i%2 == 0, Password: []byte(s), ClientID: s},
			{Protocols: ProtocolsWSS, ServerName: s, Headers: map[string]string{s: s, "b" + s: "", "a": s}, QueryString: s, HasUsername: i%2 == 1, Username: s},
			{Protocols: ProtocolsHTTPS, Headers: map[string]string{}, QueryString: s},
			{Protocols: nil},
		} {
			e, err := newEvent(req, a, s, i%3 == 0)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(e.encode()), encodingJSON(t, e); got != want {
				t.Errorf("encode() =\n%s\nencoding/json:\n%s", got, want)
			}
		}
	}
	if got, want := string((&event{}).encode()), encodingJSON(t, &event{}); got != want {
		t.Errorf("encode() of the zero event = %s, encoding/json %s", got, want)
	}
}

func FuzzEventEncode(f *testing.F) {
	for _, s := range tricky {
		f.Add(s, s, s)
	}
	a := &Authorizer{Name: "A", FunctionARN: arnAuth}
	f.Fuzz(func(t *testing.T, token, username, header string) {
		req := Request{ConnectionID: token, Protocols: ProtocolsWSS, ServerName: username, HasUsername: true, Username: username,
			HasPassword: true, Password: []byte(header), ClientID: header, Headers: map[string]string{header: token, username: header}, QueryString: token}
		e, err := newEvent(req, a, token, true)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(e.encode()), encodingJSON(t, e); got != want {
			t.Errorf("encode() =\n%s\nencoding/json:\n%s", got, want)
		}
	})
}
