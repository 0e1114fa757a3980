package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHealth checks the container health check: 200 is healthy and prints the body; another
// status or no answer is errUnhealthy, which main turns into exit status 1.
func TestHealth(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	}))
	defer srv.Close()
	ctx := context.Background()

	var out, errOut bytes.Buffer
	if err := health(ctx, []string{"-url", srv.URL + "/health"}, &out, &errOut); err != nil {
		t.Fatalf("healthy endpoint: %v", err)
	}
	if got := out.String(); got != `{"status":"ok"}`+"\n" {
		t.Errorf("output %q, want the health body", got)
	}

	status = http.StatusServiceUnavailable
	if err := health(ctx, []string{"-url", srv.URL + "/health"}, &out, &errOut); !errors.Is(err, errUnhealthy) {
		t.Errorf("503: got %v, want errUnhealthy", err)
	}

	srv.Close()
	if err := health(ctx, []string{"-url", srv.URL + "/health", "-timeout", "500ms"}, &out, &errOut); !errors.Is(err, errUnhealthy) {
		t.Errorf("no server: got %v, want errUnhealthy", err)
	}
}
