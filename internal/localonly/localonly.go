// Package localonly keeps web pages away from the emulator's local HTTP endpoints (the admin
// endpoint, the control plane, and anything served beside them): a page open in the user's
// browser must not be able to move the emulator's clock or change its authorizers.
//
// Two attacks are refused. DNS rebinding, where a page's own host name is made to resolve to
// 127.0.0.1 so that the browser treats the emulator as the page's origin, is stopped by the
// Host check: only loopback names, IP addresses and configured host names are served. A
// cross-origin request (a form post, a fetch from another origin) is stopped by the browser's
// own Sec-Fetch-Site and Origin headers, and a state-changing request with a content type a
// page can send without the browser asking first (text/plain, multipart/form-data) is
// refused whatever its headers say. Clients that are not browsers (curl, the aws CLI, the AWS
// SDKs) send a Host naming the URL they were given and no Origin, and pass.
package localonly

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Guard checks requests before they reach a local endpoint. The zero Guard serves loopback
// names and IP addresses only.
type Guard struct {
	// Hosts are further host names (without port, compared without case) that requests may
	// name in their Host header: a container's name on a Docker network, a remote Docker
	// host's name.
	Hosts []string
	// Refused, when set, is told about every refused request and why.
	Refused func(r *http.Request, reason string)

	cop http.CrossOriginProtection
}

// Handler returns next behind the guard: a refused request is answered 403 with a JSON
// {"message": ...} that says why, and never reaches next.
func (g *Guard) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reason := g.Check(r); reason != "" {
			if g.Refused != nil {
				g.Refused(r, reason)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": reason})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Check returns why r is refused, or "" when it may be served.
func (g *Guard) Check(r *http.Request) string {
	if !g.allowedHost(r.Host) {
		return fmt.Sprintf("Host %q is not a loopback name, an IP address or one of the configured host names (listen.allowedHosts); refused as a possible DNS rebinding attack", r.Host)
	}
	if err := g.cop.Check(r); err != nil {
		return "cross-origin request from a web page refused (Sec-Fetch-Site or Origin names another origin)"
	}
	if simpleContentType(r) {
		return fmt.Sprintf("%s with Content-Type %q refused: a web page can send it without the browser asking first; send application/json or no body", r.Method, r.Header.Get("Content-Type"))
	}
	return ""
}

// allowedHost reports whether a Host header names this machine's loopback, an IP address or
// a configured name. An IP address is safe: a page whose URL names it is served by that
// address itself, and its cross-origin requests carry an Origin.
func (g *Guard) allowedHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	host = strings.TrimSuffix(host, ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	for _, h := range g.Hosts {
		if strings.EqualFold(host, h) {
			return true
		}
	}
	return false
}

// simpleContentType reports whether r changes state with a body type that browsers send
// cross-origin without a CORS preflight. application/x-www-form-urlencoded, the third such
// type, is left to the Origin check: AWS's query protocol uses it.
func simpleContentType(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	// The essence, as the Fetch standard reads it: parameters, even malformed ones, do not
	// change what the browser sends without asking.
	essence, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	essence = strings.ToLower(strings.TrimSpace(essence))
	return essence == "text/plain" || essence == "multipart/form-data"
}
