package emulator_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/clock"

	"github.com/iotemu/iotemu/internal/testtool"
)

// curl runs curl with args, trusting the emulator's CA, and returns the HTTP status and body of
// its one transfer.
func curl(t testing.TB, emu *emulator.Emulator, args ...string) (int, []byte) {
	t.Helper()
	status, body, err := curlTransfer(t, emu, args...)
	if err != nil {
		t.Fatal(err)
	}
	return status, body
}

// curlTransfer is curl that returns a failed transfer (curl's exit status) as an error.
func curlTransfer(t testing.TB, emu *emulator.Emulator, args ...string) (int, []byte, error) {
	t.Helper()
	bin := testtool.Require(t, "curl")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := emu.WriteCAFile(ca); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, append([]string{"-sS", "--cacert", ca, "-w", "\n%{http_code}"}, args...)...).Output()
	if err != nil {
		return 0, out, fmt.Errorf("curl %q: %w\n%s", args, err, out)
	}
	i := bytes.LastIndexByte(out, '\n')
	status, err := strconv.Atoi(string(out[i+1:]))
	if i < 0 || err != nil {
		t.Fatalf("curl output %q has no status", out)
	}
	return status, out[:i], nil
}

// direct makes curl reach the endpoint's port 443 at the emulator, by name (SNI and Host).
func direct(emu *emulator.Emulator) []string {
	return []string{"--connect-to", emu.Endpoint() + ":443:" + emu.Addr(emulator.Port443).String()}
}

// topicURL is the HTTPS publish URL of topic, with the query that follows '?'.
func topicURL(emu *emulator.Emulator, topic, query string) string {
	return "https://" + emu.Endpoint() + "/topics/" + url.PathEscape(topic) + "?" + query
}

// curlHeaders are the custom authorizer's credentials as curl -H options.
func curlHeaders(t testing.TB, token string) []string {
	return []string{
		"-H", "x-amz-customauthorizer-name: " + authName,
		"-H", "x-amz-customauthorizer-signature: " + sign(t, signingKey(), token),
		"-H", tokenKey + ": " + token,
	}
}

// expectBody asserts AWS's JSON answer and returns its traceId.
func expectBody(t testing.TB, status int, body []byte, wantStatus int, wantMessage string) string {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, body %s; want %d", status, body, wantStatus)
	}
	message, traceID := awsBody(t, body)
	if (wantMessage != "" && message != wantMessage) || traceID == "" {
		t.Fatalf("body %s; want message %q and a traceId", body, wantMessage)
	}
	return traceID
}

// subscribe connects an MQTT device that subscribes to topic.
func subscribe(t testing.TB, emu *emulator.Emulator, clientID, topic string) *v3 {
	t.Helper()
	c, err := newDevice(t, emu, clientID).connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	if tok := c.Subscribe(topic, 1, nil); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return c
}

func expectMessage(t testing.TB, c *v3, topic, payload string) {
	t.Helper()
	select {
	case m := <-c.received:
		if m.Topic() != topic || string(m.Payload()) != payload {
			t.Fatalf("received %q on %s; want %q on %s", m.Payload(), m.Topic(), payload, topic)
		}
	case <-time.After(waitLong):
		t.Fatalf("%q on %s was not delivered", payload, topic)
	}
}

// TestHTTPSPublish publishes with curl, credentials in headers or in the query, to MQTT
// subscribers, and checks AWS's answers to requests it refuses.
func TestHTTPSPublish(t *testing.T) {
	t.Parallel()
	withoutReceive := allow(
		statement("Allow", []string{"iot:Connect"}, arn("client/*")),
		statement("Allow", []string{"iot:Subscribe"}, arn("topicfilter/t/*")),
	)
	rec := &recorder{next: func(ctx context.Context, req events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
		if pd := req.ProtocolData; pd != nil && pd.MQTT != nil && pd.MQTT.ClientID == "https-no-receive" {
			return withoutReceive(ctx, req)
		}
		return allow(openPolicy...)(ctx, req)
	}}
	emu := start(t, config(rec.handle))
	sub := subscribe(t, emu, "https-sub", "t/x")
	subscribe(t, emu, "https-no-receive", "t/x")

	t.Run("credentials in headers", func(t *testing.T) {
		status, body := curl(t, emu, append(append(direct(emu), curlHeaders(t, goodToken)...),
			"--data-binary", "from headers", topicURL(emu, "t/x", "qos=1"))...)
		traceID := expectBody(t, status, body, http.StatusOK, "OK")
		expectMessage(t, sub, "t/x", "from headers")
		ev := rec.last(t)
		if !slices.Equal(ev.Protocols, []string{"tls", "http"}) || ev.ProtocolData == nil || ev.ProtocolData.MQTT != nil || ev.ProtocolData.HTTP == nil {
			t.Fatalf("event protocols %q, protocolData %+v; want tls and http only", ev.Protocols, ev.ProtocolData)
		}
		if h := ev.ProtocolData.HTTP.Headers; h["x-amz-customauthorizer-name"] != authName || h["host"] != emu.Endpoint() {
			t.Errorf("http.headers = %v", h)
		}
		in := waitEvent(t, emu, "Publish-In", "Success", "topicName=t/x", "principalId=principal1")
		if in.Protocol != "HTTP" || in.TraceID != traceID {
			t.Errorf("Publish-In %+v; want protocol HTTP and the answer's traceId %s", in, traceID)
		}
		// AWS: iot:Receive is checked for every subscriber of an HTTPS publish too.
		waitEvent(t, emu, "Publish-Out", "Failure", "clientId=https-no-receive", "topicName=t/x", "reason=AUTHORIZATION_FAILURE")
	})
	t.Run("credentials in the query, through the proxy", func(t *testing.T) {
		status, body := curl(t, emu, "--proxy", "socks5h://"+emu.ProxyAddr().String(),
			"--data-binary", "from query", topicURL(emu, "t/x", "qos=0&"+credentialQuery(t, goodToken)))
		expectBody(t, status, body, http.StatusOK, "OK")
		expectMessage(t, sub, "t/x", "from query")
		if q := rec.last(t).ProtocolData.HTTP.QueryString; !strings.HasPrefix(q, "?qos=0&") {
			t.Errorf("http.queryString = %q", q)
		}
	})
	t.Run("publish not allowed", func(t *testing.T) {
		status, body := curl(t, emu, append(append(direct(emu), curlHeaders(t, goodToken)...), "-d", "x", topicURL(emu, "other", "qos=1"))...)
		expectBody(t, status, body, http.StatusForbidden, "Forbidden")
		ev := waitEvent(t, emu, "Publish-In", "Failure", "topicName=other", "reason=AUTHORIZATION_FAILURE")
		if ev.Protocol != "HTTP" {
			t.Errorf("protocol %q, want HTTP", ev.Protocol)
		}
		traceMentions(t, emu, "iot:Publish", "other")
	})
	t.Run("signature that does not verify", func(t *testing.T) {
		status, body := curl(t, emu, append(direct(emu),
			"-H", "x-amz-customauthorizer-name: "+authName,
			"-H", "x-amz-customauthorizer-signature: "+sign(t, otherKey(), goodToken),
			"-H", tokenKey+": "+goodToken,
			"-d", "x", topicURL(emu, "t/x", "qos=1"))...)
		expectBody(t, status, body, http.StatusForbidden, "Forbidden")
		ev := waitEvent(t, emu, "Connection.AuthNError", "Failure", "reason=SECURITY_TOKEN_SIGNATURE_MISMATCH")
		if ev.Protocol != "HTTP" {
			t.Errorf("protocol %q, want HTTP", ev.Protocol)
		}
	})
	t.Run("qos=2", func(t *testing.T) {
		status, body := curl(t, emu, append(append(direct(emu), curlHeaders(t, goodToken)...), "-d", "x", topicURL(emu, "t/x", "qos=2"))...)
		expectBody(t, status, body, http.StatusBadRequest, "")
		traceMentions(t, emu, "qos=2")
	})
	t.Run("wildcard topic", func(t *testing.T) {
		status, body := curl(t, emu, append(append(direct(emu), curlHeaders(t, goodToken)...), "-d", "x", topicURL(emu, "t/+", "qos=1"))...)
		expectBody(t, status, body, http.StatusBadRequest, "")
	})
	t.Run("topic over 7 levels", func(t *testing.T) {
		status, body := curl(t, emu, append(append(direct(emu), curlHeaders(t, goodToken)...), "-d", "x", topicURL(emu, "t/1/2/3/4/5/6/7/8", "qos=1"))...)
		expectBody(t, status, body, http.StatusBadRequest, "")
	})
	t.Run("GET", func(t *testing.T) {
		status, body := curl(t, emu, append(append(direct(emu), curlHeaders(t, goodToken)...), topicURL(emu, "t/x", "qos=1"))...)
		expectBody(t, status, body, http.StatusMethodNotAllowed, "")
	})
	t.Run("wrong Host", func(t *testing.T) {
		status, body := curl(t, emu, append(append(direct(emu), curlHeaders(t, goodToken)...),
			"-H", "Host: example.com", "-d", "x", topicURL(emu, "t/x", "qos=1"))...)
		expectBody(t, status, body, http.StatusForbidden, "Forbidden")
		waitEvent(t, emu, "Connection.AuthNError", "Failure", "reason=SNI_MISUSED")
	})
	t.Run("other path", func(t *testing.T) {
		status, body := curl(t, emu, append(direct(emu), "https://"+emu.Endpoint()+"/things/x/shadow")...)
		expectBody(t, status, body, http.StatusNotFound, "Not Found")
	})
}

// httpsClient is a Go HTTP client that sends every request on one keep-alive connection to
// the emulator's port 443, by the endpoint's name and without ALPN mqtt.
func httpsClient(t testing.TB, emu *emulator.Emulator) *http.Client {
	addr := emu.Addr(emulator.Port443).String()
	tr := &http.Transport{
		TLSClientConfig: wssTLS(emu),
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		MaxConnsPerHost:     1,
		MaxIdleConnsPerHost: 1,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: waitLong}
}

// post publishes payload to topic with the credentials in headers and returns the status and
// whether the request went on a connection used before.
func post(t testing.TB, c *http.Client, emu *emulator.Emulator, topic string, payload []byte) (status int, reused bool) {
	t.Helper()
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, topicURL(emu, topic, "qos=1"), bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = credentialHeaders(t, emu, goodToken)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, reused
}

// invocations returns how many times the authorizer function ran.
func invocations(t testing.TB, emu *emulator.Emulator) int64 {
	t.Helper()
	m, ok := emu.FunctionMetrics("auth-fn")
	if !ok {
		t.Fatal("no function auth-fn")
	}
	return m.Invocations
}

// refreshing answers as allow(openPolicy...) with refreshAfterInSeconds set.
func refreshing(seconds uint32) handler {
	next := allow(openPolicy...)
	return func(ctx context.Context, req events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
		resp, err := next(ctx, req)
		resp.RefreshAfterInSeconds = seconds
		return resp, err
	}
}

// startHTTPS starts an emulator on a virtual clock whose authorizer answers with
// refreshAfterInSeconds and has enableCachingForHttp as given.
func startHTTPS(t *testing.T, h handler, caching bool) *emulator.Emulator {
	t.Helper()
	cfg := config(h)
	cfg.Authorizers[0].EnableCachingForHTTP = caching
	return emulator.NewTestWithOptions(t, cfg, emulator.Options{Clock: clock.NewVirtual(time.Now())})
}

// publishN sends n publishes on one keep-alive connection, all of which must succeed.
func publishN(t testing.TB, c *http.Client, emu *emulator.Emulator, n int) {
	t.Helper()
	for i := range n {
		status, reused := post(t, c, emu, "t/cache", []byte("m"+strconv.Itoa(i)))
		if status != http.StatusOK {
			t.Fatalf("publish %d: status %d\n%s", i, status, dumpLog(emu))
		}
		if i > 0 && !reused {
			t.Fatalf("publish %d went on a new connection", i)
		}
	}
}

// TestHTTPSCaching: with enableCachingForHttp, the authorizer's answer serves a keep-alive
// connection for refreshAfterInSeconds; otherwise the authorizer runs for every request.
func TestHTTPSCaching(t *testing.T) {
	t.Parallel()
	const n = 3
	t.Run("enabled", func(t *testing.T) {
		t.Parallel()
		emu := startHTTPS(t, refreshing(300), true)
		c := httpsClient(t, emu)
		publishN(t, c, emu, n)
		if got := invocations(t, emu); got != 1 {
			t.Fatalf("%d invocations for %d requests on one connection, want 1", got, n)
		}
		traceMentions(t, emu, "enableCachingForHttp", "not invoked")
		if err := emu.Advance(301 * time.Second); err != nil {
			t.Fatal(err)
		}
		publishN(t, c, emu, n)
		if got := invocations(t, emu); got != 2 {
			t.Fatalf("%d invocations after refreshAfterInSeconds elapsed, want 2", got)
		}
		// A new connection does not share the cache.
		publishN(t, httpsClient(t, emu), emu, 1)
		if got := invocations(t, emu); got != 3 {
			t.Fatalf("%d invocations after a request on a new connection, want 3", got)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		t.Parallel()
		rec := &recorder{next: refreshing(300)}
		emu := startHTTPS(t, rec.handle, false)
		publishN(t, httpsClient(t, emu), emu, n)
		if got := invocations(t, emu); got != n {
			t.Fatalf("%d invocations for %d requests, want one each", got, n)
		}
		ids := map[string]bool{}
		for _, ev := range rec.events() {
			ids[ev.ConnectionMetadata.ID] = true
		}
		if len(ids) != 1 {
			t.Errorf("connectionMetadata.id %v; want one ID for the requests of one connection", ids)
		}
	})
	t.Run("enabled without refreshAfterInSeconds", func(t *testing.T) {
		t.Parallel()
		emu := startHTTPS(t, refreshing(0), true)
		publishN(t, httpsClient(t, emu), emu, n)
		if got := invocations(t, emu); got != n {
			t.Fatalf("%d invocations, want %d: nothing to cache for", got, n)
		}
	})
	t.Run("curl with several URLs", func(t *testing.T) {
		t.Parallel()
		emu := startHTTPS(t, refreshing(300), true)
		args := append(append(direct(emu), curlHeaders(t, goodToken)...), "-d", "x")
		for range n {
			args = append(args, topicURL(emu, "t/curl", "qos=1"))
		}
		_, body := curl(t, emu, args...)
		if got := strings.Count(string(body), `"message":"OK"`); got != n {
			t.Fatalf("%d of %d publishes answered OK:\n%s", got, n, body)
		}
		if got := invocations(t, emu); got != 1 {
			t.Fatalf("%d invocations for %d requests on curl's one connection, want 1", got, n)
		}
	})
}

// TestHTTPSPublishPayloadLimit: AWS IoT takes payloads of at most 128 KB.
func TestHTTPSPublishPayloadLimit(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	sub := subscribe(t, emu, "https-big", "t/big")
	c := httpsClient(t, emu)
	if status, _ := post(t, c, emu, "t/big", bytes.Repeat([]byte("a"), 128*1024+1)); status != http.StatusBadRequest {
		t.Fatalf("status %d for a payload over 128 KB, want 400", status)
	}
	payload := bytes.Repeat([]byte("a"), 128*1024)
	if status, _ := post(t, c, emu, "t/big", payload); status != http.StatusOK {
		t.Fatalf("status %d for a payload of 128 KB, want 200", status)
	}
	expectMessage(t, sub, "t/big", string(payload))
}
