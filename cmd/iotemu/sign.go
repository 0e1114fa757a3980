package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/customauth"
)

// sign prints the signature of a token, as a device puts it in
// x-amz-customauthorizer-signature.
func sign(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	token := fs.String("token", "", "the token to sign (required)")
	keyName := fs.String("key", "demo-signing-key", "`name` of a generated key in the data directory, or a path to a PEM private key")
	dataDir := fs.String("data-dir", defaultDataDir(), "data `directory` of the emulator")
	raw := fs.Bool("raw", false, "print the base64 signature without URL encoding")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *token == "" {
		return fmt.Errorf("sign: -token is required")
	}
	path := *keyName
	if _, err := os.Stat(path); err != nil {
		path = filepath.Join(*dataDir, *keyName+".pem")
	}
	key, err := emulator.LoadPrivateKey(path)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	sig, err := customauth.Sign(key, *token)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	if !*raw {
		sig = url.QueryEscape(sig) // AWS: the signature travels URL-encoded in a query string
	}
	_, err = fmt.Fprintln(stdout, sig)
	return err
}
