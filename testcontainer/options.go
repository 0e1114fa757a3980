package testcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"

	"github.com/testcontainers/testcontainers-go"
	"gopkg.in/yaml.v3"
)

// The names in the configuration that WithAuthorizer generates when no WithConfigFile is given.
const (
	// AuthorizerName is the custom authorizer, also the account's default authorizer.
	AuthorizerName = "authorizer"
	// TokenKeyName is the parameter that carries the token.
	TokenKeyName = "token"
	// SigningKeyName is the generated token signing key: sign with
	// c.SignToken(ctx, SigningKeyName, token).
	SigningKeyName = "signing-key"
	// FunctionName is the Lambda function that runs the authorizer executable.
	FunctionName = "authorizer"
)

// Option configures the emulator. It satisfies testcontainers.ContainerCustomizer, so that Run
// takes it among testcontainers-go's own options; Run applies it, its Customize does nothing.
type Option func(*settings) error

// Customize does nothing: Run reads Options itself.
func (Option) Customize(*testcontainers.GenericContainerRequest) error { return nil }

// settings are what the Options chose.
type settings struct {
	configFile string
	authorizer string
	env        map[string]string
}

// WithConfigFile runs the emulator with the YAML configuration at path (on the host) instead
// of the image's. Keep the image's listen addresses (see ConfigPath); an executable function
// given WithAuthorizer has the path AuthorizerPath. Events and Traces need log.format json.
func WithConfigFile(path string) Option {
	return func(s *settings) error {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("WithConfigFile: %w", err)
		}
		s.configFile = path
		return nil
	}
}

// WithAuthorizer copies the executable at path (on the host) into the container as
// AuthorizerPath, the bootstrap of a Lambda function of the provided.al2023 kind. It must be a
// static Linux binary, as provided.al2023 needs too: the image has no C library (build Go with
// CGO_ENABLED=0 GOOS=linux).
//
// Without WithConfigFile, the emulator runs a generated configuration: the authorizer
// AuthorizerName (the default one) invokes it, tokens come in TokenKeyName and are signed with
// the generated key SigningKeyName, and events are logged as JSON.
func WithAuthorizer(path string) Option {
	return func(s *settings) error {
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("WithAuthorizer: %w", err)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("WithAuthorizer: %s is not a file", path)
		}
		s.authorizer = path
		return nil
	}
}

// WithEnv adds variables to the environment of the authorizer that WithAuthorizer installs
// (functions[].environment of the generated configuration), such as the example authorizer's
// AUTHORIZER_TOKEN. The emulator passes a function nothing of its own environment, as Lambda
// does; with WithConfigFile, set the environment in the file instead.
func WithEnv(env map[string]string) Option {
	return func(s *settings) error {
		if s.env == nil {
			s.env = map[string]string{}
		}
		maps.Copy(s.env, env)
		return nil
	}
}

// files returns the files to copy into the container before it starts.
func (s *settings) files() ([]testcontainers.ContainerFile, error) {
	var files []testcontainers.ContainerFile
	if s.authorizer != "" {
		files = append(files, testcontainers.ContainerFile{HostFilePath: s.authorizer, ContainerFilePath: AuthorizerPath, FileMode: 0o755})
	}
	switch {
	case s.configFile != "":
		if s.env != nil {
			return nil, errors.New("WithEnv sets the environment of the generated configuration; with WithConfigFile, set functions[].environment in the file")
		}
		files = append(files, testcontainers.ContainerFile{HostFilePath: s.configFile, ContainerFilePath: ConfigPath, FileMode: 0o644})
	case s.authorizer != "":
		cfg, err := generatedConfig(s.env)
		if err != nil {
			return nil, err
		}
		files = append(files, testcontainers.ContainerFile{Reader: bytes.NewReader(cfg), ContainerFilePath: ConfigPath, FileMode: 0o644})
	case s.env != nil:
		return nil, errors.New("WithEnv needs WithAuthorizer: it sets the authorizer's environment")
	}
	return files, nil
}

// generatedConfig is the configuration of WithAuthorizer without WithConfigFile, in the
// emulator's YAML format.
func generatedConfig(env map[string]string) ([]byte, error) {
	type authorizer struct {
		Name         string            `yaml:"authorizerName"`
		FunctionARN  string            `yaml:"authorizerFunctionArn"`
		TokenKeyName string            `yaml:"tokenKeyName"`
		Keys         map[string]string `yaml:"tokenSigningPublicKeys"`
	}
	type function struct {
		Name        string            `yaml:"name"`
		Kind        string            `yaml:"kind"`
		Path        string            `yaml:"path"`
		Environment map[string]string `yaml:"environment,omitempty"`
	}
	cfg := struct {
		AccountID         string            `yaml:"accountId"`
		Region            string            `yaml:"region"`
		EndpointPrefix    string            `yaml:"endpointPrefix"`
		Listen            map[string]string `yaml:"listen"`
		DataDir           string            `yaml:"dataDir"`
		Authorizers       []authorizer      `yaml:"authorizers"`
		DefaultAuthorizer string            `yaml:"defaultAuthorizer"`
		Functions         []function        `yaml:"functions"`
		Log               map[string]string `yaml:"log"`
	}{
		AccountID:      "123456789012",
		Region:         "us-east-1",
		EndpointPrefix: "a1b2c3d4e5f6g7",
		Listen: map[string]string{
			Port443: "0.0.0.0:443", Port8883: "0.0.0.0:8883", Port8443: "0.0.0.0:8443", "admin": "0.0.0.0:9081",
		},
		DataDir: DataDir,
		Authorizers: []authorizer{{
			Name:         AuthorizerName,
			FunctionARN:  "arn:aws:lambda:us-east-1:123456789012:function:" + FunctionName,
			TokenKeyName: TokenKeyName,
			Keys:         map[string]string{"key": "generated:" + SigningKeyName},
		}},
		DefaultAuthorizer: AuthorizerName,
		Functions:         []function{{Name: FunctionName, Kind: "executable", Path: AuthorizerPath, Environment: env}},
		Log:               map[string]string{"format": "json"},
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("generate the configuration: %w", err)
	}
	return out, nil
}
