package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// errUnhealthy marks a failed health check: the process exits 1, which Docker's HEALTHCHECK
// reads as unhealthy (it reserves 2).
var errUnhealthy = errors.New("unhealthy")

// health asks a running emulator's admin endpoint whether it serves. It exists for container
// health checks: a FROM scratch image has no shell, curl or wget to run one.
func health(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:9081/health", "the admin endpoint's health `URL`")
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for the answer")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w: %w", errUnhealthy, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %w: %s: %s", errUnhealthy, resp.Status, body)
	}
	_, err = stdout.Write(body)
	return err
}
