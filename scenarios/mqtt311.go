package scenarios

import (
	"context"
	"errors"
	"net/http"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// conn311 is an MQTT 3.1.1 connection (paho.mqtt.golang), over TLS or WebSockets.
type conn311 struct {
	c    pahov3.Client
	link *link
}

// upgradeHeader is the WebSocket upgrade request's header: the Host, the client's own headers,
// and the credentials unless they travel in the query or the CONNECT username.
func (d *device) upgradeHeader() http.Header {
	h := http.Header{"Host": {d.host}}
	for k, v := range d.def.Headers {
		h.Set(k, v)
	}
	if d.def.CredentialsIn == "" || d.def.CredentialsIn == "headers" {
		d.creds.header(h)
	}
	return h
}

// connect311 connects with MQTT 3.1.1 to broker (tls://ADDR or wss://ADDR/mqtt?QUERY).
func (d *device) connect311(broker string) (conn, connectResult) {
	l := d.link
	opts := pahov3.NewClientOptions().
		AddBroker(broker).
		SetClientID(d.clientID).
		SetProtocolVersion(4).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(connectTimeout).
		SetWriteTimeout(ackTimeout).
		SetTLSConfig(d.tls).
		SetConnectionLostHandler(func(_ pahov3.Client, err error) { l.close("connection lost: "+err.Error(), nil) }).
		SetDefaultPublishHandler(func(_ pahov3.Client, m pahov3.Message) {
			l.deliver(message{topic: m.Topic(), payload: string(m.Payload()), retained: m.Retained()})
		})
	if d.creds.hasUsername {
		opts.SetUsername(d.creds.username)
	}
	if d.creds.hasPassword {
		opts.SetPassword(string(d.creds.password))
	}
	if d.def.Transport == "wss" {
		opts.SetHTTPHeaders(d.upgradeHeader())
	}
	c := pahov3.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(connectTimeout) {
		c.Disconnect(0)
		return nil, connectResult{result: "closed", err: errors.New("no CONNACK within " + connectTimeout.String())}
	}
	rc := tok.(*pahov3.ConnectToken).ReturnCode()
	switch {
	case tok.Error() == nil:
		return &conn311{c: c, link: l}, connectResult{result: "connected"}
	case rc != packets.ErrNetworkError && rc != packets.Accepted:
		return nil, connectResult{result: "refused", code: rc, err: tok.Error()}
	}
	return nil, connectResult{result: "closed", err: tok.Error()}
}

func (c *conn311) publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) (byte, error) {
	return 0, wait(ctx, c.c.Publish(topic, qos, retain, payload))
}

func (c *conn311) subscribe(ctx context.Context, filter string, qos byte) (byte, error) {
	tok := c.c.Subscribe(filter, qos, nil)
	if err := wait(ctx, tok); err != nil {
		return 0, err
	}
	return tok.(*pahov3.SubscribeToken).Result()[filter], nil
}

func (c *conn311) disconnect() { c.c.Disconnect(100) }

// wait waits for a paho token to complete, or for ctx to end.
func wait(ctx context.Context, tok pahov3.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}
