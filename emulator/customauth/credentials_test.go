package customauth

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestParseUsername(t *testing.T) {
	tests := []struct {
		name     string
		username string
		want     Credentials
		wantErr  error
	}{
		{"empty", "", Credentials{}, nil},
		{"no query", "device1", Credentials{User: "device1"}, nil},
		{"empty user part", "?x-amz-customauthorizer-name=MyAuth", Credentials{Params: []Param{{ParamAuthorizerName, "MyAuth"}}}, nil},
		{"question mark only", "dev?", Credentials{User: "dev"}, nil},
		{
			"name signature token in any order",
			"dev?token=abc&x-amz-customauthorizer-signature=a%2Bb%2F%3D&x-amz-customauthorizer-name=MyAuth",
			Credentials{User: "dev", Params: []Param{
				{"token", "abc"}, {ParamSignature, "a+b/="}, {ParamAuthorizerName, "MyAuth"},
			}},
			nil,
		},
		{
			"unencoded plus becomes space",
			"dev?x-amz-customauthorizer-signature=a+b",
			Credentials{User: "dev", Params: []Param{{ParamSignature, "a b"}}},
			nil,
		},
		{
			"python SDK metrics",
			"dev?x-amz-customauthorizer-name=MyAuth&SDK=PythonV2&Version=1.28.0",
			Credentials{User: "dev", Params: []Param{{ParamAuthorizerName, "MyAuth"}, {"SDK", "PythonV2"}, {"Version", "1.28.0"}}},
			nil,
		},
		{
			"C SDK metrics with semicolons",
			"?x-amz-customauthorizer-name=A&SDK=IoTDeviceSDK/C&Platform=Linux&Metadata=(k=v;k2=v2)",
			Credentials{Params: []Param{{ParamAuthorizerName, "A"}, {"SDK", "IoTDeviceSDK/C"}, {"Platform", "Linux"}, {"Metadata", "(k=v;k2=v2)"}}},
			nil,
		},
		{
			"empty pieces and key without value",
			"u?&&flag&k=&=v",
			Credentials{User: "u", Params: []Param{{"flag", ""}, {"k", ""}, {"", "v"}}},
			nil,
		},
		{
			"bad escape kept as sent",
			"u?token=%zz&b=%41",
			Credentials{User: "u", Params: []Param{{"token", "%zz"}, {"b", "A"}}},
			nil,
		},
		{
			"second question mark",
			"dev?x-amz-customauthorizer-name=MyAuth?SDK=PythonV2",
			Credentials{User: "dev"},
			ErrMalformedUsername,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseUsername(tt.username)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("ParseUsername(%q) error = %v, want %v", tt.username, err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseUsername(%q) = %#v, want %#v", tt.username, got, tt.want)
			}
		})
	}
}

func TestCredentialsGet(t *testing.T) {
	c, err := ParseUsername("u?X-Amz-CustomAuthorizer-Name=A&x-amz-customauthorizer-signature=S&token=first&token=second&Token=other")
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got string, ok bool, want string, wantOK bool) {
		t.Helper()
		if got != want || ok != wantOK {
			t.Errorf("%s = %q, %v; want %q, %v", what, got, ok, want, wantOK)
		}
	}
	v, ok := c.Get("token")
	check(`Get("token")`, v, ok, "first", true)
	v, ok = c.Get("TOKEN")
	check(`Get("TOKEN")`, v, ok, "", false)
	v, ok = c.GetFold("TOKEN")
	check(`GetFold("TOKEN")`, v, ok, "first", true)
	v, ok = c.AuthorizerName()
	check("AuthorizerName()", v, ok, "A", true)
	v, ok = c.Signature()
	check("Signature()", v, ok, "S", true)
}

func TestSourcesFind(t *testing.T) {
	user := Credentials{Params: []Param{{"token", "from-user"}, {"empty", ""}}}
	s := sources{
		username: &user,
		http:     true,
		headers:  map[string]string{"X-Amz-CustomAuthorizer-Name": "H", "Token": "from-header", "empty": "hv"},
		query:    []Param{{"token", "from-query"}, {"only", "q"}, {"x-amz-customauthorizer-signature", "qs"}},
	}
	tests := []struct {
		name      string
		fold      bool
		wantValue string
		wantFrom  string
	}{
		{"token", false, "from-user", fromUsername},
		{ParamAuthorizerName, true, "H", fromHeader},
		{"empty", false, "hv", fromHeader}, // an empty value counts as absent
		{"only", false, "q", fromQuery},
		{"ONLY", false, "", ""},
		{ParamSignature, true, "qs", fromQuery},
	}
	for _, tt := range tests {
		v, from, ok := s.find(tt.name, tt.fold)
		if v != tt.wantValue || from != tt.wantFrom || ok != (tt.wantFrom != "") {
			t.Errorf("find(%q) = %q, %q, %v; want %q, %q", tt.name, v, from, ok, tt.wantValue, tt.wantFrom)
		}
	}
	// Without HTTP, headers and query are not looked at.
	s.http = false
	if _, _, ok := s.find("only", false); ok {
		t.Error("find looked at the query string of a non-HTTP request")
	}
}

func FuzzParseUsername(f *testing.F) {
	f.Add("")
	f.Add("dev?x-amz-customauthorizer-name=MyAuth&token=t&x-amz-customauthorizer-signature=YWJj%3D")
	f.Add("?x-amz-customauthorizer-name=A&SDK=IoTDeviceSDK/C&Platform=Linux&Metadata=(k=v;k2=v2)")
	f.Add("a?b?c")
	f.Add("u?%zz=%&&=")
	f.Fuzz(func(t *testing.T, username string) {
		c, err := ParseUsername(username)
		user, query, found := strings.Cut(username, "?")
		if c.User != user {
			t.Fatalf("User = %q, want %q", c.User, user)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformedUsername) || !strings.Contains(query, "?") || c.Params != nil {
				t.Fatalf("unexpected error %v with params %v", err, c.Params)
			}
			return
		}
		if !found && c.Params != nil {
			t.Fatalf("params %v without '?'", c.Params)
		}
		// Every parameter is found by its key, and re-encoding round-trips.
		for _, p := range c.Params {
			if _, ok := c.Get(p.Key); !ok {
				t.Fatalf("Get(%q) not found", p.Key)
			}
			enc := "u?" + url.QueryEscape(p.Key) + "=" + url.QueryEscape(p.Value)
			again, err := ParseUsername(enc)
			if err != nil || len(again.Params) > 1 {
				t.Fatalf("ParseUsername(%q) = %v, %v", enc, again, err)
			}
			if p.Key != "" || p.Value != "" {
				if len(again.Params) != 1 || again.Params[0] != p {
					t.Fatalf("round trip of %v gave %v", p, again.Params)
				}
			}
		}
	})
}
