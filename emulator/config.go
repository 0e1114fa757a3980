package emulator

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/iotemu/iotemu/emulator/customauth"
	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/internal/yamlpos"
	"github.com/iotemu/iotemu/lambdarunner"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the embedded default configuration that `iotemu serve` runs without a
// config file.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// Config describes one emulated AWS account's IoT data endpoint. The same type is read from
// YAML (field names as in the YAML keys) and built in Go.
type Config struct {
	// AccountID is the 12-digit AWS account (default 123456789012).
	AccountID string `yaml:"accountId"`
	// Region is the AWS region (default us-east-1).
	Region string `yaml:"region"`
	// EndpointPrefix is the account-specific part of the data endpoint: the endpoint is
	// PREFIX-ats.iot.REGION.amazonaws.com, and PREFIX.iot.REGION.amazonaws.com is the legacy one.
	EndpointPrefix string `yaml:"endpointPrefix"`
	// Listen binds each logical AWS port to a local address.
	Listen Listen `yaml:"listen"`
	// DataDir keeps the CA and generated signing keys across runs. Empty: everything lives in
	// memory and is made anew at each start.
	DataDir string `yaml:"dataDir"`
	// Authorizers are the account's custom authorizers.
	Authorizers []Authorizer `yaml:"authorizers"`
	// DefaultAuthorizer names the authorizer used when a device names none.
	DefaultAuthorizer string `yaml:"defaultAuthorizer"`
	// Functions are the Lambda functions authorizers invoke.
	Functions []Function `yaml:"functions"`
	// Policies, Things, CACertificates and Certificates are the account's X.509 side: named
	// IoT policies, things, registered CA certificates and device certificates.
	Policies       []Policy        `yaml:"policies"`
	Things         []Thing         `yaml:"things"`
	CACertificates []CACertificate `yaml:"caCertificates"`
	Certificates   []Certificate   `yaml:"certificates"`
	// Log chooses where events and traces go.
	Log LogConfig `yaml:"log"`
	// HandshakeTimeout bounds the TLS handshake, and FirstPacketTimeout the wait for the first
	// MQTT packet, so that a silent client cannot hold a socket (default 10 s each).
	HandshakeTimeout   time.Duration `yaml:"handshakeTimeout"`
	FirstPacketTimeout time.Duration `yaml:"firstPacketTimeout"`
	// OutboundQuotas applies AWS's per-connection quotas to what each device is sent: at most
	// 100 publishes per second (more are dropped and logged as failed Publish-Out events) and
	// 512 KiB per second (more is delayed). Off by default.
	OutboundQuotas bool `yaml:"outboundQuotas"`
	// Inferred switches iotemu's reading where AWS's documentation is silent or conflicts.
	Inferred Inferred `yaml:"inferred"`

	// baseDir resolves relative paths of a config file.
	baseDir string
}

// Listen maps the logical ports of the data endpoint to local addresses. An empty address
// means 127.0.0.1 with a free port; "off" leaves the role unserved.
type Listen struct {
	MQTT443  string `yaml:"443"`
	MQTT8883 string `yaml:"8883"`
	HTTP8443 string `yaml:"8443"`
	// Proxy is a proxy (SOCKS5, and HTTP CONNECT on the same port) that resolves every host
	// name to this emulator, so that clients can connect by the real endpoint name (and send
	// it as SNI) without DNS changes. Empty: no proxy.
	Proxy string `yaml:"proxy"`
	// Admin serves the admin HTTP endpoint (health, clock, metrics). Keep it on loopback: it
	// can move the emulator's clock. Empty: none.
	Admin string `yaml:"admin"`
	// API serves the control plane: the AWS IoT authorizer operations and Lambda's permission
	// operations, for the aws CLI's --endpoint-url and the AWS SDKs (see package
	// controlplane). It does not check credentials: keep it on loopback. Empty: none.
	API string `yaml:"api"`
	// AllowedHosts are host names, besides localhost and IP addresses, that requests to the
	// admin endpoint and the control plane may name in their Host header: the emulator's
	// name on a Docker network, for instance. Other names are refused, so that a web page
	// cannot reach them by DNS rebinding.
	AllowedHosts []string `yaml:"allowedHosts"`
}

// Authorizer is an AWS IoT custom authorizer, with the field names of AWS's
// DescribeAuthorizer output.
type Authorizer struct {
	Name        string `yaml:"authorizerName"`
	FunctionARN string `yaml:"authorizerFunctionArn"`
	// TokenKeyName names the parameter that carries the token.
	TokenKeyName string `yaml:"tokenKeyName"`
	// TokenSigningPublicKeys maps key names to an RSA public key: PEM text, a path to a PEM file
	// (a public key, or a private key whose public half is used), or "generated:NAME" for a key
	// pair NAME.pem that the emulator creates in DataDir when missing.
	TokenSigningPublicKeys map[string]string `yaml:"tokenSigningPublicKeys"`
	// Status is ACTIVE (default) or INACTIVE.
	Status               string `yaml:"status"`
	SigningDisabled      bool   `yaml:"signingDisabled"`
	EnableCachingForHTTP bool   `yaml:"enableCachingForHttp"`
}

// Function is a Lambda function an authorizer can invoke.
type Function struct {
	// Name is the function name; its ARN is arn:aws:lambda:REGION:ACCOUNT:function:NAME.
	Name string `yaml:"name"`
	// Kind is "executable" (Path: a bootstrap binary run behind the emulator's own Lambda
	// Runtime API), "remote" (URL: an Invoke API such as AWS's Runtime Interface Emulator or SAM
	// local), "go" (Handler, from the Go API) or "demo" (the built-in demo authorizer).
	Kind string `yaml:"kind"`
	// Handler is the in-process handler for kind "go": anything aws-lambda-go's lambda.Start
	// accepts.
	Handler any `yaml:"-"`
	// Path and Args run kind "executable": a static Linux binary, as provided.al2023 runs it
	// (a relative path is resolved from the config file's directory).
	Path string   `yaml:"path"`
	Args []string `yaml:"args"`
	// Environment is added to the environment Lambda gives the function (kind "executable").
	Environment map[string]string `yaml:"environment"`
	// Concurrency is how many instances may run at once (kind "executable", default 10);
	// beyond it invocations are throttled, as Lambda throttles.
	Concurrency int `yaml:"concurrency"`
	// URL is the Invoke API's base URL for kind "remote", e.g. http://127.0.0.1:9000 for
	// aws-lambda-rie; RemoteName is the function's name there (RIE serves "function"; default:
	// Name).
	URL        string `yaml:"url"`
	RemoteName string `yaml:"remoteName"`
	// Timeout is the function's own timeout (default and at most 5 s: AWS IoT cuts an
	// authorizer at 5 s whatever its timeout).
	Timeout time.Duration `yaml:"timeout"`
	// MemorySize in MB, as reported in REPORT lines and to the function (default 128). On
	// Linux an executable function that uses more resident memory is killed, as Lambda does.
	MemorySize int `yaml:"memorySize"`
	// Permissions is the function's resource-based policy. Absent (nil), the function gets the
	// statement `aws lambda add-permission --principal iot.amazonaws.com` would add for every
	// authorizer of the account; an empty list takes the permission away, which reproduces the
	// "no invocations" troubleshooting case.
	Permissions []Permission `yaml:"permissions"`
}

// Permission is one statement of a function's resource-based policy, with the field names of
// Lambda's policy JSON.
type Permission struct {
	Sid       string `yaml:"sid"`
	Effect    string `yaml:"effect"`    // Allow (default) or Deny
	Principal string `yaml:"principal"` // e.g. iot.amazonaws.com
	Action    string `yaml:"action"`    // default lambda:InvokeFunction
	// Condition maps an operator (ArnLike, ArnEquals, StringEquals, StringLike) to keys
	// (AWS:SourceArn, AWS:SourceAccount) and values.
	Condition map[string]map[string]string `yaml:"condition"`
}

// permissions returns the function's resource-based policy statements.
func (f Function) permissions(region, account string) []lambdarunner.Statement {
	if f.Permissions == nil {
		st := lambdarunner.IoTStatement("iotemu-default-iot-invoke", "arn:aws:iot:"+region+":"+account+":authorizer/*")
		st.Condition["StringEquals"] = map[string]string{"AWS:SourceAccount": account}
		return []lambdarunner.Statement{st}
	}
	out := make([]lambdarunner.Statement, 0, len(f.Permissions))
	for _, p := range f.Permissions {
		st := lambdarunner.Statement{Sid: p.Sid, Effect: p.Effect, Principal: p.Principal, Action: p.Action, Condition: p.Condition}
		if st.Effect == "" {
			st.Effect = "Allow"
		}
		if st.Action == "" {
			st.Action = lambdarunner.ActionInvoke
		}
		out = append(out, st)
	}
	return out
}

// LogConfig chooses the log sinks.
type LogConfig struct {
	// Format of standard output: "text" (for humans, default), "json" (AWS's JSON lines), or
	// "off".
	Format string `yaml:"format"`
	// File, when set, receives every event and trace as JSON lines.
	File string `yaml:"file"`
	// Verbose makes the text format write every step of the decision trace with its data,
	// instead of one line per event and the step that decided it (serve -v).
	Verbose bool `yaml:"verbose"`
	// ShowSecrets writes tokens, signatures and passwords in full in the decision trace, for
	// local debugging only. By default they are shown as a short hash that correlates
	// connections (a signature as its first and last characters): CI logs are read by many.
	ShowSecrets bool `yaml:"showSecrets"`
	// Level is AWS IoT's defaultLogLevel: DEBUG, INFO (the default), WARN, ERROR or
	// DISABLED. It filters the AWS events (not iotemu's decision trace), as on AWS.
	Level string `yaml:"level"`
	// DisableAllLogs is AWS IoT's disableAllLogs: no AWS event is written.
	DisableAllLogs bool `yaml:"disableAllLogs"`
	// Targets are AWS IoT's resource-specific logging levels (SetV2LoggingLevel).
	Targets []LogTarget `yaml:"targets"`
}

// LogTarget is one resource-specific logging level.
type LogTarget struct {
	// TargetType is CLIENT_ID, SOURCE_IP, PRINCIPAL_ID or THING_GROUP (kept, but it matches
	// no connection until the emulator has things).
	TargetType string `yaml:"targetType"`
	TargetName string `yaml:"targetName"`
	LogLevel   string `yaml:"logLevel"`
}

// levels compiles the logging levels of the configuration.
func (c LogConfig) levels() (iotlog.Levels, error) {
	l := iotlog.Levels{DisableAll: c.DisableAllLogs}
	if c.Level != "" {
		lvl, err := iotlog.ParseLevel(c.Level)
		if err != nil {
			return l, fmt.Errorf("log.level: %w", err)
		}
		l.Default = lvl
	}
	for i, t := range c.Targets {
		typ, err := iotlog.ParseTargetType(t.TargetType)
		if err == nil && (typ == iotlog.TargetDefault || t.TargetName == "") {
			err = errors.New("a target needs a targetType other than DEFAULT and a targetName")
		}
		if err != nil {
			return l, fmt.Errorf("log.targets[%d]: %w", i, err)
		}
		lvl, err := iotlog.ParseLevel(t.LogLevel)
		if err != nil {
			return l, fmt.Errorf("log.targets[%d]: %w", i, err)
		}
		if l.Targets == nil {
			l.Targets = make(map[iotlog.Target]iotlog.Level)
		}
		l.Targets[iotlog.Target{Type: typ, Name: t.TargetName}] = lvl
	}
	return l, nil
}

// Function kinds.
const (
	KindExecutable = "executable"
	KindRemote     = "remote"
	KindGo         = "go"
	KindDemo       = "demo"
)

// ParseConfig decodes a YAML configuration strictly: an unknown key or a wrong type is an
// error that names its line; a syntax error names its line and column. name is used in messages and to resolve relative paths.
func ParseConfig(name string, data []byte) (Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("config %w", yamlpos.Error(name, data, err))
	}
	if name != "" {
		cfg.baseDir = filepath.Dir(name)
	}
	if err := cfg.validate(); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", name, err)
	}
	return cfg, nil
}

// LoadConfig reads and decodes a YAML configuration file.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("load config: %w", err)
	}
	return ParseConfig(path, data)
}

// DefaultConfig returns the embedded default configuration: account 123456789012 in
// us-east-1 with the built-in demo authorizer.
func DefaultConfig() Config {
	cfg, err := ParseConfig("", defaultYAML)
	if err != nil {
		panic("embedded default config: " + err.Error()) // a test covers it
	}
	return cfg
}

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	prefixRE  = regexp.MustCompile(`^[a-z0-9]{1,63}$`)
)

// withDefaults fills what the user left out.
func (c Config) withDefaults() Config {
	if c.AccountID == "" {
		c.AccountID = "123456789012"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.EndpointPrefix == "" {
		c.EndpointPrefix = "a1b2c3d4e5f6g7"
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = 10 * time.Second
	}
	if c.FirstPacketTimeout == 0 {
		c.FirstPacketTimeout = 10 * time.Second
	}
	for i := range c.Authorizers {
		if c.Authorizers[i].Status == "" {
			c.Authorizers[i].Status = string(customauth.StatusActive)
		}
	}
	return c
}

// validate checks what can be checked without touching files.
func (c Config) validate() error {
	c = c.withDefaults()
	var errs []error
	if !accountRE.MatchString(c.AccountID) {
		errs = append(errs, fmt.Errorf("accountId %q is not 12 digits", c.AccountID))
	}
	if !regionRE.MatchString(c.Region) {
		errs = append(errs, fmt.Errorf("region %q is not an AWS region name such as us-east-1", c.Region))
	}
	if !prefixRE.MatchString(c.EndpointPrefix) {
		errs = append(errs, fmt.Errorf("endpointPrefix %q must be lowercase letters and digits", c.EndpointPrefix))
	}
	switch c.Log.Format {
	case "", "text", "json", "off":
	default:
		errs = append(errs, fmt.Errorf("log.format %q is not text, json or off", c.Log.Format))
	}
	if _, err := c.Log.levels(); err != nil {
		errs = append(errs, err)
	}
	functions := map[string]bool{}
	for i, f := range c.Functions {
		switch {
		case f.Name == "":
			errs = append(errs, fmt.Errorf("functions[%d]: name is empty", i))
		case functions[f.Name]:
			errs = append(errs, fmt.Errorf("functions[%d]: function %q declared twice", i, f.Name))
		}
		functions[f.Name] = true
		if f.Timeout < 0 || f.Timeout > lambdarunner.DefaultTimeout {
			errs = append(errs, fmt.Errorf("functions[%d] (%s): timeout %s is not between 0 and 5s (AWS IoT cuts an authorizer at 5 s)", i, f.Name, f.Timeout))
		}
		if err := (&lambdarunner.ResourcePolicy{Statements: f.permissions(c.Region, c.AccountID)}).Validate(); err != nil {
			errs = append(errs, fmt.Errorf("functions[%d] (%s): permissions: %w", i, f.Name, err))
		}
		need := func(ok bool, what string) {
			if !ok {
				errs = append(errs, fmt.Errorf("functions[%d] (%s): kind %s needs %s", i, f.Name, f.Kind, what))
			}
		}
		switch f.Kind {
		case KindDemo:
		case KindGo:
			need(f.Handler != nil, "a Handler (set it from the Go API)")
		case KindExecutable:
			need(f.Path != "", "path (the bootstrap executable)")
		case KindRemote:
			need(f.URL != "", "url (the Invoke API, e.g. http://127.0.0.1:9000 for aws-lambda-rie)")
		default:
			errs = append(errs, fmt.Errorf("functions[%d] (%s): kind %q is not one of: %s, %s, %s, %s", i, f.Name, f.Kind, KindExecutable, KindRemote, KindGo, KindDemo))
		}
	}
	names := map[string]bool{}
	for i, a := range c.Authorizers {
		if names[a.Name] {
			errs = append(errs, fmt.Errorf("authorizers[%d]: authorizer %q declared twice", i, a.Name))
		}
		names[a.Name] = true
		if a.Status != string(customauth.StatusActive) && a.Status != string(customauth.StatusInactive) {
			errs = append(errs, fmt.Errorf("authorizers[%d] (%s): status %q is not ACTIVE or INACTIVE", i, a.Name, a.Status))
		}
		if fn := functionName(a.FunctionARN); !functions[fn] {
			errs = append(errs, fmt.Errorf("authorizers[%d] (%s): authorizerFunctionArn %q names no function declared under functions", i, a.Name, a.FunctionARN))
		}
	}
	if c.DefaultAuthorizer != "" && !names[c.DefaultAuthorizer] {
		errs = append(errs, fmt.Errorf("defaultAuthorizer %q is not one of the authorizers", c.DefaultAuthorizer))
	}
	return errors.Join(errs...)
}

// functionName returns the function name an ARN (or a bare name) refers to:
// arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER].
func functionName(arn string) string {
	var parts [7]string // the first seven fields, without allocating: authorizers look it up at every connect
	rest, ok := arn, true
	for i := range parts {
		if !ok {
			return arn
		}
		parts[i], rest, ok = strings.Cut(rest, ":")
	}
	if parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function" {
		return parts[6]
	}
	return arn
}

// functionARN returns the ARN of a function given by its ARN or its bare name, as AWS's
// DescribeAuthorizer shows it.
func functionARN(v, region, account string) string {
	if strings.HasPrefix(v, "arn:") {
		return v
	}
	return "arn:aws:lambda:" + region + ":" + account + ":function:" + v
}
