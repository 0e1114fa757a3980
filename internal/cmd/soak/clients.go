package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"
)

// device connects a paho MQTT 3.1.1 client with ALPN mqtt on the 443 role.
func (s *server) device(id string, onMessage mqtt.MessageHandler) (mqtt.Client, error) {
	opts := mqtt.NewClientOptions().AddBroker("tls://" + s.MQTT).SetClientID(id).SetUsername("soak").
		SetTLSConfig(s.tlsConfig("mqtt")).SetKeepAlive(60 * time.Second).SetAutoReconnect(false).
		SetConnectRetry(false).SetConnectTimeout(10 * time.Second).SetWriteTimeout(30 * time.Second).
		SetDefaultPublishHandler(onMessage)
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(15 * time.Second) {
		c.Disconnect(0)
		return nil, fmt.Errorf("connect %s: no CONNACK within 15 s", id)
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("connect %s: %w", id, err)
	}
	return c, nil
}

// stuckSubscriber connects over TLS, subscribes to topic at QoS 1 and then never reads again;
// its socket's receive buffer is made small so that the emulator feels it at once.
func (s *server) stuckSubscriber(topic string) (net.Conn, error) {
	raw, err := net.DialTimeout("tcp", s.MQTT, 10*time.Second)
	if err != nil {
		return nil, err
	}
	_ = raw.(*net.TCPConn).SetReadBuffer(4096)
	c := tls.Client(raw, s.tlsConfig("mqtt"))
	var buf bytes.Buffer
	connect := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 60, ClientIdentifier: "stuck", UsernameFlag: true, Username: []byte("soak")}}
	subscribe := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, ProtocolVersion: 4, PacketID: 1,
		Filters: packets.Subscriptions{{Filter: topic, Qos: 1}}}
	if err := connect.ConnectEncode(&buf); err != nil {
		return nil, err
	}
	if err := subscribe.SubscribeEncode(&buf); err != nil {
		return nil, err
	}
	if _, err := c.Write(buf.Bytes()); err != nil {
		c.Close()
		return nil, err
	}
	// CONNACK (4 bytes) and SUBACK (5 bytes), then nothing more is read.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	acks := make([]byte, 9)
	if _, err := io.ReadFull(bufio.NewReaderSize(c, 16), acks); err != nil {
		c.Close()
		return nil, fmt.Errorf("stuck subscriber: CONNACK and SUBACK: %w", err)
	}
	if acks[3] != 0 || acks[8] != 1 {
		c.Close()
		return nil, fmt.Errorf("stuck subscriber: refused (% x)", acks)
	}
	return c, nil
}
