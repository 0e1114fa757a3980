package authcheck

import (
	"bytes"
	"crypto/rsa"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/iotemu/iotemu/emulator"
)

// Function is the authorizer function to check: exactly one of Path, URL and Handler.
type Function struct {
	// Path is a compiled function (an aws-lambda-go bootstrap, or any runtime interface
	// client), run behind iotemu's Lambda Runtime API; Args and Env are its arguments and
	// environment.
	Path string            `yaml:"path"`
	Args []string          `yaml:"args"`
	Env  map[string]string `yaml:"environment"`
	// URL is a Lambda Invoke API serving the function (AWS's Runtime Interface Emulator, SAM
	// local); RemoteName is the function's name there (default "function", RIE's).
	URL        string `yaml:"url"`
	RemoteName string `yaml:"remoteName"`
	// Handler is an in-process Go handler: anything aws-lambda-go's lambda.Start accepts.
	Handler any `yaml:"-"`
}

// String names the function for the report.
func (f Function) String() string {
	switch {
	case f.Path != "":
		return f.Path
	case f.URL != "":
		return f.URL
	}
	return "in-process handler"
}

// emulatorFunction is f as the emulator declares it.
func (f Function) emulatorFunction(name string) (emulator.Function, error) {
	fn := emulator.Function{Name: name}
	switch {
	case f.Path != "" && f.URL == "" && f.Handler == nil:
		fn.Kind, fn.Path, fn.Args, fn.Environment = emulator.KindExecutable, f.Path, f.Args, f.Env
	case f.URL != "" && f.Path == "" && f.Handler == nil:
		fn.Kind, fn.URL, fn.RemoteName = emulator.KindRemote, f.URL, f.RemoteName
		if fn.RemoteName == "" {
			fn.RemoteName = "function"
		}
	case f.Handler != nil && f.Path == "" && f.URL == "":
		fn.Kind, fn.Handler = emulator.KindGo, f.Handler
	default:
		return fn, fmt.Errorf("the function is one of: an executable path, an Invoke API URL, a Go handler (got %q, %q, handler %t)", f.Path, f.URL, f.Handler != nil)
	}
	return fn, nil
}

// Device is what a valid device sends, and what it must be allowed and denied.
type Device struct {
	// Authorizer is the authorizer name the device sends (default "CheckAuthorizer").
	Authorizer string `yaml:"authorizer"`
	// TokenKeyName is the authorizer's tokenKeyName (default "token"); Token the device's token.
	TokenKeyName string `yaml:"tokenKeyName"`
	Token        string `yaml:"token"`
	// SigningDisabled is the authorizer's signingDisabled. With signing enabled (the default)
	// the device signs Token with SigningKey, or with a generated key when it is nil.
	SigningDisabled bool            `yaml:"signingDisabled"`
	SigningKey      *rsa.PrivateKey `yaml:"-"`
	// Username is the MQTT username's part before '?'; Password, when not nil, the password.
	Username string  `yaml:"username"`
	Password *string `yaml:"password"`
	// ClientID is the MQTT client ID (default "device1").
	ClientID string `yaml:"clientId"`
	// Allow and Deny are what real clients with these credentials must be allowed and denied.
	Allow Topics `yaml:"allow"`
	Deny  Topics `yaml:"deny"`
}

// Topics are topics to publish to, filters to subscribe to, and topics to receive from. A
// receive check subscribes to the topic and publishes to it: for Deny, the device must be
// allowed both and must not get the message (Subscribe without Receive).
type Topics struct {
	Publish   []string `yaml:"publish"`
	Subscribe []string `yaml:"subscribe"`
	Receive   []string `yaml:"receive"`
}

func (t Topics) empty() bool { return len(t.Publish)+len(t.Subscribe)+len(t.Receive) == 0 }

// withDefaults fills in the defaults.
func (d Device) withDefaults() Device {
	if d.Authorizer == "" {
		d.Authorizer = "CheckAuthorizer"
	}
	if d.TokenKeyName == "" {
		d.TokenKeyName = "token"
	}
	if d.ClientID == "" {
		d.ClientID = "device1"
	}
	return d
}

// File is a check file: the function and the device.
type File struct {
	Function Function `yaml:"function"`
	// SigningKey is a PEM file with the device's private signing key, relative to the file.
	SigningKey string `yaml:"signingKey"`
	Device     Device `yaml:"device"`
}

// LoadFile reads a check file. Unknown keys and wrong types are errors that name the file,
// line and column; relative paths (the function, the signing key) start at the file's
// directory.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s:1:1: the file is empty", path)
	}
	if err := knownKeys(path, root.Content[0], reflect.TypeFor[File]()); err != nil {
		return nil, err
	}
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if f.Function.Path != "" && !filepath.IsAbs(f.Function.Path) {
		f.Function.Path = filepath.Join(dir, f.Function.Path)
	}
	if f.SigningKey != "" {
		if !filepath.IsAbs(f.SigningKey) {
			f.SigningKey = filepath.Join(dir, f.SigningKey)
		}
		if f.Device.SigningKey, err = emulator.LoadPrivateKey(f.SigningKey); err != nil {
			return nil, fmt.Errorf("%s: signingKey: %w", path, err)
		}
	}
	return &f, nil
}

// knownKeys reports the first mapping key that the Go type t has no field for, at its
// line and column, with the keys allowed there.
func knownKeys(file string, n *yaml.Node, t reflect.Type) error {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct {
		return nil
	}
	fields := map[string]reflect.Type{}
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			fields[name] = t.Field(i).Type
			names = append(names, name)
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ft, ok := fields[k.Value]
		if !ok {
			return fmt.Errorf("%s:%d:%d: unknown key %q (known here: %s)", file, k.Line, k.Column, k.Value, strings.Join(names, ", "))
		}
		if err := knownKeys(file, v, ft); err != nil {
			return err
		}
	}
	return nil
}
