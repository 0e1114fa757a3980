package scenarios

import (
	"fmt"
	"reflect"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/iotemu/iotemu/emulator"
)

// The Go form of a scenario file. schema.json is the authority on what a file may hold; these
// types only carry it, with the positions that cross-reference errors point at.

// document is a whole scenario file.
type document struct {
	variant  `yaml:",inline"`
	Cause    string   `yaml:"cause"` // CauseDevice, CauseFunction or CauseCertificate
	Variants variants `yaml:"variants"`
}

// variant is what a file and each of its variants hold.
type variant struct {
	Description string             `yaml:"description"`
	Setup       setup              `yaml:"setup"`
	Clients     map[string]*client `yaml:"clients"`
	Steps       []*step            `yaml:"steps"`
}

// variants keeps the variants in file order.
type variants []namedVariant

type namedVariant struct {
	name string
	variant
}

// UnmarshalYAML decodes the variants mapping in order.
func (v *variants) UnmarshalYAML(n *yaml.Node) error {
	for _, p := range pairs(n) {
		nv := namedVariant{name: p.key.Value}
		if err := p.value.Decode(&nv.variant); err != nil {
			return err
		}
		*v = append(*v, nv)
	}
	return nil
}

// setup is the emulated account.
type setup struct {
	AccountID         string                 `yaml:"accountId"`
	Region            string                 `yaml:"region"`
	EndpointPrefix    string                 `yaml:"endpointPrefix"`
	Keys              map[string]*keyFile    `yaml:"keys"` // nil entry: generated
	Functions         map[string]*function   `yaml:"functions"`
	Authorizers       map[string]*authorizer `yaml:"authorizers"`
	DefaultAuthorizer *ref                   `yaml:"defaultAuthorizer"`
	// The X.509 side (x509.go): named policies (YAML documents), things, CA certificates and
	// device certificates the runner makes.
	Policies       map[string]yaml.Node       `yaml:"policies"`
	Things         map[string]*thingDef       `yaml:"things"`
	CACertificates map[string]*caDef          `yaml:"caCertificates"`
	Certificates   map[string]*certificateDef `yaml:"certificates"`
}

// keyFile names a PEM private key file.
type keyFile struct {
	File string `yaml:"file"`
	at   pos
}

// UnmarshalYAML records the entry's position.
func (k *keyFile) UnmarshalYAML(n *yaml.Node) error {
	type plain keyFile
	k.at = posOf(n)
	return n.Decode((*plain)(k))
}

// function is a Lambda function; kind static answers with the answer fields or responses.
type function struct {
	Kind        string                `yaml:"kind"`
	answer      `yaml:",inline"`      // the single-answer shorthand
	Responses   []*answer             `yaml:"responses"`
	Path        string                `yaml:"path"`
	Args        []string              `yaml:"args"`
	Environment map[string]string     `yaml:"environment"`
	URL         string                `yaml:"url"`
	RemoteName  string                `yaml:"remoteName"`
	Timeout     duration              `yaml:"timeout"`
	Permissions []emulator.Permission `yaml:"permissions"` // nil: the default; empty: none
	at          pos
}

// UnmarshalYAML records the entry's position.
func (f *function) UnmarshalYAML(n *yaml.Node) error {
	type plain function
	f.at = posOf(n)
	return n.Decode((*plain)(f))
}

// answer is one answer of a static function.
type answer struct {
	Response    yaml.Node `yaml:"response"` // Kind 0 when absent
	ResponseRaw *string   `yaml:"responseRaw"`
	Error       *string   `yaml:"error"`
	Sleep       duration  `yaml:"sleep"`
}

// authorizer is a custom authorizer.
type authorizer struct {
	Function             ref            `yaml:"function"`
	TokenKeyName         string         `yaml:"tokenKeyName"`
	SigningKeys          map[string]ref `yaml:"signingKeys"`
	SigningDisabled      bool           `yaml:"signingDisabled"`
	Status               string         `yaml:"status"`
	EnableCachingForHTTP bool           `yaml:"enableCachingForHttp"`
	at                   pos
}

// UnmarshalYAML records the entry's position.
func (a *authorizer) UnmarshalYAML(n *yaml.Node) error {
	type plain authorizer
	a.at = posOf(n)
	return n.Decode((*plain)(a))
}

// client is a device: how it reaches the endpoint and the credentials it sends.
type client struct {
	Transport          string            `yaml:"transport"`
	Protocol           string            `yaml:"protocol"`
	Port               int               `yaml:"port"`
	SNI                string            `yaml:"sni"`
	ALPN               []string          `yaml:"alpn"` // nil: the transport's default
	Host               string            `yaml:"host"`
	ClientID           *string           `yaml:"clientId"`
	Username           string            `yaml:"username"`
	RawUsername        *string           `yaml:"rawUsername"`
	Password           *string           `yaml:"password"`
	Authorizer         *string           `yaml:"authorizer"`
	Token              *string           `yaml:"token"`
	TokenKeyName       string            `yaml:"tokenKeyName"`
	SignWith           *ref              `yaml:"signWith"`
	SignedValue        *string           `yaml:"signedValue"`
	Signature          string            `yaml:"signature"`
	URLEncodeSignature *bool             `yaml:"urlEncodeSignature"`
	CredentialsIn      string            `yaml:"credentialsIn"`
	Headers            map[string]string `yaml:"headers"`
	Certificate        *ref              `yaml:"certificate"` // a key of setup.certificates
	at                 pos
}

// UnmarshalYAML records the entry's position.
func (c *client) UnmarshalYAML(n *yaml.Node) error {
	type plain client
	c.at = posOf(n)
	return n.Decode((*plain)(c))
}

// ref is a name that refers to something defined elsewhere in the file.
type ref struct {
	name string
	at   pos
}

// UnmarshalYAML reads the name and its position.
func (r *ref) UnmarshalYAML(n *yaml.Node) error {
	*r = ref{name: resolve(n).Value, at: posOf(resolve(n))}
	return nil
}

// duration is a Go duration written as a string ("300ms", "5s").
type duration time.Duration

// UnmarshalYAML parses the duration.
func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(resolve(n).Value)
	*d = duration(v)
	return err
}

// or returns d, or def when d is zero.
func (d duration) or(def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return time.Duration(d)
}

// shorthand decodes n into full, or, when n is a scalar (the short form), calls short.
func shorthand(n *yaml.Node, full any, short func(*yaml.Node)) error {
	if n = resolve(n); n.Kind == yaml.ScalarNode {
		short(n)
		return nil
	}
	return n.Decode(full)
}

// step is one step: exactly one of its fields is set (the schema says so).
type step struct {
	Connect              *connectStep             `yaml:"connect"`
	Disconnect           *disconnectStep          `yaml:"disconnect"`
	Publish              *publishStep             `yaml:"publish"`
	Subscribe            *subscribeStep           `yaml:"subscribe"`
	ExpectMessage        *expectMessageStep       `yaml:"expectMessage"`
	ExpectNoMessage      *expectNoMessageStep     `yaml:"expectNoMessage"`
	ExpectClosed         *expectClosedStep        `yaml:"expectClosed"`
	ExpectOpen           *expectOpenStep          `yaml:"expectOpen"`
	Advance              *advanceStep             `yaml:"advance"`
	SetPermissions       *setPermissionsStep      `yaml:"setPermissions"`
	SetAuthorizer        *setAuthorizerStep       `yaml:"setAuthorizer"`
	SetDefaultAuthorizer *setDefaultStep          `yaml:"setDefaultAuthorizer"`
	ExpectInvocations    *expectInvocationsStep   `yaml:"expectInvocations"`
	ExpectEvent          *expectEventStep         `yaml:"expectEvent"`
	ExpectNoEvent        *expectNoEventStep       `yaml:"expectNoEvent"`
	ExpectTrace          *expectTraceStep         `yaml:"expectTrace"`
	DescribeAuthorizer   *describeAuthorizerStep  `yaml:"describeAuthorizer"`
	TestInvokeAuthorizer *testInvokeStep          `yaml:"testInvokeAuthorizer"`
	ExpectFunctionEvent  *expectFunctionEventStep `yaml:"expectFunctionEvent"`
	SetCertificate       *setCertificateStep      `yaml:"setCertificate"`
	Query                *queryStep               `yaml:"query"`
	at                   pos
}

// UnmarshalYAML records the step's position.
func (s *step) UnmarshalYAML(n *yaml.Node) error {
	type plain step
	s.at = posOf(resolve(n))
	return n.Decode((*plain)(s))
}

// action returns the step's one action.
func (s *step) action() action {
	v := reflect.ValueOf(s).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			if a, ok := f.Interface().(action); ok {
				return a
			}
		}
	}
	panic(fmt.Sprintf("scenarios: step at %d:%d has no action", s.at.line, s.at.column)) // the schema requires one
}

type connectStep struct {
	Client ref           `yaml:"client"`
	Expect connectExpect `yaml:"expect"`
}

// UnmarshalYAML accepts "connect: CLIENT".
func (s *connectStep) UnmarshalYAML(n *yaml.Node) error {
	type plain connectStep
	return shorthand(n, (*plain)(s), func(n *yaml.Node) { _ = s.Client.UnmarshalYAML(n) })
}

type connectExpect struct {
	Result  string `yaml:"result"`
	Connack *int   `yaml:"connack"`
	Error   string `yaml:"error"`
}

// UnmarshalYAML accepts "expect: RESULT".
func (e *connectExpect) UnmarshalYAML(n *yaml.Node) error {
	type plain connectExpect
	return shorthand(n, (*plain)(e), func(n *yaml.Node) { e.Result = n.Value })
}

type disconnectStep struct{ Client ref }

// UnmarshalYAML reads "disconnect: CLIENT".
func (s *disconnectStep) UnmarshalYAML(n *yaml.Node) error { return s.Client.UnmarshalYAML(n) }

type publishStep struct {
	Client  ref           `yaml:"client"`
	Topic   string        `yaml:"topic"`
	Payload string        `yaml:"payload"`
	QoS     *int          `yaml:"qos"`
	Retain  bool          `yaml:"retain"`
	Expect  publishExpect `yaml:"expect"`
}

type publishExpect struct {
	Result string `yaml:"result"`
	Puback *int   `yaml:"puback"`
	Status *int   `yaml:"status"`
}

// UnmarshalYAML accepts "expect: RESULT".
func (e *publishExpect) UnmarshalYAML(n *yaml.Node) error {
	type plain publishExpect
	return shorthand(n, (*plain)(e), func(n *yaml.Node) { e.Result = n.Value })
}

type subscribeStep struct {
	Client ref             `yaml:"client"`
	Topic  string          `yaml:"topic"`
	QoS    *int            `yaml:"qos"`
	Expect subscribeExpect `yaml:"expect"`
}

type subscribeExpect struct {
	Result string `yaml:"result"`
	Suback *int   `yaml:"suback"`
}

// UnmarshalYAML accepts "expect: RESULT".
func (e *subscribeExpect) UnmarshalYAML(n *yaml.Node) error {
	type plain subscribeExpect
	return shorthand(n, (*plain)(e), func(n *yaml.Node) { e.Result = n.Value })
}

type expectMessageStep struct {
	Client   ref      `yaml:"client"`
	Topic    *string  `yaml:"topic"`
	Payload  *string  `yaml:"payload"`
	Retained *bool    `yaml:"retained"`
	Within   duration `yaml:"within"`
}

type expectNoMessageStep struct {
	Client ref      `yaml:"client"`
	Topic  *string  `yaml:"topic"`
	Within duration `yaml:"within"`
}

type expectClosedStep struct {
	Client ref      `yaml:"client"`
	Reason *int     `yaml:"reason"`
	Within duration `yaml:"within"`
}

// UnmarshalYAML accepts "expectClosed: CLIENT".
func (s *expectClosedStep) UnmarshalYAML(n *yaml.Node) error {
	type plain expectClosedStep
	return shorthand(n, (*plain)(s), func(n *yaml.Node) { _ = s.Client.UnmarshalYAML(n) })
}

type expectOpenStep struct {
	Client ref      `yaml:"client"`
	Within duration `yaml:"within"`
}

// UnmarshalYAML accepts "expectOpen: CLIENT".
func (s *expectOpenStep) UnmarshalYAML(n *yaml.Node) error {
	type plain expectOpenStep
	return shorthand(n, (*plain)(s), func(n *yaml.Node) { _ = s.Client.UnmarshalYAML(n) })
}

type advanceStep struct{ By duration }

// UnmarshalYAML reads "advance: DURATION".
func (s *advanceStep) UnmarshalYAML(n *yaml.Node) error { return s.By.UnmarshalYAML(n) }

type setPermissionsStep struct {
	Function    ref                   `yaml:"function"`
	Permissions []emulator.Permission `yaml:"permissions"`
}

type setAuthorizerStep struct {
	Authorizer  ref            `yaml:"authorizer"`
	Function    *ref           `yaml:"function"`
	Status      string         `yaml:"status"`
	SigningKeys map[string]ref `yaml:"signingKeys"`
}

type setDefaultStep struct{ Authorizer ref }

// UnmarshalYAML reads "setDefaultAuthorizer: NAME".
func (s *setDefaultStep) UnmarshalYAML(n *yaml.Node) error { return s.Authorizer.UnmarshalYAML(n) }

type expectInvocationsStep struct {
	Function ref  `yaml:"function"`
	Count    *int `yaml:"count"`
	Errors   *int `yaml:"errors"`
	Timeouts *int `yaml:"timeouts"`
}

// eventMatch is the fields an AWS log event must have, in file order.
type eventMatch struct {
	fields []field
	within duration
}

type field struct{ name, value string }

// UnmarshalYAML reads the fields and "within".
func (m *eventMatch) UnmarshalYAML(n *yaml.Node) error {
	for _, p := range pairs(n) {
		if p.key.Value == "within" {
			if err := m.within.UnmarshalYAML(p.value); err != nil {
				return err
			}
			continue
		}
		m.fields = append(m.fields, field{p.key.Value, resolve(p.value).Value})
	}
	return nil
}

type expectEventStep struct{ eventMatch }

type expectNoEventStep struct{ eventMatch }

type expectTraceStep struct {
	Contains string   `yaml:"contains"`
	ClientID string   `yaml:"clientId"`
	Within   duration `yaml:"within"`
}

// UnmarshalYAML accepts "expectTrace: TEXT".
func (s *expectTraceStep) UnmarshalYAML(n *yaml.Node) error {
	type plain expectTraceStep
	return shorthand(n, (*plain)(s), func(n *yaml.Node) { s.Contains = n.Value })
}
