package testcontainer_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/testcontainers/testcontainers-go"

	"github.com/iotemu/iotemu/testcontainer"
)

// defaultImage is what scripts/docker-build tags; IOTEMU_IMAGE names another.
const defaultImage = "iotemu:dev"

// buildDir holds the example authorizer, built once for all tests.
var buildDir string

func TestMain(m *testing.M) {
	// No registry is reachable here, so the Ryuk reaper's image cannot be pulled; every test
	// terminates its own container instead (testcontainers.CleanupContainer).
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	var err error
	if buildDir, err = os.MkdirTemp("", "iotemu-testcontainer-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(buildDir)
	os.Exit(code)
}

// TestExampleAuthorizer runs examples/authorizer in the emulator's container and connects to
// the mapped 443 port as a device would: a bad token is refused and logged as
// Connection.AuthNError, the right one connects and a message goes round. The same client on
// the mapped 8883 port is refused by AWS's port rule. It also measures how long the container
// takes from ContainerStart to the first 200 from /health.
func TestExampleAuthorizer(t *testing.T) {
	ctx := context.Background()
	img := requireImage(t)
	var started, startReturned, ready time.Time
	measure := testcontainers.WithAdditionalLifecycleHooks(testcontainers.ContainerLifecycleHooks{
		PreStarts: []testcontainers.ContainerHook{func(context.Context, testcontainers.Container) error {
			started = time.Now()
			return nil
		}},
		PostStarts: []testcontainers.ContainerHook{func(ctx context.Context, c testcontainers.Container) error {
			startReturned = time.Now()
			var err error
			ready, err = pollHealth(ctx, c)
			return err
		}},
	})
	c, err := testcontainer.Run(ctx, img,
		testcontainer.WithAuthorizer(exampleAuthorizer(t)),
		testcontainer.WithEnv(map[string]string{"AUTHORIZER_TOKEN": "s3cret"}),
		measure)
	testcontainers.CleanupContainer(t, c)
	if err != nil {
		t.Fatal(err)
	}
	// A measurement, not a verdict: on a busy machine any bound would fail at random.
	t.Logf("ready in %v: ContainerStart to the first 200 from /health (the start call itself took %v)",
		ready.Sub(started).Round(time.Millisecond), startReturned.Sub(started).Round(time.Millisecond))

	if got, want := c.DataEndpoint(), "a1b2c3d4e5f6g7-ats.iot.us-east-1.amazonaws.com"; got != want {
		t.Errorf("DataEndpoint() = %q, want %q", got, want)
	}
	tlsConfig, err := c.ClientTLSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addr443, err := c.Address(ctx, testcontainer.Port443)
	if err != nil {
		t.Fatal(err)
	}
	username := func(token string) string {
		sig, err := c.SignToken(ctx, testcontainer.SigningKeyName, token)
		if err != nil {
			t.Fatal(err)
		}
		return testcontainer.MQTTUsername(testcontainer.AuthorizerName, testcontainer.TokenKeyName, token, sig)
	}

	// A bad token: the authorizer answers isAuthenticated false.
	if _, err := connect(addr443, tlsConfig, "dev-bad", username("wrong")); err == nil {
		t.Fatal("connected with a wrong token")
	}
	authN := waitEvent(t, c, func(e testcontainer.Event) bool {
		return e.EventType == "Connection.AuthNError" && e.ClientID == "dev-bad"
	})
	if authN.Status != "Failure" || authN.Reason != "NOT_AUTHENTICATED" || authN.ServerName != c.DataEndpoint() {
		t.Errorf("AuthNError event = %+v, want Failure NOT_AUTHENTICATED with SNI %s", authN, c.DataEndpoint())
	}

	// The right token: connected, with the policy of the example authorizer.
	good := username("s3cret")
	client, err := connect(addr443, tlsConfig, "dev-1", good)
	if err != nil {
		t.Fatalf("connect with the right token: %v", err)
	}
	defer client.Disconnect(100)
	waitEvent(t, c, func(e testcontainer.Event) bool {
		return e.EventType == "Connect" && e.Status == "Success" && e.ClientID == "dev-1" && e.PrincipalID == "dev1"
	})
	roundTrip(t, client, "devices/dev-1/hello")

	// AWS: port 8883 takes X.509 client certificates only; the same client is refused there,
	// and only the decision trace says why.
	addr8883, err := c.Address(ctx, testcontainer.Port8883)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := connect(addr8883, tlsConfig, "dev-8883", good); err == nil {
		t.Fatal("custom authentication connected on the 8883 role")
	}
	waitTrace(t, c, func(tr testcontainer.Trace) bool {
		return tr.Step == "tls" && string(tr.Data["port"]) == `"8883"`
	})
}

// TestImageConfig runs the image's own configuration, docker/iotemu.yaml: the built-in demo
// authorizer, JSON logs, the real port numbers.
func TestImageConfig(t *testing.T) {
	ctx := context.Background()
	c, err := testcontainer.Run(ctx, requireImage(t))
	testcontainers.CleanupContainer(t, c)
	if err != nil {
		t.Fatal(err)
	}
	tlsConfig, err := c.ClientTLSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	url, err := c.MQTTURL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := c.SignToken(ctx, "demo-signing-key", "allow")
	if err != nil {
		t.Fatal(err)
	}
	client, err := connect(strings.TrimPrefix(url, "tls://"), tlsConfig, "demo-1", testcontainer.MQTTUsername("iotemu-demo", "token", "allow", sig))
	if err != nil {
		t.Fatalf("connect to the demo authorizer: %v", err)
	}
	defer client.Disconnect(100)
	roundTrip(t, client, "demo/hello")
	waitEvent(t, c, func(e testcontainer.Event) bool {
		return e.EventType == "Publish-Out" && e.TopicName == "demo/hello" && e.ClientID == "demo-1"
	})

	admin, err := c.AdminURL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /metrics: %s", resp.Status)
	}
}

// TestConfigFile runs a configuration of its own (testdata/unsigned.yaml): another account,
// region and endpoint, token signing disabled, the authorizer's environment set in the file,
// and no dataDir (Run's -data-dir supplies it).
func TestConfigFile(t *testing.T) {
	ctx := context.Background()
	img := requireImage(t)
	c, err := testcontainer.Run(ctx, img,
		testcontainer.WithConfigFile(filepath.Join("testdata", "unsigned.yaml")),
		testcontainer.WithAuthorizer(exampleAuthorizer(t)))
	testcontainers.CleanupContainer(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.DataEndpoint(), "testprefix0001-ats.iot.eu-west-1.amazonaws.com"; got != want {
		t.Errorf("DataEndpoint() = %q, want %q", got, want)
	}
	tlsConfig, err := c.ClientTLSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := c.Address(ctx, testcontainer.Port443)
	if err != nil {
		t.Fatal(err)
	}
	client, err := connect(addr, tlsConfig, "unsigned-1", testcontainer.MQTTUsername("unsigned", "x-token", "from-the-file", ""))
	if err != nil {
		t.Fatalf("connect without a signature: %v", err)
	}
	defer client.Disconnect(100)
	roundTrip(t, client, "broadcast/news")
	e := waitEvent(t, c, func(e testcontainer.Event) bool { return e.EventType == "Connect" && e.ClientID == "unsigned-1" })
	if e.Status != "Success" || e.AccountID != "210987654321" {
		t.Errorf("Connect event = %+v, want Success in account 210987654321", e)
	}
}

// TestOptionErrors checks the combinations Run refuses before touching Docker.
func TestOptionErrors(t *testing.T) {
	ctx := context.Background()
	for name, opts := range map[string][]testcontainers.ContainerCustomizer{
		"env without authorizer": {testcontainer.WithEnv(map[string]string{"A": "b"})},
		"env with config file":   {testcontainer.WithConfigFile("testdata/unsigned.yaml"), testcontainer.WithAuthorizer("testdata/unsigned.yaml"), testcontainer.WithEnv(map[string]string{"A": "b"})},
		"missing authorizer":     {testcontainer.WithAuthorizer("testdata/no-such-file")},
		"missing config":         {testcontainer.WithConfigFile("testdata/no-such-file.yaml")},
	} {
		c, err := testcontainer.Run(ctx, defaultImage, opts...)
		if err == nil || c != nil {
			testcontainers.CleanupContainer(t, c)
			t.Errorf("%s: Run succeeded", name)
		}
	}
}

// requireDocker fails the test when no Docker engine answers and IOTEMU_REQUIRE_ALL=1, and
// skips it otherwise.
func requireDocker(t *testing.T) {
	t.Helper()
	err := dockerHealth()
	if err == nil {
		return
	}
	if os.Getenv("IOTEMU_REQUIRE_ALL") == "1" {
		t.Fatalf("no Docker engine, and IOTEMU_REQUIRE_ALL=1: %v", err)
	}
	t.Skipf("no Docker engine: %v", err)
}

// dockerHealth asks the engine whether it runs; a missing engine can also panic in
// testcontainers-go.
func dockerHealth() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	provider, err := testcontainers.ProviderDocker.GetProvider()
	if err != nil {
		return err
	}
	defer provider.Close()
	return provider.Health(context.Background())
}

var imageOnce = sync.OnceValues(func() (string, error) {
	img := os.Getenv("IOTEMU_IMAGE")
	if img == "" {
		img = defaultImage
	}
	ctx := context.Background()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return "", err
	}
	defer cli.Close()
	if _, err := cli.ImageInspect(ctx, img); err == nil {
		return img, nil
	}
	if img != defaultImage {
		return "", fmt.Errorf("image %s (IOTEMU_IMAGE) not found: build it first", img)
	}
	cmd := exec.Command(filepath.Join("..", "scripts", "docker-build"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("image %s not found, and scripts/docker-build failed: %v\n%s", img, err, out)
	}
	return img, nil
})

// requireImage returns the emulator's image, building it with scripts/docker-build when the
// default one is missing.
func requireImage(t *testing.T) string {
	t.Helper()
	requireDocker(t)
	img, err := imageOnce()
	if err != nil {
		t.Fatal(err)
	}
	return img
}

var authorizerOnce = sync.OnceValues(func() (string, error) {
	out := filepath.Join(buildDir, "bootstrap")
	ctx := context.Background()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return "", err
	}
	defer cli.Close()
	v, err := cli.ServerVersion(ctx)
	if err != nil {
		return "", fmt.Errorf("docker version: %w", err)
	}
	cmd := exec.Command("go", "build", "-o", out, "./examples/authorizer")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+v.Arch)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build examples/authorizer: %v\n%s", err, msg)
	}
	return out, nil
})

// exampleAuthorizer builds examples/authorizer as a static Linux binary for the engine.
func exampleAuthorizer(t *testing.T) string {
	t.Helper()
	path, err := authorizerOnce()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// pollHealth asks /health every 5 ms until it answers 200 and returns when it did.
func pollHealth(ctx context.Context, c testcontainers.Container) (time.Time, error) {
	url, err := c.PortEndpoint(ctx, testcontainer.AdminPort, "http")
	if err != nil {
		return time.Time{}, err
	}
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("/health did not answer 200 within 30s (last error: %v)", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// connect connects a paho.mqtt.golang client (MQTT 3.1.1) to addr.
func connect(addr string, tlsConfig *tls.Config, clientID, username string) (mqtt.Client, error) {
	opts := mqtt.NewClientOptions().
		AddBroker("tls://" + addr).
		SetTLSConfig(tlsConfig).
		SetClientID(clientID).
		SetUsername(username).
		SetProtocolVersion(4).
		SetAutoReconnect(false).
		SetConnectTimeout(10 * time.Second)
	client := mqtt.NewClient(opts)
	tok := client.Connect()
	if !tok.WaitTimeout(15 * time.Second) {
		return nil, errors.New("connect: no answer")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	return client, nil
}

// roundTrip subscribes to topic, publishes to it and waits for the message.
func roundTrip(t *testing.T, client mqtt.Client, topic string) {
	t.Helper()
	got := make(chan string, 1)
	sub := client.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) })
	if !sub.WaitTimeout(10*time.Second) || sub.Error() != nil {
		t.Fatalf("subscribe to %s: %v", topic, sub.Error())
	}
	if code := sub.(*mqtt.SubscribeToken).Result()[topic]; code == 0x80 {
		t.Fatalf("subscribe to %s refused", topic)
	}
	pub := client.Publish(topic, 1, false, "ping")
	if !pub.WaitTimeout(10*time.Second) || pub.Error() != nil {
		t.Fatalf("publish to %s: %v", topic, pub.Error())
	}
	select {
	case m := <-got:
		if m != "ping" {
			t.Errorf("received %q, want ping", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the message published to %s did not come back", topic)
	}
}

// waitEvent waits up to 10 s for an event of the emulator's log.
func waitEvent(t *testing.T, c *testcontainer.Container, match func(testcontainer.Event) bool) testcontainer.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := c.WaitForEvent(ctx, match)
	if err != nil {
		events, _ := c.Events(context.Background())
		t.Fatalf("%v; events:\n%s", err, describe(events))
	}
	return e
}

// waitTrace waits up to 10 s for a step of the emulator's decision trace.
func waitTrace(t *testing.T, c *testcontainer.Container, match func(testcontainer.Trace) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		traces, err := c.Traces(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range traces {
			if match(tr) {
				t.Logf("trace: %s: %s", tr.Step, tr.Message)
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching trace among %d", len(traces))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// describe lists events one a line, for failure messages.
func describe(events []testcontainer.Event) string {
	lines := make([]string, 0, len(events))
	for _, e := range events {
		lines = append(lines, fmt.Sprintf("  %s %s client=%s reason=%s", e.EventType, e.Status, e.ClientID, e.Reason))
	}
	return strings.Join(lines, "\n")
}
