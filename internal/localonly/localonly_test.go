package localonly

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestGuard: what a web page can make a browser send is refused; what curl, the aws CLI and
// the AWS SDKs send passes.
func TestGuard(t *testing.T) {
	var refused []string
	g := &Guard{Hosts: []string{"iotemu"}, Refused: func(_ *http.Request, reason string) { refused = append(refused, reason) }}
	var served int
	srv := httptest.NewServer(g.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served++
		_, _ = io.WriteString(w, "ok")
	})))
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().String()[strings.LastIndex(srv.Listener.Addr().String(), ":"):]

	for _, tc := range []struct {
		name    string
		method  string
		host    string
		headers map[string]string
		want    int
	}{
		// Non-browser clients: a Host naming the endpoint URL, no Origin.
		{"curl on 127.0.0.1", "POST", "127.0.0.1" + port, nil, 200},
		{"aws CLI on localhost", "POST", "localhost" + port, map[string]string{"Content-Type": "application/json"}, 200},
		{"IPv6 loopback", "GET", "[::1]" + port, nil, 200},
		{"a container's IP address", "GET", "172.18.0.2" + port, nil, 200},
		{"a configured name", "DELETE", "IOTEMU" + port, nil, 200},
		{"localhost with a trailing dot", "GET", "localhost." + port, nil, 200},
		{"a form-urlencoded post without Origin (AWS query protocol)", "POST", "127.0.0.1" + port, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 200},
		{"same-origin page (a console on this address)", "POST", "127.0.0.1" + port, map[string]string{"Origin": "http://127.0.0.1" + port, "Sec-Fetch-Site": "same-origin", "Content-Type": "application/json"}, 200},
		{"address bar navigation", "GET", "localhost" + port, map[string]string{"Sec-Fetch-Site": "none"}, 200},

		// DNS rebinding: the page's own name resolves to 127.0.0.1.
		{"rebound name", "GET", "evil.example.com" + port, nil, 403},
		{"rebound name posting text/plain", "POST", "evil.example.com", map[string]string{"Content-Type": "text/plain"}, 403},
		{"a name ending in localhost", "GET", "evil-localhost" + port, nil, 403},
		// Cross-origin requests from a page elsewhere.
		{"cross-site fetch", "POST", "127.0.0.1" + port, map[string]string{"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"}, 403},
		{"same-site fetch from another port", "POST", "127.0.0.1" + port, map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"Origin of another site", "PUT", "localhost" + port, map[string]string{"Origin": "https://evil.example.com"}, 403},
		{"opaque Origin", "POST", "localhost" + port, map[string]string{"Origin": "null"}, 403},
		{"text/plain without Origin", "POST", "127.0.0.1" + port, map[string]string{"Content-Type": "text/plain;charset=UTF-8"}, 403},
		{"multipart form", "PATCH", "127.0.0.1" + port, map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, 403},
		// Safe methods may be cross-origin: the browser does not let the page read the answer.
		{"cross-site GET", "GET", "127.0.0.1" + port, map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+"/x", strings.NewReader(""))
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tc.host
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			before, refusedBefore := served, len(refused)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("%s Host %s %v: %d %s, want %d", tc.method, tc.host, tc.headers, resp.StatusCode, body, tc.want)
			}
			if reached := served > before; reached != (tc.want == 200) {
				t.Fatalf("the handler was reached: %v", reached)
			}
			if tc.want == 403 && (len(refused) != refusedBefore+1 || !strings.Contains(string(body), `"message"`)) {
				t.Fatalf("refusal not reported or not explained: %s", body)
			}
		})
	}
}
