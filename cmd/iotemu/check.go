package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/iotemu/iotemu/authcheck"
	"github.com/iotemu/iotemu/emulator"
)

// errCheckFailed makes `iotemu check` exit 1 when a finding is worse than a warning.
var errCheckFailed = errors.New("check failed")

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// check runs `iotemu check`.
func check(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "read the function and the device from the check `FILE` (YAML); flags override it")
	var dev authcheck.Device
	fs.StringVar(&dev.Token, "token", "", "the `TOKEN` a valid device sends")
	fs.StringVar(&dev.TokenKeyName, "token-key-name", "", "the authorizer's tokenKeyName `NAME` (default token)")
	fs.StringVar(&dev.Authorizer, "authorizer", "", "the authorizer `NAME` the device sends (default CheckAuthorizer)")
	keyFile := fs.String("signing-key", "", "the device's private signing key (PEM `FILE`); default: a generated key")
	fs.BoolVar(&dev.SigningDisabled, "signing-disabled", false, "the authorizer has signing disabled: the device sends no signature")
	fs.StringVar(&dev.Username, "username", "", "the MQTT `USERNAME` before its '?' (default empty)")
	password := fs.String("password", "", "the MQTT `PASSWORD` the device sends (none unless given)")
	fs.StringVar(&dev.ClientID, "client-id", "", "the MQTT client `ID` (default device1)")
	env := functionFlags{}
	fs.Var(env, "env", "`NAME=VALUE` in the function's environment; repeatable")
	remoteName := fs.String("remote-name", "", "the function's `NAME` at an Invoke API URL (default function, the Runtime Interface Emulator's)")
	for _, f := range []struct {
		name  string
		list  *[]string
		usage string
	}{
		{"allow-publish", &dev.Allow.Publish, "a `TOPIC` the device must be allowed to publish to (the first also stands in the library's publish cases)"},
		{"allow-subscribe", &dev.Allow.Subscribe, "a `FILTER` the device must be allowed to subscribe to"},
		{"allow-receive", &dev.Allow.Receive, "a `TOPIC` the device must be allowed to subscribe to, publish to and receive from"},
		{"deny-publish", &dev.Deny.Publish, "a `TOPIC` the device must be denied publishing to"},
		{"deny-subscribe", &dev.Deny.Subscribe, "a `FILTER` the device must be denied subscribing to"},
		{"deny-receive", &dev.Deny.Receive, "a `TOPIC` the device may subscribe and publish to, but must not receive from"},
	} {
		fs.Var((*listFlag)(f.list), f.name, f.usage+"; checked with a real client; repeatable")
	}
	warm := fs.Int("n", 20, "warm invocations to time")
	junit := fs.String("junit", "", "also write the checks as JUnit XML to `FILE`")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of text")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: iotemu check [flags] FUNCTION

Checks your custom authorizer function: every event shape AWS IoT sends, the answer and the
policies it returns, the library's device-side cases with your credentials, the topics the
device must be allowed and denied, and cold and warm timing. FUNCTION is an executable (an
aws-lambda-go bootstrap) or an Invoke API URL (aws-lambda-rie, sam local). Exit 1 when a
finding would fail on AWS or deny a device; progress goes to stderr.

`)
		fs.PrintDefaults()
	}
	positional, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	var fn authcheck.Function
	if *file != "" {
		f, err := authcheck.LoadFile(*file)
		if err != nil {
			return err
		}
		fn, dev = f.Function, mergeDevice(f.Device, dev, fs)
	}
	switch {
	case len(positional) > 1:
		return fmt.Errorf("check: one function, got %q", positional)
	case len(positional) == 1 && (strings.HasPrefix(positional[0], "http://") || strings.HasPrefix(positional[0], "https://")):
		fn = authcheck.Function{URL: positional[0]}
	case len(positional) == 1:
		fn = authcheck.Function{Path: positional[0]}
	case fn.Path == "" && fn.URL == "":
		fs.Usage()
		return errors.New("check: no function given")
	}
	if fn.Path != "" {
		if len(env) > 0 {
			fn.Env = env
		}
		if _, err := os.Stat(fn.Path); err != nil {
			return fmt.Errorf("check: function %w", err)
		}
	}
	if *remoteName != "" {
		fn.RemoteName = *remoteName
	}
	if isSet(fs, "password") {
		dev.Password = password
	}
	if *keyFile != "" {
		if dev.SigningKey, err = emulator.LoadPrivateKey(*keyFile); err != nil {
			return err
		}
	}
	report, err := authcheck.Run(ctx, fn, dev, authcheck.Options{WarmInvocations: *warm, Progress: stderr})
	if err != nil {
		return err
	}
	if *asJSON {
		err = report.WriteJSON(stdout)
	} else {
		err = report.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if *junit != "" {
		if err := writeFile(*junit, report.WriteJUnit); err != nil {
			return err
		}
	}
	if report.Failed() {
		return fmt.Errorf("%w: %s", errCheckFailed, report.Summary())
	}
	return nil
}

// mergeDevice is the file's device with the flags given on the command line in its place.
func mergeDevice(file, flags authcheck.Device, fs *flag.FlagSet) authcheck.Device {
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "token":
			file.Token = flags.Token
		case "token-key-name":
			file.TokenKeyName = flags.TokenKeyName
		case "authorizer":
			file.Authorizer = flags.Authorizer
		case "signing-disabled":
			file.SigningDisabled = flags.SigningDisabled
		case "username":
			file.Username = flags.Username
		case "client-id":
			file.ClientID = flags.ClientID
		case "allow-publish", "allow-subscribe", "allow-receive":
			file.Allow = flags.Allow
		case "deny-publish", "deny-subscribe", "deny-receive":
			file.Deny = flags.Deny
		}
	})
	return file
}

// isSet reports whether the flag was given.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// writeFile writes a file with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
