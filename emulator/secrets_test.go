package emulator_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pahov3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/internal/syncbuf"
)

// TestSecretsNeverReachALog connects over MQTT (username and password), WSS (headers, then
// query string) and HTTPS (headers, then query string), accepted and refused, then searches
// every sink (text on stdout, verbose and compact, JSON, the JSON file, the in-memory store)
// for the token, the signature in any encoding and the password: none may be there.
func TestSecretsNeverReachALog(t *testing.T) {
	const password = "pw-SECRET-9c1d"
	sig := sign(t, signingKey(), goodToken)
	secrets := []string{goodToken, sig, url.QueryEscape(sig), sig[6 : len(sig)-6], password, base64.StdEncoding.EncodeToString([]byte(password))}

	var verbose, compact, js syncbuf.Buffer
	file := filepath.Join(t.TempDir(), "iot.log")
	cfg := config(allow(openPolicy...))
	cfg.Log = emulator.LogConfig{Format: "text", Verbose: true, File: file}
	emu := emulator.NewTestWithOptions(t, cfg, emulator.Options{Stdout: &verbose})
	emu.SubscribeLog(iotlog.NewTextSink(&compact, false))
	emu.SubscribeLog(iotlog.NewJSONSink(&js))

	// MQTT, with a password, accepted and with a refused (bad) signature.
	d := newDevice(t, emu, "secret-mqtt")
	opts := pahov3.NewClientOptions().AddBroker("tls://" + d.addr).SetClientID(d.clientID).
		SetUsername(d.username).SetPassword(password).SetTLSConfig(d.tls)
	if _, err := connectPahoV3(t, opts); err != nil {
		t.Fatal(err)
	}
	bad := newDevice(t, emu, "secret-bad")
	bad.username = strings.Replace(d.username, url.QueryEscape(sig), url.QueryEscape(sig[:len(sig)-8])+"AAAAAAA%3D", 1)
	if _, err := bad.connectV3(t); err == nil {
		t.Fatal("a bad signature connected")
	}
	malformed := newDevice(t, emu, "secret-malformed")
	malformed.username = d.username + "?again"
	if _, err := malformed.connectV3(t); err == nil {
		t.Fatal("a malformed username connected")
	}

	// WSS: credentials in the upgrade's headers, then in its query string.
	for i, w := range []wssDevice{
		{url: wssURL(emu, "/mqtt"), headers: credentialHeaders(t, emu, goodToken)},
		{url: wssURL(emu, "/mqtt?"+credentialQuery(t, goodToken)), headers: hostHeader(emu)},
	} {
		w.clientID, w.tls = "secret-wss-"+string(rune('a'+i)), wssTLS(emu)
		if _, err := w.connect(t); err != nil {
			t.Fatalf("WSS %d: %v", i, err)
		}
	}

	// HTTPS publish: credentials in headers, then in the query string.
	tlsConf := wssTLS(emu)
	tlsConf.ServerName = emu.Endpoint()
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: tlsConf,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, emu.Addr(emulator.Port443).String())
		},
		ForceAttemptHTTP2: false,
		TLSNextProto:      map[string]func(string, *tls.Conn) http.RoundTripper{},
	}}
	for _, u := range []string{"https://" + emu.Endpoint() + "/topics/t/x", "https://" + emu.Endpoint() + "/topics/t/x?" + credentialQuery(t, goodToken)} {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader("{}"))
		if !strings.Contains(u, "?") {
			for k, v := range credentialHeaders(t, emu, goodToken) {
				req.Header[k] = v
			}
		}
		req.Host = emu.Endpoint()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("HTTPS publish %s: %s", u, resp.Status)
		}
	}
	waitEvent(t, emu, iotlog.EventPublishIn, iotlog.StatusSuccess, "topicName=t/x")

	memory, _ := json.Marshal(struct {
		E []iotlog.Event
		T []iotlog.Trace
	}{emu.Logs().Events(), emu.Logs().Traces()})
	emu.Close() // writes the file's last lines
	fileText, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for sink, text := range map[string]string{
		"text (verbose)": verbose.String(), "text (compact)": compact.String(), "JSON": js.String(),
		"file": string(fileText), "memory": string(memory),
	} {
		if !strings.Contains(text, "secret-wss-b") || !strings.Contains(text, "secret-bad") {
			t.Errorf("%s: the connections are not in the log:\n%s", sink, text)
		}
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s holds the secret %q:\n%s", sink, s, text)
			}
		}
	}
	if !strings.Contains(verbose.String(), "<redacted sha256:") || !strings.Contains(verbose.String(), sig[:4]+"…"+sig[len(sig)-4:]) {
		t.Errorf("the verbose trace shows neither the token's hash nor the signature's ends:\n%s", verbose.String())
	}
}

// TestShowSecretsOptIn: log.showSecrets writes the exact event, for local debugging.
func TestShowSecretsOptIn(t *testing.T) {
	cfg := config(allow(openPolicy...))
	cfg.Log.ShowSecrets = true
	emu := start(t, cfg)
	if _, err := newDevice(t, emu, "shown").connectV3(t); err != nil {
		t.Fatal(err)
	}
	traceMentions(t, emu, `"token":"`+goodToken+`"`)
}
