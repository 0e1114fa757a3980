package emulator_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/customauth"
	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/internal/testtool"
)

const (
	region    = "us-east-1"
	account   = "123456789012"
	authName  = "TestAuth"
	tokenKey  = "token"
	goodToken = "good-token"
	waitLong  = 10 * time.Second
)

// RSA key generation is slow: one signing key pair, and one that AWS does not know, per test
// binary.
var (
	signingKey = sync.OnceValue(func() *rsa.PrivateKey { return mustKey() })
	otherKey   = sync.OnceValue(func() *rsa.PrivateKey { return mustKey() })
)

func mustKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func publicPEM(k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func sign(t testing.TB, k *rsa.PrivateKey, token string) string {
	t.Helper()
	sig, err := customauth.Sign(k, token)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// handler is the shape of an aws-lambda-go custom authorizer.
type handler = func(context.Context, events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error)

// rawHandler answers with raw bytes, for answers aws-lambda-go's types cannot express.
type rawHandler func(event []byte) []byte

func (h rawHandler) Invoke(_ context.Context, event []byte) ([]byte, error) { return h(event), nil }

func arn(resource string) string { return "arn:aws:iot:" + region + ":" + account + ":" + resource }

// statement builds a policy statement.
func statement(effect string, actions []string, resources ...string) events.IAMPolicyStatement {
	return events.IAMPolicyStatement{Effect: effect, Action: actions, Resource: resources}
}

// allow answers isAuthenticated with one policy document made of statements, after checking
// the token.
func allow(statements ...events.IAMPolicyStatement) handler {
	return func(_ context.Context, req events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
		if req.Token != goodToken {
			return events.IoTCoreCustomAuthorizerResponse{IsAuthenticated: false}, nil
		}
		return events.IoTCoreCustomAuthorizerResponse{
			IsAuthenticated: true,
			PrincipalID:     "principal1",
			PolicyDocuments: []*events.IAMPolicyDocument{{Version: "2012-10-17", Statement: statements}},
		}, nil
	}
}

// openPolicy allows a client everything on topics under t/.
var openPolicy = []events.IAMPolicyStatement{
	statement("Allow", []string{"iot:Connect"}, arn("client/*")),
	statement("Allow", []string{"iot:Publish", "iot:Receive", "iot:RetainPublish"}, arn("topic/t/*")),
	statement("Allow", []string{"iot:Subscribe"}, arn("topicfilter/t/*")),
}

// config returns an emulator config with one signed authorizer backed by h.
func config(h any) emulator.Config {
	return emulator.Config{
		AccountID: account,
		Region:    region,
		Listen:    emulator.Listen{Proxy: "127.0.0.1:0"},
		Functions: []emulator.Function{{Name: "auth-fn", Kind: emulator.KindGo, Handler: h}},
		Authorizers: []emulator.Authorizer{{
			Name:                   authName,
			FunctionARN:            "arn:aws:lambda:" + region + ":" + account + ":function:auth-fn",
			TokenKeyName:           tokenKey,
			TokenSigningPublicKeys: map[string]string{"k1": publicPEM(signingKey())},
		}},
	}
}

func start(t *testing.T, cfg emulator.Config) *emulator.Emulator {
	t.Helper()
	return emulator.NewTest(t, cfg)
}

// username is the MQTT username a device sends: the authorizer, the token and its signature.
func username(t testing.TB, token string) string {
	return "dev?x-amz-customauthorizer-name=" + authName + "&" + tokenKey + "=" + url.QueryEscape(token) +
		"&x-amz-customauthorizer-signature=" + url.QueryEscape(sign(t, signingKey(), token))
}

// device describes how a test device connects.
type device struct {
	clientID string
	username string
	tls      *tls.Config
	addr     string
}

func newDevice(t testing.TB, emu *emulator.Emulator, clientID string) device {
	return device{clientID: clientID, username: username(t, goodToken), tls: emu.ClientTLSConfig(), addr: emu.Addr(emulator.Port443).String()}
}

// v3 is an MQTT 3.1.1 device (paho.mqtt.golang).
type v3 struct {
	pahov3.Client
	lost     chan error
	received chan pahov3.Message
}

func (d device) connectV3(t testing.TB) (*v3, error) {
	t.Helper()
	return connectPahoV3(t, pahov3.NewClientOptions().
		AddBroker("tls://"+d.addr).
		SetClientID(d.clientID).
		SetUsername(d.username).
		SetTLSConfig(d.tls))
}

// connectPahoV3 connects a paho.mqtt.golang MQTT 3.1.1 client set up by opts (broker, client
// ID, credentials, TLS), with what every test wants: no retries, long timeouts, and channels
// for lost connections and received messages.
func connectPahoV3(t testing.TB, opts *pahov3.ClientOptions) (*v3, error) {
	t.Helper()
	c := &v3{lost: make(chan error, 1), received: make(chan pahov3.Message, 16)}
	opts.SetProtocolVersion(4).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(waitLong).
		SetWriteTimeout(waitLong).
		SetConnectionLostHandler(func(_ pahov3.Client, err error) { c.lost <- err }).
		SetDefaultPublishHandler(func(_ pahov3.Client, m pahov3.Message) { c.received <- m })
	c.Client = pahov3.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(waitLong) {
		return nil, errors.New("connect timed out")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c, nil
}

// waitLost fails the test unless the connection is lost (closed by the server) in time; why
// says what should have closed it.
func (c *v3) waitLost(t testing.TB, why string) {
	t.Helper()
	select {
	case <-c.lost:
	case <-time.After(waitLong):
		t.Fatal(why)
	}
}

// isConnackRefusal reports whether paho's error means a CONNACK with a refusal code (as
// opposed to the connection being closed without any CONNACK).
func isConnackRefusal(err error) bool {
	for _, s := range []string{"not Authorized", "bad user name or password", "identifier rejected", "server Unavailable", "unacceptable protocol version"} {
		if err != nil && strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// v5 is an MQTT 5 device (paho.golang).
type v5 struct {
	*paho.Client
	received   chan *paho.Publish
	disconnect chan *paho.Disconnect
}

func (d device) connectV5(t testing.TB) (*v5, *paho.Connack, error) {
	t.Helper()
	conn, err := tls.Dial("tcp", d.addr, d.tls)
	if err != nil {
		return nil, nil, err
	}
	c := &v5{received: make(chan *paho.Publish, 16), disconnect: make(chan *paho.Disconnect, 1)}
	c.Client = paho.NewClient(paho.ClientConfig{
		ClientID: d.clientID,
		Conn:     packets.NewThreadSafeConn(conn), // tls.Conn is not safe for paho's concurrent writes
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(p paho.PublishReceived) (bool, error) {
			c.received <- p.Packet
			return true, nil
		}},
		OnServerDisconnect: func(d *paho.Disconnect) { c.disconnect <- d },
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	ack, err := c.Connect(ctx, &paho.Connect{ClientID: d.clientID, Username: d.username, UsernameFlag: true, KeepAlive: 60, CleanStart: true})
	if err != nil {
		conn.Close()
		return nil, ack, err
	}
	t.Cleanup(func() { c.Disconnect(&paho.Disconnect{}) })
	return c, ack, nil
}

// waitEvent waits for the first log event that has the given type and status and whose fields
// match the extra "key=value" pairs (clientId, reason, topicName, disconnectReason).
func waitEvent(t testing.TB, emu *emulator.Emulator, eventType, status string, fields ...string) iotlog.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	ev, err := emu.Logs().WaitEvent(ctx, func(e iotlog.Event) bool {
		if e.EventType != eventType || e.Status != status {
			return false
		}
		for _, f := range fields {
			k, v, _ := strings.Cut(f, "=")
			if eventField(e, k) != v {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("no %s %s event with %v in the log:\n%s", eventType, status, fields, dumpLog(emu))
	}
	return ev
}

func eventField(e iotlog.Event, k string) string {
	switch k {
	case "clientId":
		return e.ClientID
	case "reason":
		return e.Reason
	case "topicName":
		return e.TopicName
	case "disconnectReason":
		return e.DisconnectReason
	case "principalId":
		return e.PrincipalID
	case "retain":
		return fmt.Sprint(e.Retain)
	}
	panic("unknown field " + k)
}

// traceMentions asserts that some trace record contains every fragment.
func traceMentions(t testing.TB, emu *emulator.Emulator, fragments ...string) {
	t.Helper()
	// A decision may be traced a moment after what the device saw (a refresh delayed on an
	// idle connection runs when the client's next packet arrives): wait for it.
	for deadline := time.Now().Add(waitLong); ; time.Sleep(10 * time.Millisecond) {
		for _, tr := range emu.Logs().Traces() {
			b, _ := json.Marshal(tr)
			ok := true
			for _, f := range fragments {
				ok = ok && strings.Contains(tr.Message+string(b), f)
			}
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			break
		}
	}
	t.Errorf("no trace record mentions %q:\n%s", fragments, dumpLog(emu))
}

func dumpLog(emu *emulator.Emulator) string {
	var b strings.Builder
	for _, e := range emu.Logs().Events() {
		j, _ := json.Marshal(e)
		fmt.Fprintf(&b, "  event %s\n", j)
	}
	for _, tr := range emu.Logs().Traces() {
		fmt.Fprintf(&b, "  trace %s: %s\n", tr.Step, tr.Message)
	}
	return b.String()
}

// connectV5WithPassword connects with MQTT 5 and a password.
func (d device) connectV5WithPassword(t testing.TB, password []byte) (*v5, *paho.Connack, error) {
	t.Helper()
	conn, err := tls.Dial("tcp", d.addr, d.tls)
	if err != nil {
		return nil, nil, err
	}
	c := &v5{Client: paho.NewClient(paho.ClientConfig{ClientID: d.clientID, Conn: packets.NewThreadSafeConn(conn)})}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	ack, err := c.Connect(ctx, &paho.Connect{ClientID: d.clientID, Username: d.username, UsernameFlag: true, Password: password, PasswordFlag: true, KeepAlive: 60, CleanStart: true})
	if err != nil {
		conn.Close()
		return nil, ack, err
	}
	t.Cleanup(func() { c.Disconnect(&paho.Disconnect{}) })
	return c, ack, nil
}

// connectV5KeepAlive connects with MQTT 5 asking for a keep-alive.
func (d device) connectV5KeepAlive(t testing.TB, keepAlive uint16) (*paho.Connack, error) {
	t.Helper()
	conn, err := tls.Dial("tcp", d.addr, d.tls)
	if err != nil {
		return nil, err
	}
	c := paho.NewClient(paho.ClientConfig{ClientID: d.clientID, Conn: packets.NewThreadSafeConn(conn)})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	ack, err := c.Connect(ctx, &paho.Connect{ClientID: d.clientID, Username: d.username, UsernameFlag: true, KeepAlive: keepAlive, CleanStart: true})
	if err != nil {
		conn.Close()
		return ack, err
	}
	t.Cleanup(func() { c.Disconnect(&paho.Disconnect{}) })
	return ack, nil
}

// sharedDir holds artifacts built once for every test of this binary.
var sharedDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "iotemu-test-")
	if err != nil {
		panic(err)
	}
	sharedDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	testtool.Report()
	os.Exit(code)
}
