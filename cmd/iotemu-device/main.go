// Command iotemu-device is the device of the docker-compose demo. It does what a device with
// custom authentication does against AWS IoT Core: it connects to the data endpoint by name on
// port 443 over TLS, sending the endpoint as SNI and offering ALPN "mqtt", and names the custom
// authorizer, its token and the token's signature in the MQTT username. Then it subscribes to
// its own topic, publishes to it and waits for its message to come back. Last, with -bad-token,
// it checks that a connection with another token is refused.
//
// It imports nothing of the emulator, only the standard library and paho.mqtt.golang, so what
// it does works against AWS unchanged (with -ca "" for the system roots).
//
//	iotemu-device [-endpoint NAME] [-address HOST:PORT] [-ca FILE] [-signing-key FILE]
//	              [-authorizer NAME] [-token TOKEN] [-bad-token TOKEN] [-client-id ID] [-wait 30s]
//
// It waits, up to -wait, for the CA and key files to appear and for the endpoint to accept the
// connection, prints each step, and exits 0 when everything went as expected, 1 otherwise.
package main

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// device is one run's settings.
type device struct {
	endpoint     string
	port         int
	address      string
	caFile       string
	keyFile      string
	authorizer   string
	tokenKeyName string
	clientID     string
	topic        string
	wait         time.Duration
}

func main() {
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	log.SetPrefix("device: ")
	d := device{}
	flag.StringVar(&d.endpoint, "endpoint", "a1b2c3d4e5f6g7-ats.iot.us-east-1.amazonaws.com", "the data endpoint `name`: the host to connect to and the SNI")
	flag.IntVar(&d.port, "port", 443, "the `port`: custom authentication over MQTT needs 443 with ALPN mqtt")
	flag.StringVar(&d.address, "address", "", "`host:port` to dial instead of ENDPOINT:PORT, still sending the endpoint as SNI (e.g. localhost:10443 for a container's published 443)")
	flag.StringVar(&d.caFile, "ca", "/iotemu/ca.pem", "PEM `file` of the CA to trust (empty: the system roots)")
	flag.StringVar(&d.keyFile, "signing-key", "/iotemu/device-signing-key.pem", "PEM RSA private key `file` that signs the token (empty: send no signature)")
	flag.StringVar(&d.authorizer, "authorizer", "example-authorizer", "custom authorizer `name` (empty: the account's default authorizer)")
	flag.StringVar(&d.tokenKeyName, "token-key-name", "token", "the authorizer's tokenKeyName")
	token := flag.String("token", "allow", "the token the authorizer accepts")
	badToken := flag.String("bad-token", "", "if set, last connect with this token and expect a refusal")
	flag.StringVar(&d.clientID, "client-id", "device-1", "MQTT client `ID`")
	flag.StringVar(&d.topic, "topic", "", "topic to subscribe and publish to (default devices/CLIENTID/hello)")
	flag.DurationVar(&d.wait, "wait", 30*time.Second, "how long to wait for the files and for the endpoint to accept connections")
	flag.Parse()
	if d.topic == "" {
		d.topic = "devices/" + d.clientID + "/hello"
	}
	if err := d.run(*token, *badToken); err != nil {
		log.Printf("FAILED: %v", err)
		os.Exit(1)
	}
	log.Printf("OK")
}

// run connects with token and sends a message round, then tries badToken.
func (d *device) run(token, badToken string) error {
	deadline := time.Now().Add(d.wait)
	tlsConfig, err := d.tlsConfig(deadline)
	if err != nil {
		return err
	}
	var key *rsa.PrivateKey
	if d.keyFile != "" {
		if key, err = loadKey(d.keyFile, deadline); err != nil {
			return err
		}
	}

	log.Printf("connecting to %s (SNI %s, ALPN mqtt) as %q with authorizer %q and token %q", d.broker(), tlsConfig.ServerName, d.clientID, d.authorizer, token)
	client, err := d.connect(tlsConfig, key, token, deadline)
	if err != nil {
		return fmt.Errorf("connect with token %q: %w", token, err)
	}
	log.Printf("connected")
	err = d.roundTrip(client)
	client.Disconnect(250)
	if err != nil {
		return err
	}
	log.Printf("disconnected")

	if badToken == "" {
		return nil
	}
	log.Printf("connecting with token %q, which the authorizer must refuse", badToken)
	// One attempt: the endpoint answered above, so a failure now is the refusal. AWS closes
	// the connection without a CONNACK when the authorizer refuses.
	client, err = d.connectOnce(tlsConfig, key, badToken)
	if err == nil {
		client.Disconnect(250)
		return fmt.Errorf("the connection with token %q was accepted", badToken)
	}
	log.Printf("refused as expected: %v", err)
	return nil
}

// roundTrip subscribes to the device's topic, publishes a message to it and waits for it.
func (d *device) roundTrip(client mqtt.Client) error {
	received := make(chan mqtt.Message, 1)
	tok := client.Subscribe(d.topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case received <- m:
		default:
		}
	})
	if err := wait(tok); err != nil {
		return fmt.Errorf("subscribe to %s: %w", d.topic, err)
	}
	if codes := tok.(*mqtt.SubscribeToken).Result(); codes[d.topic] == 0x80 {
		return fmt.Errorf("subscribe to %s: refused (SUBACK 0x80)", d.topic)
	}
	log.Printf("subscribed to %s", d.topic)
	payload := fmt.Sprintf(`{"from":%q,"at":%q}`, d.clientID, time.Now().UTC().Format(time.RFC3339Nano))
	if err := wait(client.Publish(d.topic, 1, false, payload)); err != nil {
		return fmt.Errorf("publish to %s: %w", d.topic, err)
	}
	log.Printf("published to %s: %s", d.topic, payload)
	select {
	case m := <-received:
		log.Printf("received on %s: %s", m.Topic(), m.Payload())
		if string(m.Payload()) != payload {
			return fmt.Errorf("received %q, want %q", m.Payload(), payload)
		}
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("the message published to %s did not come back within 10s", d.topic)
	}
}

// connect connects, retrying until deadline while the endpoint does not answer yet.
func (d *device) connect(tlsConfig *tls.Config, key *rsa.PrivateKey, token string, deadline time.Time) (mqtt.Client, error) {
	for {
		client, err := d.connectOnce(tlsConfig, key, token)
		if err == nil {
			return client, nil
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		log.Printf("not connected yet (%v); retrying", err)
		time.Sleep(time.Second)
	}
}

// connectOnce makes one connection attempt.
func (d *device) connectOnce(tlsConfig *tls.Config, key *rsa.PrivateKey, token string) (mqtt.Client, error) {
	username, err := d.username(key, token)
	if err != nil {
		return nil, err
	}
	opts := mqtt.NewClientOptions().
		AddBroker("tls://" + d.broker()).
		SetClientID(d.clientID).
		SetUsername(username).
		SetTLSConfig(tlsConfig).
		SetProtocolVersion(4). // MQTT 3.1.1
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(10 * time.Second)
	client := mqtt.NewClient(opts)
	if err := wait(client.Connect()); err != nil {
		return nil, err
	}
	return client, nil
}

// broker is the address to dial.
func (d *device) broker() string {
	if d.address != "" {
		return d.address
	}
	return net.JoinHostPort(d.endpoint, strconv.Itoa(d.port))
}

// username builds the MQTT username of custom authentication:
// ?x-amz-customauthorizer-name=NAME&TOKENKEYNAME=TOKEN&x-amz-customauthorizer-signature=SIG.
func (d *device) username(key *rsa.PrivateKey, token string) (string, error) {
	q := url.Values{}
	if d.authorizer != "" {
		q.Set("x-amz-customauthorizer-name", d.authorizer)
	}
	q.Set(d.tokenKeyName, token)
	if key != nil {
		// AWS: RSA PKCS#1 v1.5 over the SHA-256 of the token, standard base64, URL-encoded in
		// the query (url.Values.Encode does that).
		sum := sha256.Sum256([]byte(token))
		sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
		if err != nil {
			return "", fmt.Errorf("sign the token: %w", err)
		}
		q.Set("x-amz-customauthorizer-signature", base64.StdEncoding.EncodeToString(sig))
	}
	return "?" + q.Encode(), nil
}

// tlsConfig trusts -ca and names the endpoint in SNI with ALPN mqtt, as AWS requires on 443.
func (d *device) tlsConfig(deadline time.Time) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: d.endpoint, NextProtos: []string{"mqtt"}, MinVersion: tls.VersionTLS12}
	if d.caFile == "" {
		return cfg, nil
	}
	pemBytes, err := readWhenPresent(d.caFile, deadline)
	if err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	cfg.RootCAs = x509.NewCertPool()
	if !cfg.RootCAs.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("CA: no certificate in %s", d.caFile)
	}
	return cfg, nil
}

// loadKey reads a PEM RSA private key, PKCS#1 or PKCS#8.
func loadKey(path string, deadline time.Time) (*rsa.PrivateKey, error) {
	data, err := readWhenPresent(path, deadline)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("signing key %s: no PEM block", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s: %T is not an RSA key", path, k)
	}
	return rk, nil
}

// readWhenPresent reads a file, waiting until deadline for it to appear: the emulator writes
// it into a volume shared with the device when it first starts.
func readWhenPresent(path string, deadline time.Time) ([]byte, error) {
	logged := false
	for {
		data, err := os.ReadFile(path)
		switch {
		case err == nil && len(data) > 0:
			return data, nil
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return nil, err
		case time.Now().After(deadline):
			return nil, fmt.Errorf("%s did not appear in time", path)
		}
		if !logged {
			log.Printf("waiting for %s", path)
			logged = true
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// wait waits for a paho token, bounded so that a lost packet cannot hang the device.
func wait(t mqtt.Token) error {
	if !t.WaitTimeout(15 * time.Second) {
		return errors.New("no answer within 15s")
	}
	return t.Error()
}
