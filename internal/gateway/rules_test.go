package gateway

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestTLSRules: AWS's SNI, ALPN and port rules, decided before any application byte. Each
// row is one real TLS client; the outcome is "mqtt" when the connection reached the MQTT
// side, otherwise the refusal's code.
func TestTLSRules(t *testing.T) {
	tg := startGateway(t, nil)
	for _, tc := range []struct {
		name string
		role Role
		sni  string
		alpn []string
		want string
	}{
		{"443 with SNI and ALPN mqtt", Role443, endpoint, []string{ALPNMQTT}, "mqtt"},
		{"SNI is compared without case", Role443, strings.ToUpper(endpoint), []string{ALPNMQTT}, "mqtt"},
		{"no SNI", Role443, "", []string{ALPNMQTT}, RefuseNoSNI},
		{"another account's endpoint as SNI", Role443, "other-ats.iot.us-east-1.amazonaws.com", []string{ALPNMQTT}, RefuseWrongSNI},
		{"x-amzn-mqtt-ca without a certificate", Role443, endpoint, []string{ALPNMQTTX509}, RefuseCertMissing},
		{"x-amzn-http-ca without a certificate", Role443, endpoint, []string{ALPNHTTPX509}, RefuseCertMissing},
		{"8883 without a certificate", Role8883, endpoint, nil, RefuseCertMissing},
		{"8443 without a certificate", Role8443, endpoint, []string{ALPNHTTP11}, RefuseCertMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tg.dialTLS(t, tc.role, tc.sni, tc.alpn...)
			got := ""
			if err == nil {
				// The rules run after the handshake: the first read tells the outcome.
				if echoes(c, 'x') {
					got = "mqtt"
					<-tg.mqtt
				}
			}
			if got == "" {
				r := tg.refusal(t)
				got = r.Code
				if r.Message == "" || r.Info.Role != tc.role || r.Info.ServerName != tc.sni {
					t.Errorf("refusal %+v does not say what the client sent", r)
				}
			}
			if got != tc.want {
				t.Fatalf("role %s SNI %q ALPN %v: %s, want %s", tc.role, tc.sni, tc.alpn, got, tc.want)
			}
		})
	}
}

// TestHTTPRules: on the 443 role without ALPN mqtt the connection is HTTP; the Host header
// must name the endpoint, SigV4 is refused as not emulated, and an MQTT CONNECT sent there is
// refused with the reason said.
func TestHTTPRules(t *testing.T) {
	tg := startGateway(t, nil)
	for _, tc := range []struct {
		name    string
		alpn    []string
		request string
		want    string // an HTTP status, or a refusal code for a connection closed without one
	}{
		{"GET with the endpoint as Host", nil, "GET /x HTTP/1.1\r\nHost: " + endpoint + "\r\n\r\n", "200"},
		{"Host with the port", []string{ALPNHTTP11}, "GET /x HTTP/1.1\r\nHost: " + endpoint + ":443\r\n\r\n", "200"},
		{"another Host", nil, "GET /x HTTP/1.1\r\nHost: evil.example.com\r\n\r\n", "403 " + RefuseWrongHost},
		{"SigV4 Authorization header", nil, "POST /topics/t HTTP/1.1\r\nHost: " + endpoint + "\r\nAuthorization: AWS4-HMAC-SHA256 Credential=x\r\nContent-Length: 0\r\n\r\n", "403 " + RefuseSigV4},
		{"presigned URL", nil, "GET /mqtt?X-Amz-Signature=abc HTTP/1.1\r\nHost: " + endpoint + "\r\n\r\n", "403 " + RefuseSigV4},
		{"WebSocket path without an upgrade", nil, "GET /mqtt HTTP/1.1\r\nHost: " + endpoint + "\r\n\r\n", "400"},
		{"MQTT CONNECT without ALPN", nil, "\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00", RefuseMQTTNoALPN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tg.dialTLS(t, Role443, endpoint, tc.alpn...)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write([]byte(tc.request)); err != nil {
				t.Fatal(err)
			}
			got := ""
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
				resp.Body.Close()
				got = fmt.Sprint(resp.StatusCode)
				if resp.StatusCode == http.StatusForbidden {
					got += " " + tg.refusal(t).Code
				}
			} else {
				got = tg.refusal(t).Code
			}
			if got != tc.want {
				t.Fatalf("%q: %s, want %s", tc.request, got, tc.want)
			}
		})
	}
	select {
	case r := <-tg.refusals:
		t.Fatalf("an extra refusal: %+v", r)
	default:
	}
}
