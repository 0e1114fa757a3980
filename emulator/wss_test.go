package emulator_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	pahopackets "github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/gorilla/websocket"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/internal/gateway"
)

// recorder is an authorizer that keeps every event it receives and answers as next does.
type recorder struct {
	next handler
	mu   sync.Mutex
	seen []events.IoTCoreCustomAuthorizerRequest
}

func (r *recorder) handle(ctx context.Context, req events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
	r.mu.Lock()
	r.seen = append(r.seen, req)
	r.mu.Unlock()
	return r.next(ctx, req)
}

// events returns the events received so far.
func (r *recorder) events() []events.IoTCoreCustomAuthorizerRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// last returns the latest event, failing the test when there is none.
func (r *recorder) last(t testing.TB) events.IoTCoreCustomAuthorizerRequest {
	t.Helper()
	seen := r.events()
	if len(seen) == 0 {
		t.Fatal("the authorizer was not invoked")
	}
	return seen[len(seen)-1]
}

// wssTLS is a WebSocket client's TLS configuration: the endpoint as SNI and no ALPN, as
// browsers and WebSocket libraries connect (AWS: port 443 without ALPN is HTTP).
func wssTLS(emu *emulator.Emulator) *tls.Config {
	c := emu.ClientTLSConfig()
	c.NextProtos = nil
	return c
}

// wssURL is the WebSocket URL of the emulator's 443 role by address; the Host header must then
// name the endpoint.
func wssURL(emu *emulator.Emulator, pathAndQuery string) string {
	return "wss://" + emu.Addr(emulator.Port443).String() + pathAndQuery
}

// hostHeader returns headers whose Host names the data endpoint, as a client connecting by
// name sends.
func hostHeader(emu *emulator.Emulator) http.Header {
	return http.Header{"Host": {emu.Endpoint()}}
}

// credentialHeaders are the custom authorizer's credentials as HTTP headers.
func credentialHeaders(t testing.TB, emu *emulator.Emulator, token string) http.Header {
	h := hostHeader(emu)
	h.Set("X-Amz-CustomAuthorizer-Name", authName)
	h.Set("X-Amz-CustomAuthorizer-Signature", sign(t, signingKey(), token))
	h.Set(tokenKey, token)
	return h
}

// credentialQuery is the custom authorizer's credentials as a URL query string.
func credentialQuery(t testing.TB, token string) string {
	return url.Values{
		"x-amz-customauthorizer-name":      {authName},
		"x-amz-customauthorizer-signature": {sign(t, signingKey(), token)},
		tokenKey:                           {token},
	}.Encode()
}

// wssDevice is an MQTT 3.1.1 device over WebSockets (paho.mqtt.golang's websocket transport).
type wssDevice struct {
	url      string
	clientID string
	username string
	headers  http.Header
	proxy    func(*http.Request) (*url.URL, error) // nil: direct
	tls      *tls.Config
}

func (d wssDevice) connect(t testing.TB) (*v3, error) {
	t.Helper()
	proxy := d.proxy
	if proxy == nil {
		proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
	}
	opts := pahov3.NewClientOptions().
		AddBroker(d.url).
		SetClientID(d.clientID).
		SetTLSConfig(d.tls).
		SetHTTPHeaders(d.headers).
		SetWebsocketOptions(&pahov3.WebsocketOptions{Proxy: proxy})
	if d.username != "" {
		opts.SetUsername(d.username)
	}
	return connectPahoV3(t, opts)
}

// roundTrip subscribes c to topic, publishes to it and waits for the message to come back.
func roundTrip(t testing.TB, c *v3, topic string) {
	t.Helper()
	if tok := c.Subscribe(topic, 1, nil); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", topic, tok.Error())
	}
	if tok := c.Publish(topic, 1, false, "hello "+topic); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
	select {
	case m := <-c.received:
		if m.Topic() != topic || string(m.Payload()) != "hello "+topic {
			t.Fatalf("received %q on %s", m.Payload(), m.Topic())
		}
	case <-time.After(waitLong):
		t.Fatalf("the message published to %s did not come back", topic)
	}
}

// checkWSSEvent asserts what every MQTT-over-WSS event carries.
func checkWSSEvent(t testing.TB, emu *emulator.Emulator, ev events.IoTCoreCustomAuthorizerRequest) *events.IoTCoreHTTPContext {
	t.Helper()
	if !slices.Equal(ev.Protocols, []string{"tls", "http", "mqtt"}) {
		t.Errorf("protocols = %q, want [tls http mqtt]", ev.Protocols)
	}
	pd := ev.ProtocolData
	if pd == nil || pd.HTTP == nil || pd.MQTT == nil || pd.TLS == nil {
		t.Fatalf("protocolData = %+v, want tls, http and mqtt", pd)
	}
	if pd.TLS.ServerName != emu.Endpoint() {
		t.Errorf("tls.serverName = %q", pd.TLS.ServerName)
	}
	if got := pd.HTTP.Headers["host"]; got != emu.Endpoint() {
		t.Errorf("http.headers.host = %q, want the endpoint", got)
	}
	if !ev.SignatureVerified || ev.Token != goodToken {
		t.Errorf("token %q, signatureVerified %t", ev.Token, ev.SignatureVerified)
	}
	return pd.HTTP
}

// TestMQTTOverWebSockets connects paho over WSS with the credentials in each place AWS reads
// them: the upgrade's headers, its URL query (browsers), and the CONNECT username.
func TestMQTTOverWebSockets(t *testing.T) {
	t.Parallel()
	rec := &recorder{next: allow(openPolicy...)}
	emu := start(t, config(rec.handle))

	t.Run("credentials in headers", func(t *testing.T) {
		c, err := wssDevice{url: wssURL(emu, "/mqtt"), clientID: "wss-headers", headers: credentialHeaders(t, emu, goodToken), tls: wssTLS(emu)}.connect(t)
		if err != nil {
			t.Fatalf("connect over WSS: %v\n%s", err, dumpLog(emu))
		}
		roundTrip(t, c, "t/wss-headers")
		h := checkWSSEvent(t, emu, rec.last(t))
		if h.Headers["x-amz-customauthorizer-name"] != authName || h.Headers[tokenKey] != goodToken {
			t.Errorf("http.headers = %v, want the credentials in lower-case names", h.Headers)
		}
		if h.Headers["sec-websocket-protocol"] != "mqtt" {
			t.Errorf("http.headers lack the upgrade's sec-websocket-protocol: %v", h.Headers)
		}
		waitEvent(t, emu, "Connect", "Success", "clientId=wss-headers")
	})
	t.Run("credentials in the URL query, by name through the proxy", func(t *testing.T) {
		proxy, err := url.Parse("socks5://" + emu.ProxyAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		c, err := wssDevice{
			url:      "wss://" + emu.Endpoint() + "/mqtt?" + credentialQuery(t, goodToken),
			clientID: "wss-query",
			proxy:    http.ProxyURL(proxy),
			tls:      wssTLS(emu),
		}.connect(t)
		if err != nil {
			t.Fatalf("connect over WSS: %v\n%s", err, dumpLog(emu))
		}
		roundTrip(t, c, "t/wss-query")
		h := checkWSSEvent(t, emu, rec.last(t))
		if !strings.HasPrefix(h.QueryString, "?") || !strings.Contains(h.QueryString, "x-amz-customauthorizer-name="+authName) {
			t.Errorf("http.queryString = %q, want the query with its leading '?'", h.QueryString)
		}
		if _, ok := h.Headers["x-amz-customauthorizer-name"]; ok {
			t.Errorf("http.headers carry credentials that were sent in the query: %v", h.Headers)
		}
	})
	t.Run("credentials in the CONNECT username", func(t *testing.T) {
		user := username(t, goodToken)
		c, err := wssDevice{url: wssURL(emu, "/mqtt"), clientID: "wss-username", username: user, headers: hostHeader(emu), tls: wssTLS(emu)}.connect(t)
		if err != nil {
			t.Fatalf("connect over WSS: %v\n%s", err, dumpLog(emu))
		}
		roundTrip(t, c, "t/wss-username")
		ev := rec.last(t)
		checkWSSEvent(t, emu, ev)
		if ev.ProtocolData.MQTT.Username != user || ev.ProtocolData.MQTT.ClientID != "wss-username" {
			t.Errorf("mqtt = %+v, want the raw username and the client ID", ev.ProtocolData.MQTT)
		}
	})
	t.Run("policy enforced as for direct MQTT", func(t *testing.T) {
		c, err := wssDevice{url: wssURL(emu, "/mqtt"), clientID: "wss-denied", headers: credentialHeaders(t, emu, goodToken), tls: wssTLS(emu)}.connect(t)
		if err != nil {
			t.Fatal(err)
		}
		c.Publish("denied", 1, false, "x")
		c.waitLost(t, "connection not closed after a denied publish")
		waitEvent(t, emu, "Publish-In", "Failure", "clientId=wss-denied", "topicName=denied", "reason=AUTHORIZATION_FAILURE")
		waitEvent(t, emu, "Disconnect", "Success", "clientId=wss-denied", "disconnectReason=AUTH_ERROR")
	})
	t.Run("bad token refused at CONNECT", func(t *testing.T) {
		_, err := wssDevice{url: wssURL(emu, "/mqtt"), clientID: "wss-bad", headers: credentialHeaders(t, emu, "bad-token"), tls: wssTLS(emu)}.connect(t)
		if err == nil {
			t.Fatal("connected with a token the authorizer rejects")
		}
		waitEvent(t, emu, "Connection.AuthNError", "Failure", "clientId=wss-bad", "reason=NOT_AUTHENTICATED")
	})
}

// dialWS performs a WebSocket upgrade with gorilla/websocket (what paho uses underneath) and
// returns the connection or the refusal.
func dialWS(emu *emulator.Emulator, pathAndQuery string, header http.Header, subprotocols ...string) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{TLSClientConfig: wssTLS(emu), Subprotocols: subprotocols, HandshakeTimeout: waitLong}
	ws, resp, err := d.Dial(wssURL(emu, pathAndQuery), header)
	if ws != nil {
		_ = ws.SetReadDeadline(time.Now().Add(waitLong))
	}
	return ws, resp, err
}

// awsBody decodes AWS IoT's {"message","traceId"} answer.
func awsBody(t testing.TB, body []byte) (message, traceID string) {
	t.Helper()
	var b struct {
		Message string `json:"message"`
		TraceID string `json:"traceId"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("answer %q is not AWS's JSON body: %v", body, err)
	}
	return b.Message, b.TraceID
}

// refusal asserts that an upgrade was answered with status and AWS's JSON body, and returns
// the body's traceId.
func refusal(t testing.TB, ws *websocket.Conn, resp *http.Response, err error, status int, message string) string {
	t.Helper()
	if err == nil {
		ws.Close()
		t.Fatal("the upgrade succeeded")
	}
	if resp == nil || resp.StatusCode != status {
		t.Fatalf("upgrade: %v, %+v; want status %d", err, resp, status)
	}
	body, _ := io.ReadAll(resp.Body)
	got, traceID := awsBody(t, body)
	if got != message || traceID == "" {
		t.Fatalf("body %s, want message %q and a traceId", body, message)
	}
	return traceID
}

// TestWebSocketRefusals covers the requests refused before any MQTT: a Host that is not the
// endpoint, a path other than /mqtt, and a SigV4-presigned URL.
func TestWebSocketRefusals(t *testing.T) {
	t.Parallel()
	rec := &recorder{next: allow(openPolicy...)}
	emu := start(t, config(rec.handle))

	t.Run("wrong Host", func(t *testing.T) {
		h := credentialHeaders(t, emu, goodToken)
		h.Set("Host", "wrong-ats.iot.us-east-1.amazonaws.com")
		ws, resp, err := dialWS(emu, "/mqtt", h, "mqtt")
		traceID := refusal(t, ws, resp, err, http.StatusForbidden, "Forbidden")
		ev := waitEvent(t, emu, "Connection.AuthNError", "Failure", "reason=SNI_MISUSED")
		if ev.TraceID != traceID || ev.Protocol != "HTTP" {
			t.Errorf("SNI_MISUSED event %+v, want traceId %s and protocol HTTP", ev, traceID)
		}
		traceMentions(t, emu, "wrong-ats.iot.us-east-1.amazonaws.com", "Host")
	})
	t.Run("wrong Host through paho", func(t *testing.T) {
		h := credentialHeaders(t, emu, goodToken)
		h.Set("Host", "localhost")
		if _, err := (wssDevice{url: wssURL(emu, "/mqtt"), clientID: "wss-wrong-host", headers: h, tls: wssTLS(emu)}).connect(t); err == nil {
			t.Fatal("paho connected with a wrong Host")
		}
		traceMentions(t, emu, `HTTP Host "localhost"`)
	})
	t.Run("path other than /mqtt", func(t *testing.T) {
		ws, resp, err := dialWS(emu, "/other", credentialHeaders(t, emu, goodToken), "mqtt")
		refusal(t, ws, resp, err, http.StatusNotFound, "Not Found")
	})
	t.Run("SigV4 presigned URL", func(t *testing.T) {
		q := "/mqtt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261125%2Fus-east-1%2Fiotdevicegateway%2Faws4_request" +
			"&X-Amz-Date=20261125T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=0123456789abcdef"
		ws, resp, err := dialWS(emu, q, hostHeader(emu), "mqtt")
		traceID := refusal(t, ws, resp, err, http.StatusForbidden, "Forbidden")
		traceMentions(t, emu, "SigV4 is not emulated", traceID)
	})
	t.Run("subprotocol mqttv3.1 is answered", func(t *testing.T) {
		ws, _, err := dialWS(emu, "/mqtt", hostHeader(emu), "mqttv3.1")
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		if ws.Subprotocol() != "mqttv3.1" {
			t.Errorf("subprotocol %q, want mqttv3.1", ws.Subprotocol())
		}
	})
	if n := len(rec.events()); n != 0 {
		t.Errorf("the authorizer was invoked %d times for upgrades that carried no CONNECT or were refused", n)
	}
}

// TestWebSocketFraming: MQTT over WebSockets is a byte stream. A packet split over several
// messages and several packets in one message are both read correctly ([MQTT-6.0.0-2]).
func TestWebSocketFraming(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	ws, _, err := dialWS(emu, "/mqtt", credentialHeaders(t, emu, goodToken), "mqtt")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()

	connect := packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Connect},
		ProtocolVersion: 4,
		Connect:         packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 60, ClientIdentifier: "wss-framing"},
	}
	var buf bytes.Buffer
	if err := connect.ConnectEncode(&buf); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	for _, part := range [][]byte{raw[:1], raw[1:5], raw[5:]} { // one CONNECT in three messages
		if err := ws.WriteMessage(websocket.BinaryMessage, part); err != nil {
			t.Fatal(err)
		}
	}
	if got := readWS(t, ws, 4); got[0] != 0x20 || got[3] != 0 {
		t.Fatalf("CONNACK % x, want 20 02 00 00", got)
	}
	pingreq := []byte{0xc0, 0x00}
	if err := ws.WriteMessage(websocket.BinaryMessage, append(slices.Clone(pingreq), pingreq...)); err != nil { // two packets in one message
		t.Fatal(err)
	}
	if got := readWS(t, ws, 4); !bytes.Equal(got, []byte{0xd0, 0x00, 0xd0, 0x00}) {
		t.Fatalf("answers % x, want two PINGRESP", got)
	}
	waitEvent(t, emu, "Connect", "Success", "clientId=wss-framing")
}

// readWS reads n bytes from the binary messages of ws, whatever their boundaries.
func readWS(t testing.TB, ws *websocket.Conn, n int) []byte {
	t.Helper()
	var got []byte
	for len(got) < n {
		kind, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read after % x: %v", got, err)
		}
		if kind != websocket.BinaryMessage {
			t.Fatalf("message of type %d, want binary", kind)
		}
		got = append(got, msg...)
	}
	return got
}

// TestMQTT5OverWebSockets: an MQTT 5 device over WebSockets (paho.golang over a gorilla
// WebSocket, credentials in the URL query as a browser sends them) gets the same MQTT 5
// behaviour as over direct MQTT: CONNACK capabilities, messages, PUBACK 0x87 on a denied
// publish.
func TestMQTT5OverWebSockets(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	ws, _, err := dialWS(emu, "/mqtt?"+credentialQuery(t, goodToken), hostHeader(emu), "mqtt")
	if err != nil {
		t.Fatalf("WebSocket upgrade: %v", err)
	}
	_ = ws.SetReadDeadline(time.Time{})
	received := make(chan *paho.Publish, 1)
	c := paho.NewClient(paho.ClientConfig{
		ClientID: "wss5",
		Conn:     pahopackets.NewThreadSafeConn(gateway.WebSocketConn(ws)),
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(p paho.PublishReceived) (bool, error) {
			received <- p.Packet
			return true, nil
		}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	ack, err := c.Connect(ctx, &paho.Connect{ClientID: "wss5", KeepAlive: 60, CleanStart: true})
	if err != nil || ack.ReasonCode != 0 || ack.Properties.TopicAliasMaximum == nil || *ack.Properties.TopicAliasMaximum != 8 {
		t.Fatalf("CONNACK %+v, %v\n%s", ack, err, dumpLog(emu))
	}
	t.Cleanup(func() { c.Disconnect(&paho.Disconnect{}) })
	if sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "t/wss5", QoS: 1}}}); err != nil || sa.Reasons[0] != 1 {
		t.Fatalf("SUBACK %+v, %v", sa, err)
	}
	if pa, err := c.Publish(ctx, &paho.Publish{Topic: "t/wss5", QoS: 1, Payload: []byte("over wss")}); err != nil || pa.ReasonCode != 0 {
		t.Fatalf("PUBACK %+v, %v", pa, err)
	}
	select {
	case m := <-received:
		if string(m.Payload) != "over wss" {
			t.Fatalf("got %q", m.Payload)
		}
	case <-time.After(waitLong):
		t.Fatal("message not delivered over WebSockets")
	}
	if pa, _ := c.Publish(ctx, &paho.Publish{Topic: "denied", QoS: 1, Payload: []byte("x")}); pa == nil || pa.ReasonCode != 0x87 {
		t.Fatalf("denied publish: PUBACK %+v; want 0x87", pa)
	}
}
