// Package emulator runs a local stand-in for the AWS IoT Core data endpoint with custom
// authentication: TLS listeners that apply AWS's SNI, ALPN and port rules, the account's
// custom authorizers, and an MQTT broker that enforces the policies they return. Devices reach
// it as they reach AWS on port 443: MQTT with ALPN mqtt, MQTT over WebSockets
// (wss://ENDPOINT/mqtt) and the HTTPS publish (POST https://ENDPOINT/topics/TOPIC). Devices
// with X.509 client certificates connect on 8883, on 443 with ALPN x-amzn-mqtt-ca, and publish
// over HTTPS on 8443, under the named policies attached to their registered certificates
// (Account, IssueDevice).
//
// Start one in a test the way net/http/httptest starts a server, and connect a device with
// paho (Example_deviceTest shows the signing key, the token and the credentials):
//
//	emu := emulator.NewTest(t, cfg)
//	client := mqtt.NewClient(emu.MQTTOptions("device-1", creds))
package emulator

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/iotemu/iotemu/emulator/certauth"
	"github.com/iotemu/iotemu/emulator/clock"
	"github.com/iotemu/iotemu/emulator/controlplane"
	"github.com/iotemu/iotemu/emulator/customauth"
	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/internal/broker"
	"github.com/iotemu/iotemu/internal/certs"
	"github.com/iotemu/iotemu/internal/console"
	"github.com/iotemu/iotemu/internal/gateway"
	"github.com/iotemu/iotemu/internal/socks"
	"github.com/iotemu/iotemu/lambdarunner"
)

// Port is a logical port of the AWS IoT data endpoint.
type Port = gateway.Role

// The logical ports.
const (
	Port443  = gateway.Role443
	Port8883 = gateway.Role8883
	Port8443 = gateway.Role8443
)

// Options are the parts of an emulator's setup that are not configuration.
type Options struct {
	// Stdout receives the human or JSON log stream chosen by Config.Log.Format (default: none).
	Stdout io.Writer
	// Logger receives the emulator's own diagnostics (default: discarded).
	Logger *slog.Logger
	// Clock is the emulator's time for every timer (refresh, disconnect, HTTP caching): nil is
	// the real clock; a *clock.Virtual (tests) or *clock.Adjustable (a running server) lets
	// Advance and the admin endpoint move it forward.
	Clock clock.Clock
	// LogMemoryBytes bounds the in-memory log (Logs) in bytes: the newest records are kept
	// (see iotlog.Memory); 0 means iotlog.DefaultMemoryBytes.
	LogMemoryBytes int64
}

// Emulator is a running emulated data endpoint.
type Emulator struct {
	cfg      Config
	logger   *slog.Logger
	clock    clock.Clock
	ca       *certs.CA
	gw       *gateway.Gateway
	broker   *broker.Broker
	proxy    *socks.Server
	admin    *httpServer
	console  *console.Console // served on the admin endpoint
	api      *httpServer
	registry *registry
	keys     *keyring
	certs    *certauth.Registry
	issuer   *certauth.Issuer
	log      *iotlog.Logger
	memory   *iotlog.Memory
	closers  []io.Closer

	closeOnce sync.Once
	closeErr  error
}

// Start validates cfg, binds every listener and starts serving. Close releases everything.
func Start(cfg Config, opts Options) (_ *Emulator, err error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("emulator config: %w", err)
	}
	cfg = cfg.withDefaults()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	e := &Emulator{cfg: cfg, logger: opts.Logger, clock: opts.Clock, memory: iotlog.NewMemoryBytes(opts.LogMemoryBytes)}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if err := e.setupLog(opts.Stdout); err != nil {
		return nil, err
	}
	if cfg.DataDir != "" {
		e.ca, err = certs.LoadOrCreateCA(cfg.DataDir, opts.Logger)
	} else {
		e.ca, err = certs.NewCA()
	}
	if err != nil {
		return nil, err
	}
	if err := e.setupRegistry(); err != nil {
		return nil, err
	}
	if err := e.setupCertificates(); err != nil {
		return nil, err
	}
	cert, err := e.ca.Issue(append(e.Endpoints(), "*.iot."+cfg.Region+".amazonaws.com", "localhost"), []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback})
	if err != nil {
		return nil, err
	}
	e.broker, err = broker.New(broker.Config{
		Region:             cfg.Region,
		AccountID:          cfg.AccountID,
		Auth:               &customauth.Authenticator{Registry: e.registry, ShowSecrets: cfg.Log.ShowSecrets},
		Certs:              e.certs,
		Log:                e.log,
		FirstPacketTimeout: cfg.FirstPacketTimeout,
		OutboundQuotas:     cfg.OutboundQuotas,
		Clock:              opts.Clock,
		Logger:             opts.Logger,
	})
	if err != nil {
		return nil, err
	}
	e.certs.OnChange(e.broker.RecheckCertificates)
	e.gw, err = gateway.Start(gateway.Config{
		Listen:           cfg.Listen.addrs(),
		Certificate:      cert,
		Endpoints:        e.Endpoints(),
		MQTT:             e.broker.ServeConn,
		HTTP:             http.HandlerFunc(e.broker.ServeHTTPS),
		Refused:          e.refused,
		HandshakeTimeout: cfg.HandshakeTimeout,
		Logger:           opts.Logger,

		AcceptHostWithoutSNI: cfg.Inferred.AcceptHostWithoutSNI,
		IgnoreHostWithSNI:    cfg.Inferred.IgnoreHostWithSNI,
	})
	if err != nil {
		return nil, err
	}
	if cfg.Listen.Proxy != "" {
		ports := map[string]string{}
		for _, role := range gateway.Roles {
			if a := e.gw.Addr(role); a != nil {
				ports[string(role)] = a.String()
			}
		}
		e.proxy, err = socks.Listen(cfg.Listen.Proxy, ports, opts.Logger)
		if err != nil {
			return nil, err
		}
	}
	if cfg.Listen.Admin != "" {
		if e.admin, err = startAdmin(cfg.Listen.Admin, e); err != nil {
			return nil, err
		}
	}
	if cfg.Listen.API != "" {
		if e.api, err = e.serveHTTP(cfg.Listen.API, "control plane", controlplane.New(apiBackend{e})); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (e *Emulator) setupRegistry() error {
	e.keys = &keyring{baseDir: e.cfg.baseDir, dataDir: e.cfg.DataDir, private: map[string]*rsa.PrivateKey{}}
	e.registry = &registry{
		authorizers: map[string]*customauth.Authorizer{},
		functions:   map[string]*lambdarunner.Function{},
		region:      e.cfg.Region,
		account:     e.cfg.AccountID,
	}
	for _, f := range e.cfg.Functions {
		fn, err := e.newFunction(f)
		if err != nil {
			return fmt.Errorf("function %s: %w", f.Name, err)
		}
		e.registry.functions[f.Name] = fn
	}
	for _, a := range e.cfg.Authorizers {
		ca := &customauth.Authorizer{
			Name:                 a.Name,
			FunctionARN:          functionARN(a.FunctionARN, e.cfg.Region, e.cfg.AccountID),
			TokenKeyName:         a.TokenKeyName,
			SigningDisabled:      a.SigningDisabled,
			Status:               customauth.Status(a.Status),
			EnableCachingForHTTP: a.EnableCachingForHTTP,
			CreationDate:         e.clock.Now(),
		}
		ca.LastModifiedDate = ca.CreationDate
		if len(a.TokenSigningPublicKeys) > 0 {
			ca.TokenSigningPublicKeys = map[string]string{}
		}
		for name, value := range a.TokenSigningPublicKeys {
			pemText, err := e.keys.publicPEM(value)
			if err != nil {
				return fmt.Errorf("authorizer %s: key %s: %w", a.Name, name, err)
			}
			ca.TokenSigningPublicKeys[name] = pemText
		}
		if err := ca.Validate(); err != nil {
			return fmt.Errorf("authorizer %s: %w", a.Name, err)
		}
		e.registry.setAuthorizer(ca)
	}
	e.registry.setDefault(e.cfg.DefaultAuthorizer)
	return nil
}

// newFunction builds a function of any kind with its permissions, timeout and log.
func (e *Emulator) newFunction(f Function) (*lambdarunner.Function, error) {
	arn := "arn:aws:lambda:" + e.cfg.Region + ":" + e.cfg.AccountID + ":function:" + f.Name
	var rt lambdarunner.Runtime
	var err error
	switch f.Kind {
	case KindDemo:
		rt, err = lambdarunner.NewInProcess(demoAuthorizer(e.cfg.Region, e.cfg.AccountID))
	case KindGo:
		rt, err = lambdarunner.NewInProcess(f.Handler)
	case KindExecutable:
		rt, err = lambdarunner.NewExecutable(lambdarunner.ExecutableConfig{
			Name:        f.Name,
			ARN:         arn,
			Region:      e.cfg.Region,
			Path:        e.path(f.Path),
			Args:        f.Args,
			Env:         f.Environment,
			MemoryMB:    f.MemorySize,
			Concurrency: f.Concurrency,
			Logger:      e.logger,
		})
	case KindRemote:
		name := f.RemoteName
		if name == "" {
			name = f.Name
		}
		rt, err = lambdarunner.NewRemote(lambdarunner.RemoteConfig{URL: f.URL, FunctionName: name, Region: e.cfg.Region})
	}
	if err != nil {
		return nil, err
	}
	return lambdarunner.NewFunction(lambdarunner.FunctionConfig{
		Name:     f.Name,
		ARN:      arn,
		Runtime:  rt,
		Timeout:  f.Timeout,
		MemoryMB: f.MemorySize,
		Policy:   &lambdarunner.ResourcePolicy{Statements: f.permissions(e.cfg.Region, e.cfg.AccountID)},
		Log: func(l lambdarunner.LogLine) {
			e.log.FunctionLine(iotlog.FunctionLine{Time: l.Time, LogGroup: l.LogGroup, RequestID: l.RequestID, Message: l.Text})
		},
	})
}

// Invoke invokes a declared function directly with event, as the Lambda console's Test
// button does: no authorizer, no signature check and no resource-based policy in the way. It
// returns the raw answer, or the function's error (a *lambdarunner.FunctionError when the
// function itself failed) after the function's timeout at most.
func (e *Emulator) Invoke(ctx context.Context, function string, event []byte) ([]byte, error) {
	fn, ok := e.registry.function(function)
	if !ok {
		return nil, fmt.Errorf("invoke: no function %q", function)
	}
	return fn.Invoke(ctx, event)
}

// FunctionMetrics returns the invocation metrics of a function, the troubleshooting guide's
// "check the invocation metrics" step.
func (e *Emulator) FunctionMetrics(name string) (lambdarunner.Metrics, bool) {
	fn, ok := e.registry.function(name)
	if !ok {
		return lambdarunner.Metrics{}, false
	}
	return fn.Metrics(), true
}

// SetPermissions replaces a function's resource-based policy, as Lambda's AddPermission and
// RemovePermission do: an empty list takes AWS IoT's permission away, nil restores the default
// (see Function.Permissions). It applies to the next invocation.
func (e *Emulator) SetPermissions(function string, perms []Permission) error {
	return e.registry.setStatements(function, Function{Permissions: perms}.permissions(e.cfg.Region, e.cfg.AccountID))
}

// Permissions returns a function's resource-based policy, as Lambda's GetPolicy shows it.
func (e *Emulator) Permissions(function string) ([]Permission, error) {
	_, sts, err := e.registry.statements(function)
	if err != nil {
		return nil, err
	}
	return permissionsOf(sts), nil
}

// permissionsOf turns resource-policy statements into Permissions.
func permissionsOf(sts []lambdarunner.Statement) []Permission {
	perms := make([]Permission, 0, len(sts))
	for _, st := range sts {
		perms = append(perms, Permission{Sid: st.Sid, Effect: st.Effect, Principal: st.Principal, Action: st.Action, Condition: st.Condition})
	}
	return perms
}

// refused logs a connection or HTTP request the gateway refused on one of AWS's rules.
func (e *Emulator) refused(r gateway.Refusal) {
	addr := r.Info.Remote.Addr().Unmap().String()
	step, protocol := "tls", iotlog.ProtocolMQTT
	data := map[string]any{"sourceIp": addr, "sourcePort": r.Info.Remote.Port(), "port": string(r.Info.Role), "sni": r.Info.ServerName, "alpn": r.Info.OfferedALPN}
	if r.Info.HTTP != nil {
		step, protocol = "http", iotlog.ProtocolHTTP
		data["host"] = r.Info.HTTP.Host
	}
	e.log.Trace(iotlog.Trace{TraceID: r.TraceID, Step: step, Message: r.Message, Data: data})
	if e.cfg.Inferred.QuietWrongSNI {
		return // AWS (inferred): switch inferred.quietWrongSNI, see Inferred
	}
	var details string
	switch r.Code {
	case gateway.RefuseWrongSNI:
		// AWS: an SNI that names no endpoint of the account is logged as SNI_MISUSED (never
		// when no SNI was sent).
		details = "SNI does not match an endpoint of this account"
	case gateway.RefuseWrongHost:
		// AWS (inferred): an HTTP Host that names no endpoint is logged as a wrong SNI is.
		details = "Host header does not match an endpoint of this account"
	default:
		return
	}
	e.log.Event(iotlog.Event{
		TraceID:            r.TraceID,
		AccountID:          e.cfg.AccountID,
		EventType:          iotlog.EventAuthNError,
		Status:             iotlog.StatusFailure,
		Protocol:           protocol,
		SourceIP:           addr,
		SourcePort:         int(r.Info.Remote.Port()),
		Reason:             iotlog.ReasonSNIMisused,
		Details:            details,
		AuthenticationType: iotlog.AuthenticationTypeCustomAuth,
		ServerName:         r.Info.ServerName,
	}, &iotlog.Who{SourceIP: addr})
}

// path resolves a path from the configuration file's directory.
func (e *Emulator) path(p string) string {
	if filepath.IsAbs(p) || e.cfg.baseDir == "" {
		return p
	}
	return filepath.Join(e.cfg.baseDir, p)
}

// Close stops every listener, disconnects every client and stops every function's processes.
// Calls after the first do nothing.
func (e *Emulator) Close() error {
	e.closeOnce.Do(func() { e.closeErr = e.close() })
	return e.closeErr
}

func (e *Emulator) close() error {
	var errs []error
	if e.api != nil {
		errs = append(errs, e.api.Close())
	}
	if e.console != nil {
		e.console.Close() // ends its live streams, which would hold the admin server open
	}
	if e.admin != nil {
		errs = append(errs, e.admin.Close())
	}
	if e.proxy != nil {
		errs = append(errs, e.proxy.Close())
	}
	if e.gw != nil {
		errs = append(errs, e.gw.Close())
	}
	if e.broker != nil {
		errs = append(errs, e.broker.Close())
	}
	if e.registry != nil {
		errs = append(errs, e.registry.close())
	}
	e.log.Close() // after everything that logs, before the files it writes
	for _, c := range slices.Backward(e.closers) {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Clock returns the emulator's clock.
func (e *Emulator) Clock() clock.Clock { return e.clock }

// Advance moves the clock forward, running every timer that falls due (authorizer refreshes,
// disconnectAfterInSeconds) before it returns. It fails when the clock cannot be advanced
// (clock.Real); clock.Virtual and clock.Adjustable can.
func (e *Emulator) Advance(d time.Duration) error {
	a, ok := e.clock.(clock.Advancer)
	if !ok {
		return errors.New("the emulator's clock cannot be advanced; start it with Options.Clock set to a clock.Virtual or clock.Adjustable")
	}
	if d < 0 {
		return errors.New("the clock only moves forward")
	}
	a.Advance(d)
	return nil
}

// Endpoint returns the data endpoint, PREFIX-ats.iot.REGION.amazonaws.com.
func (e *Emulator) Endpoint() string {
	return e.cfg.EndpointPrefix + "-ats.iot." + e.cfg.Region + ".amazonaws.com"
}

// Endpoints returns every name the data endpoint answers to: the ATS endpoint first, then the
// legacy (VeriSign) one.
func (e *Emulator) Endpoints() []string {
	return []string{e.Endpoint(), e.cfg.EndpointPrefix + ".iot." + e.cfg.Region + ".amazonaws.com"}
}

// Addr returns the local address serving a logical port, or nil when it is not served.
func (e *Emulator) Addr(p Port) net.Addr { return e.gw.Addr(p) }

// AdminAddr returns the admin endpoint's address, or nil when there is none.
func (e *Emulator) AdminAddr() net.Addr {
	if e.admin == nil {
		return nil
	}
	return e.admin.ln.Addr()
}

// APIAddr returns the control plane's address (Config.Listen.API), or nil when there is none.
func (e *Emulator) APIAddr() net.Addr {
	if e.api == nil {
		return nil
	}
	return e.api.ln.Addr()
}

// ProxyAddr returns the proxy's address (SOCKS5 and HTTP CONNECT), or nil when there is none.
func (e *Emulator) ProxyAddr() net.Addr {
	if e.proxy == nil {
		return nil
	}
	return e.proxy.Addr()
}

// CAPEM returns the emulator's CA certificate in PEM form.
func (e *Emulator) CAPEM() []byte { return e.ca.PEM() }

// CACertPool returns a pool that trusts the emulator's CA.
func (e *Emulator) CACertPool() *x509.CertPool { return e.ca.Pool() }

// WriteCAFile writes the CA certificate to path, for clients that want a file (mosquitto's
// --cafile, curl's --cacert).
func (e *Emulator) WriteCAFile(path string) error {
	if err := os.WriteFile(path, e.ca.PEM(), 0o644); err != nil {
		return fmt.Errorf("write CA file: %w", err)
	}
	return nil
}

// ClientTLSConfig returns a TLS configuration for a device connecting with MQTT and custom
// authentication: it trusts the emulator's CA, sends the data endpoint as SNI, and offers ALPN
// mqtt, as AWS requires on port 443. Change the fields to reproduce a misconfigured device.
func (e *Emulator) ClientTLSConfig() *tls.Config {
	return &tls.Config{
		RootCAs:    e.ca.Pool(),
		ServerName: e.Endpoint(),
		NextProtos: []string{gateway.ALPNMQTT},
		MinVersion: tls.VersionTLS12,
	}
}

// SigningKey returns the private half of a "generated:NAME" token signing key, to sign tokens
// as a device would.
func (e *Emulator) SigningKey(name string) (*rsa.PrivateKey, bool) {
	k, ok := e.keys.private[name]
	return k, ok
}

// SignToken signs token with a "generated:NAME" key: the value of
// x-amz-customauthorizer-signature, before URL encoding.
func (e *Emulator) SignToken(keyName, token string) (string, error) {
	k, ok := e.SigningKey(keyName)
	if !ok {
		return "", fmt.Errorf("no generated signing key %q", keyName)
	}
	return customauth.Sign(k, token)
}

// addrs maps each served role to its address.
func (l Listen) addrs() map[gateway.Role]string {
	m := map[gateway.Role]string{}
	for role, a := range map[gateway.Role]string{gateway.Role443: l.MQTT443, gateway.Role8883: l.MQTT8883, gateway.Role8443: l.HTTP8443} {
		switch a {
		case "off":
		case "":
			m[role] = "127.0.0.1:0"
		default:
			m[role] = a
		}
	}
	return m
}
