package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// connKey is the request-context key under which the HTTP server keeps a request's *Conn.
type connKey struct{}

// withConn is the HTTP server's ConnContext: it keeps the gateway's *Conn in the context of
// every request of that connection.
func withConn(ctx context.Context, c net.Conn) context.Context {
	if gc, ok := c.(*Conn); ok {
		return context.WithValue(ctx, connKey{}, gc)
	}
	return ctx
}

// ConnFromContext returns the connection an HTTP request arrived on: the same *Conn for every
// request of a keep-alive connection. It returns nil outside the gateway's HTTP server.
func ConnFromContext(ctx context.Context) *Conn {
	c, _ := ctx.Value(connKey{}).(*Conn)
	return c
}

// NewHTTPInfo returns what r tells about the client: its Host, its headers (names in lower
// case, first value of each, Host included) and its raw query string.
func NewHTTPInfo(r *http.Request) *HTTPInfo {
	headers := make(map[string]string, len(r.Header)+1)
	for name, values := range r.Header {
		if len(values) > 0 {
			headers[strings.ToLower(name)] = values[0]
		}
	}
	// AWS (inferred): the authorizer sees the Host header among the others; Go keeps it apart.
	headers["host"] = r.Host
	return &HTTPInfo{Host: r.Host, Headers: headers, QueryString: r.URL.RawQuery}
}

// WriteResponse answers an HTTP request with AWS IoT's JSON body
// {"message": MESSAGE, "traceId": TRACEID}.
// AWS: the HTTPS publish answers {"message":"OK","traceId":"..."} and
// {"message":"Forbidden","traceId":"..."}.
func WriteResponse(w http.ResponseWriter, status int, message, traceID string) {
	body, _ := json.Marshal(struct {
		Message string `json:"message"`
		TraceID string `json:"traceId"`
	}{message, traceID}) // two strings: cannot fail
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// WebSocketPath is where MQTT over WebSockets is served. AWS: wss://ENDPOINT/mqtt.
const WebSocketPath = "/mqtt"

// serveHTTP applies AWS's rules to every HTTP request on the 443 role: the Host header must
// name a data endpoint, as SNI must; SigV4-signed requests are refused as not emulated; a
// request for /mqtt is a WebSocket upgrade to MQTT; anything else goes to Config.HTTP.
func (g *Gateway) serveHTTP(w http.ResponseWriter, r *http.Request) {
	var info ConnInfo
	if c := ConnFromContext(r.Context()); c != nil {
		info = c.Info
	}
	info.HTTP = NewHTTPInfo(r)
	if host := hostWithoutPort(r.Host); !g.IsEndpoint(host) {
		// AWS: a Host that is not one of the account's endpoints is refused before any
		// authorizer runs, like a wrong SNI.
		g.refuseHTTP(w, Refusal{Info: info, Code: RefuseWrongHost, Message: fmt.Sprintf(
			"HTTP Host %q is not this account's data endpoint (%s); the request was refused before any authorizer ran",
			r.Host, strings.Join(g.cfg.Endpoints, " or "))})
		return
	}
	if how := sigV4(r); how != "" {
		g.refuseHTTP(w, Refusal{Info: info, Code: RefuseSigV4, Message: fmt.Sprintf(
			"the request is signed with AWS Signature Version 4 (%s): SigV4 is not emulated; iotemu emulates custom authentication only, so send the x-amz-customauthorizer-* credentials in headers, the query string or the MQTT username",
			how)})
		return
	}
	if r.URL.Path == WebSocketPath && len(info.Certificates) == 0 {
		// AWS: MQTT over WebSockets is on port 443 without a client certificate; with one
		// (8443, x-amzn-http-ca) the path is not an upgrade.
		g.serveWebSocket(w, r, info)
		return
	}
	g.cfg.HTTP.ServeHTTP(w, r)
}

// refuseHTTP reports a refused HTTP request and answers it.
// AWS (inferred): the refusal is 403 with the documented Forbidden body; for a WebSocket
// client the upgrade fails with that status.
func (g *Gateway) refuseHTTP(w http.ResponseWriter, r Refusal) {
	r.TraceID = uuid.NewString()
	g.cfg.Refused(r)
	WriteResponse(w, http.StatusForbidden, "Forbidden", r.TraceID)
}

// hostWithoutPort returns the host part of a Host header.
func hostWithoutPort(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// sigV4 says what marks r as signed with AWS Signature Version 4 (a presigned URL's query
// parameters, or an Authorization header), or returns "" when nothing does.
func sigV4(r *http.Request) string {
	for name, values := range r.URL.Query() {
		switch {
		case strings.EqualFold(name, "X-Amz-Signature"):
			return "X-Amz-Signature in the query string"
		case strings.EqualFold(name, "X-Amz-Algorithm") && len(values) > 0 && values[0] == sigV4Algorithm:
			return "X-Amz-Algorithm=" + sigV4Algorithm + " in the query string"
		}
	}
	if strings.HasPrefix(r.Header.Get("Authorization"), sigV4Algorithm) {
		return "an Authorization header " + sigV4Algorithm
	}
	return ""
}

// sigV4Algorithm names AWS Signature Version 4 in presigned URLs and Authorization headers.
const sigV4Algorithm = "AWS4-HMAC-SHA256"
