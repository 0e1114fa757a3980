//go:build linux || darwin

package bench

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/customauth"
	"github.com/iotemu/iotemu/internal/certs"
)

const (
	region      = "us-east-1"
	account     = "123456789012"
	authName    = "BenchAuth"
	functionARN = "arn:aws:lambda:" + region + ":" + account + ":function:bench-auth"
	token       = "bench-token"
	// serverName is the SNI both servers are reached by: the emulator's default data endpoint.
	serverName = "a1b2c3d4e5f6g7-ats.iot." + region + ".amazonaws.com"
)

// server names a kind of server the benchmarks compare and starts one.
type server struct {
	name  string
	start func(testing.TB) (target, *emulator.Emulator)
}

// servers are the sides of every comparison: the emulator with an in-process authorizer, bare
// mochi (the baseline for the emulator), the emulator with the example authorizer as an
// executable behind its Runtime API (compared with the in-process kind), the emulator with an
// X.509 device on port 8883 (compared with custom authentication), and Debian's mosquitto
// with TLS (skipped where it is not installed).
var servers = []server{
	{"emulator", startEmulator},
	{"mochi", startMochi},
	{"executable", startExecutable},
	{"x509", startX509},
	{"mosquitto", startMosquittoServer},
}

// signingKey is the token signing key pair; RSA key generation is slow, so one per binary.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// authorize is the benchmark's custom authorizer, written as a user writes one with
// aws-lambda-go: it checks the token and returns a policy of the usual shape, keyed on the
// client ID.
func authorize(_ context.Context, req events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
	if req.Token != token {
		return events.IoTCoreCustomAuthorizerResponse{IsAuthenticated: false}, nil
	}
	arn := func(resource string) string { return "arn:aws:iot:" + region + ":" + account + ":" + resource }
	return events.IoTCoreCustomAuthorizerResponse{
		IsAuthenticated: true,
		PrincipalID:     "bench",
		PolicyDocuments: []*events.IAMPolicyDocument{{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{
				{Effect: "Allow", Action: []string{"iot:Connect"}, Resource: []string{arn("client/${iot:ClientId}")}},
				{Effect: "Allow", Action: []string{"iot:Publish", "iot:Receive"}, Resource: []string{arn("topic/devices/${iot:ClientId}/*")}},
				{Effect: "Allow", Action: []string{"iot:Subscribe"}, Resource: []string{arn("topicfilter/devices/${iot:ClientId}/*")}},
				// The message-path benchmark's shared topics.
				{Effect: "Allow", Action: []string{"iot:Publish", "iot:Receive"}, Resource: []string{arn("topic/bench/*")}},
				{Effect: "Allow", Action: []string{"iot:Subscribe"}, Resource: []string{arn("topicfilter/bench/*")}},
				{Effect: "Deny", Action: []string{"iot:Publish"}, Resource: []string{arn("topic/admin/*")}},
			},
		}},
		RefreshAfterInSeconds:    86400,
		DisconnectAfterInSeconds: 86400,
	}, nil
}

// startEmulator starts an emulator with one signed custom authorizer backed by an in-process
// function, and returns how to connect to it through that authorizer. Its text log is on, as
// `iotemu serve` runs it, and written to the null device.
func startEmulator(tb testing.TB) (target, *emulator.Emulator) {
	tb.Helper()
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { devnull.Close() })
	return startWithOptions(tb, emulator.Function{Name: "bench-auth", Kind: emulator.KindGo, Handler: authorize}, emulator.Options{Stdout: devnull})
}

// startExecutable is startEmulator with examples/authorizer built and run as an executable.
func startExecutable(tb testing.TB) (target, *emulator.Emulator) {
	tb.Helper()
	bin, err := exampleAuthorizer()
	if err != nil {
		tb.Fatal(err)
	}
	return startWith(tb, emulator.Function{Name: "bench-auth", Kind: emulator.KindExecutable, Path: bin,
		Environment: map[string]string{"AUTHORIZER_TOKEN": token}})
}

// exampleAuthorizer builds examples/authorizer once per process.
var exampleAuthorizer = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "iotemu-bench-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "bootstrap")
	// By import path, so that it builds from any directory of the module (scripts/bench runs
	// the compiled test binary from the repository's root).
	cmd := exec.Command("go", "build", "-o", bin, "github.com/iotemu/iotemu/examples/authorizer")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build examples/authorizer: %v\n%s", err, out)
	}
	return bin, nil
})

// startWith starts an emulator whose one signed authorizer invokes fn.
func startWith(tb testing.TB, fn emulator.Function) (target, *emulator.Emulator) {
	tb.Helper()
	return startWithOptions(tb, fn, emulator.Options{})
}

// startWithOptions starts an emulator whose one signed authorizer invokes fn, with opts.
func startWithOptions(tb testing.TB, fn emulator.Function, opts emulator.Options) (target, *emulator.Emulator) {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(&signingKey().PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	emu := emulator.NewTestWithOptions(tb, emulator.Config{
		AccountID: account,
		Region:    region,
		Listen:    emulator.Listen{MQTT8883: "off", HTTP8443: "off"},
		Functions: []emulator.Function{fn},
		Authorizers: []emulator.Authorizer{{
			Name:                   authName,
			FunctionARN:            functionARN,
			TokenKeyName:           "token",
			TokenSigningPublicKeys: map[string]string{"k1": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))},
		}},
	}, opts)
	if emu.Endpoint() != serverName {
		tb.Fatalf("emulator endpoint %s; the benchmark expects %s", emu.Endpoint(), serverName)
	}
	return target{
		Addr:       emu.Addr(emulator.Port443).String(),
		ServerName: serverName,
		CAPEM:      string(emu.CAPEM()),
		Username:   username(tb),
	}, emu
}

// startX509 starts an emulator without authorizers and issues one device certificate with a
// policy that allows iot:Connect; the target connects with it on the 8883 role.
func startX509(tb testing.TB) (target, *emulator.Emulator) {
	tb.Helper()
	emu := emulator.NewTest(tb, emulator.Config{AccountID: account, Region: region, Listen: emulator.Listen{MQTT443: "off", HTTP8443: "off"}})
	dev, err := emu.IssueDevice(emulator.DeviceOptions{Policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:` + region + `:` + account + `:client/*"}]}`})
	if err != nil {
		tb.Fatal(err)
	}
	return target{
		Addr:       emu.Addr(emulator.Port8883).String(),
		ServerName: serverName,
		CAPEM:      string(emu.CAPEM()),
		CertPEM:    string(dev.CertPEM),
		KeyPEM:     string(dev.KeyPEM),
	}, emu
}

// startMochi starts bare mochi-mqtt: default options but the emulator's queue of 100 pending
// writes per connection (logging discarded, as the emulator does),
// a TLS listener with the same kind of certificate as the emulator's (ECDSA P-256 from the same
// CA code, same chain, same SNI name) advertising ALPN mqtt, and the allow-all hook. The
// username is the emulator's, so that both servers read the same CONNECT bytes.
func startMochi(tb testing.TB) (target, *emulator.Emulator) {
	tb.Helper()
	ca, err := certs.NewCA()
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := ca.Issue([]string{serverName}, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumClientWritesPending = 100 // the emulator's queue per connection
	s := mqtt.New(&mqtt.Options{
		Logger:       slog.New(slog.DiscardHandler),
		Capabilities: caps,
		// The emulator's buffers per connection (internal/broker).
		ClientNetReadBufferSize:  512,
		ClientNetWriteBufferSize: 4096,
	})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		tb.Fatal(err)
	}
	ln := listeners.NewTCP(listeners.Config{
		ID:      "tls",
		Address: "127.0.0.1:0",
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"mqtt"},
			MinVersion:   tls.VersionTLS12,
		},
	})
	if err := s.AddListener(ln); err != nil {
		tb.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return target{
		Addr:       ln.Address(),
		ServerName: serverName,
		CAPEM:      string(ca.PEM()),
		Username:   username(tb),
	}, nil
}

// username is the MQTT username of every benchmark device: the authorizer's name, the token
// and its signature.
func username(tb testing.TB) string {
	tb.Helper()
	sig, err := customauth.Sign(signingKey(), token)
	if err != nil {
		tb.Fatal(err)
	}
	return "bench?x-amz-customauthorizer-name=" + authName + "&token=" + token + "&x-amz-customauthorizer-signature=" + url.QueryEscape(sig)
}
