package scenarios

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/gorilla/websocket"

	"github.com/iotemu/iotemu/internal/gateway"
)

// conn5 is an MQTT 5 connection (paho.golang) over TLS or WebSockets.
type conn5 struct {
	c *paho.Client
}

// dial5 opens the byte stream MQTT 5 runs over: TLS, or a WebSocket upgraded on it (paho.golang
// has no WebSocket transport; the emulator's own adapter turns the WebSocket into a stream).
func (d *device) dial5(ctx context.Context) (net.Conn, error) {
	if d.def.Transport != "wss" {
		dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: connectTimeout}, Config: d.tls}
		return dialer.DialContext(ctx, "tcp", d.addr)
	}
	ws := websocket.Dialer{TLSClientConfig: d.tls, Subprotocols: []string{"mqtt"}, HandshakeTimeout: connectTimeout}
	conn, resp, err := ws.DialContext(ctx, d.brokerURL(), d.upgradeHeader())
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("WebSocket upgrade refused: %s", resp.Status)
		}
		return nil, err
	}
	return gateway.WebSocketConn(conn), nil
}

// connect5 connects with MQTT 5.
func (d *device) connect5(ctx context.Context) (conn, connectResult) {
	l := d.link
	raw, err := d.dial5(ctx)
	if err != nil {
		return nil, connectResult{result: "closed", err: err}
	}
	c := paho.NewClient(paho.ClientConfig{
		ClientID: d.clientID,
		Conn:     packets.NewThreadSafeConn(raw),
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(p paho.PublishReceived) (bool, error) {
			l.deliver(message{topic: p.Packet.Topic, payload: string(p.Packet.Payload), retained: p.Packet.Retain})
			return true, nil
		}},
		OnServerDisconnect: func(dc *paho.Disconnect) {
			code := dc.ReasonCode
			l.close(fmt.Sprintf("DISCONNECT 0x%02x from the server", code), &code)
		},
		OnClientError: func(err error) { l.close("connection lost: "+err.Error(), nil) },
	})
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	ack, err := c.Connect(cctx, &paho.Connect{
		ClientID:     d.clientID,
		KeepAlive:    60,
		CleanStart:   true,
		Username:     d.creds.username,
		UsernameFlag: d.creds.hasUsername,
		Password:     d.creds.password,
		PasswordFlag: d.creds.hasPassword,
	})
	switch {
	case err == nil && ack != nil && ack.ReasonCode == 0:
		return &conn5{c: c}, connectResult{result: "connected"}
	case ack != nil && ack.ReasonCode >= 0x80:
		raw.Close()
		return nil, connectResult{result: "refused", code: ack.ReasonCode, err: err}
	}
	raw.Close()
	if err == nil {
		err = errors.New("no CONNACK")
	}
	return nil, connectResult{result: "closed", err: err}
}

func (c *conn5) publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) (byte, error) {
	resp, err := c.c.Publish(ctx, &paho.Publish{Topic: topic, QoS: qos, Retain: retain, Payload: payload})
	if resp != nil && resp.ReasonCode >= 0x80 {
		return resp.ReasonCode, nil
	}
	return 0, err
}

func (c *conn5) subscribe(ctx context.Context, filter string, qos byte) (byte, error) {
	ack, err := c.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: qos}}})
	if ack != nil && len(ack.Reasons) == 1 {
		return ack.Reasons[0], nil
	}
	if err == nil {
		err = errors.New("SUBACK without a reason code")
	}
	return 0, err
}

func (c *conn5) disconnect() { _ = c.c.Disconnect(&paho.Disconnect{}) }
