// Package testcontainer runs iotemu, the AWS IoT Core custom authentication emulator, in a
// container for Go tests, with testcontainers-go:
//
//	c, err := testcontainer.Run(ctx, "iotemu:dev",
//		testcontainer.WithAuthorizer("./bootstrap"), // your authorizer, a static Linux binary
//		testcontainer.WithEnv(map[string]string{"AUTHORIZER_TOKEN": "s3cret"}))
//	testcontainers.CleanupContainer(t, c)
//	tlsConfig, err := c.ClientTLSConfig(ctx) // trusts the emulator's CA, SNI = the endpoint
//	url, err := c.MQTTURL(ctx)               // tls://host:port of the 443 role
//
// The image is built locally by scripts/docker-build (there is no published image). It is a
// FROM scratch image, so readiness is an HTTP check of the admin endpoint's /health, not a
// shell command. It works with the Ryuk reaper disabled (TESTCONTAINERS_RYUK_DISABLED=true):
// terminate the container yourself, as testcontainers.CleanupContainer does.
package testcontainer

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/docker/go-connections/nat"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	"github.com/testcontainers/testcontainers-go/wait"
	"gopkg.in/yaml.v3"
)

// Paths and ports inside the container. A configuration given WithConfigFile must keep the
// listen addresses of the image's own (docker/iotemu.yaml): 0.0.0.0:443, 0.0.0.0:8883,
// 0.0.0.0:8443 and admin 0.0.0.0:9081.
const (
	// ConfigPath is the configuration the emulator reads.
	ConfigPath = "/etc/iotemu/iotemu.yaml"
	// AuthorizerPath is where WithAuthorizer copies the authorizer executable.
	AuthorizerPath = "/opt/authorizer/bootstrap"
	// DataDir holds the CA (ca.pem) and the generated signing keys; Run passes it as -data-dir,
	// so it wins over a configuration's dataDir.
	DataDir = "/data"
	// AdminPort serves GET /health, /metrics and POST /clock/advance.
	AdminPort = "9081/tcp"
)

// The logical ports of the data endpoint, as Address takes them.
const (
	// Port443 takes MQTT with custom authentication (ALPN mqtt) and HTTPS.
	Port443 = "443"
	// Port8883 takes MQTT with X.509 client certificates only.
	Port8883 = "8883"
	// Port8443 takes HTTPS with X.509 client certificates only.
	Port8443 = "8443"
)

// ALPNMQTT is the ALPN protocol a device offers for MQTT with custom authentication on 443.
const ALPNMQTT = "mqtt"

// Container is a running emulator.
type Container struct {
	testcontainers.Container
	endpoint string
}

// Run creates and starts an emulator from img (for example "iotemu:dev", built by
// scripts/docker-build) and waits until its /health answers. Without options it runs the
// image's own configuration: the built-in demo authorizer "iotemu-demo" (token "allow",
// signed with the generated key "demo-signing-key"). opts may mix this package's options with
// testcontainers-go's own.
//
// As with testcontainers-go's modules, the Container is returned with the error when it was
// created, so that it can still be terminated.
func Run(ctx context.Context, img string, opts ...testcontainers.ContainerCustomizer) (*Container, error) {
	var s settings
	for _, opt := range opts {
		if o, ok := opt.(Option); ok {
			if err := o(&s); err != nil {
				return nil, fmt.Errorf("run iotemu: %w", err)
			}
		}
	}
	files, err := s.files()
	if err != nil {
		return nil, fmt.Errorf("run iotemu: %w", err)
	}
	moduleOpts := []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts(Port443+"/tcp", Port8883+"/tcp", Port8443+"/tcp", AdminPort),
		testcontainers.WithCmd("serve", "-config", ConfigPath, "-data-dir", DataDir),
		testcontainers.WithFiles(files...),
		// A scratch image has no shell for the listening-port check: ask the emulator.
		testcontainers.WithWaitStrategy(wait.ForHTTP("/health").WithPort(AdminPort).
			WithPollInterval(50 * time.Millisecond).WithStartupTimeout(30 * time.Second)),
	}
	ctr, err := testcontainers.Run(ctx, img, append(moduleOpts, opts...)...)
	var c *Container
	if ctr != nil {
		c = &Container{Container: ctr}
	}
	if err != nil {
		return c, fmt.Errorf("run iotemu: %w", err)
	}
	if c.endpoint, err = c.readEndpoint(ctx); err != nil {
		return c, fmt.Errorf("run iotemu: %w", err)
	}
	return c, nil
}

// readEndpoint works out the data endpoint from the configuration in the container, with the
// emulator's defaults.
func (c *Container) readEndpoint(ctx context.Context) (string, error) {
	data, err := c.readFile(ctx, ConfigPath)
	if err != nil {
		return "", err
	}
	cfg := struct {
		Region         string `yaml:"region"`
		EndpointPrefix string `yaml:"endpointPrefix"`
	}{Region: "us-east-1", EndpointPrefix: "a1b2c3d4e5f6g7"}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return "", fmt.Errorf("%s: %w", ConfigPath, err)
	}
	return cfg.EndpointPrefix + "-ats.iot." + cfg.Region + ".amazonaws.com", nil
}

// DataEndpoint returns the data endpoint's name, PREFIX-ats.iot.REGION.amazonaws.com: what a
// device sends as SNI. (It is not called Endpoint, which testcontainers.Container already
// defines.)
func (c *Container) DataEndpoint() string { return c.endpoint }

// Address returns the host:port on the host for a logical port of the data endpoint:
// Port443, Port8883 or Port8443.
func (c *Container) Address(ctx context.Context, port string) (string, error) {
	switch port {
	case Port443, Port8883, Port8443:
	default:
		return "", fmt.Errorf("iotemu: port %q is not one of %s, %s, %s", port, Port443, Port8883, Port8443)
	}
	return c.PortEndpoint(ctx, nat.Port(port+"/tcp"), "")
}

// MQTTURL returns the broker URL of the 443 role for paho.mqtt.golang: tls://host:port. Use it
// with ClientTLSConfig, which sends the endpoint as SNI and offers ALPN mqtt.
func (c *Container) MQTTURL(ctx context.Context) (string, error) {
	addr, err := c.Address(ctx, Port443)
	if err != nil {
		return "", err
	}
	return "tls://" + addr, nil
}

// AdminURL returns the admin endpoint's base URL on the host, http://host:port: GET /health,
// GET /metrics, and POST /clock/advance?by=301s to run refresh and disconnect timers now.
func (c *Container) AdminURL(ctx context.Context) (string, error) {
	return c.PortEndpoint(ctx, AdminPort, "http")
}

// ClientTLSConfig returns the TLS configuration of a device using custom authentication: it
// trusts the emulator's CA (read from the container), names the data endpoint as SNI, whatever
// address it dials, and offers ALPN mqtt. Change the fields to reproduce a misconfigured device.
func (c *Container) ClientTLSConfig(ctx context.Context) (*tls.Config, error) {
	pemBytes, err := c.readFile(ctx, path.Join(DataDir, "ca.pem"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, errors.New("iotemu: no certificate in the container's ca.pem")
	}
	return &tls.Config{
		RootCAs:    pool,
		ServerName: c.endpoint,
		NextProtos: []string{ALPNMQTT},
		MinVersion: tls.VersionTLS12,
	}, nil
}

// SignToken signs token with the generated signing key keyName, as a device does: the value of
// x-amz-customauthorizer-signature before URL encoding (MQTTUsername encodes it). It runs
// `iotemu sign` in the container, so the private key never leaves it.
func (c *Container) SignToken(ctx context.Context, keyName, token string) (string, error) {
	code, out, err := c.Exec(ctx, []string{"/iotemu", "sign", "-data-dir", DataDir, "-key", keyName, "-raw", "-token", token}, tcexec.Multiplexed())
	if err != nil {
		return "", fmt.Errorf("iotemu: sign: %w", err)
	}
	text, err := io.ReadAll(out)
	if err != nil {
		return "", fmt.Errorf("iotemu: sign: %w", err)
	}
	if code != 0 {
		return "", fmt.Errorf("iotemu: sign: exit status %d: %s", code, bytes.TrimSpace(text))
	}
	return strings.TrimSpace(string(text)), nil
}

// MQTTUsername returns the MQTT username that carries custom authentication:
// ?x-amz-customauthorizer-name=AUTHORIZER&TOKENKEYNAME=TOKEN&x-amz-customauthorizer-signature=SIGNATURE,
// every value URL-encoded as AWS requires. An empty authorizer (the account's default) or
// signature (signing disabled) is left out.
func MQTTUsername(authorizer, tokenKeyName, token, signature string) string {
	q := url.Values{}
	if authorizer != "" {
		q.Set("x-amz-customauthorizer-name", authorizer)
	}
	q.Set(tokenKeyName, token)
	if signature != "" {
		q.Set("x-amz-customauthorizer-signature", signature)
	}
	return "?" + q.Encode()
}

// readFile copies one file out of the container.
func (c *Container) readFile(ctx context.Context, name string) ([]byte, error) {
	rc, err := c.CopyFileFromContainer(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("iotemu: read %s from the container: %w", name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("iotemu: read %s from the container: %w", name, err)
	}
	return data, nil
}
