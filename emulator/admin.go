package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/iotemu/iotemu/internal/connlimit"
	"github.com/iotemu/iotemu/internal/localonly"
)

// httpServer is one of the emulator's extra HTTP listeners (admin, control plane).
type httpServer struct {
	ln  net.Listener
	srv *http.Server
}

// serveHTTP listens on addr and serves h there, for clients on this machine only (see
// package localonly); what names the endpoint in errors and logs. Every request and
// connection is bounded in time, and a flood of sockets sheds the oldest (package connlimit).
func (e *Emulator) serveHTTP(addr, what string, h http.Handler) (*httpServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for the %s on %s: %w", what, addr, err)
	}
	guard := &localonly.Guard{
		Hosts: e.cfg.Listen.AllowedHosts,
		Refused: func(r *http.Request, reason string) {
			e.logger.Warn("request refused", "endpoint", what, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "reason", reason)
		},
	}
	s := &httpServer{ln: ln, srv: &http.Server{
		Handler:           guard.Handler(h),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second, // control-plane bodies are small JSON documents
		WriteTimeout:      30 * time.Second, // an Advance runs the timers that fall due
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(e.logger.Handler(), slog.LevelDebug),
		ConnState: func(c net.Conn, st http.ConnState) {
			if lc, ok := c.(*connlimit.Conn); ok {
				lc.SetIdle(st == http.StateIdle) // idle keep-alive sockets are shed first
			}
		},
	}}
	limited := connlimit.Wrap(ln, 0, what, e.logger)
	go func() { _ = s.srv.Serve(limited) }()
	return s, nil
}

// startAdmin serves the emulator's admin HTTP endpoint:
//
//	GET  /health                  200 {"status":"ok"} once the emulator serves
//	GET  /clock                   {"now": RFC 3339 time}
//	POST /clock/advance?by=301s   moves the clock forward, running the timers that fall due
//	GET  /metrics                 each function's invocation metrics, and the log pipeline's
//	                              counters under "iotemu.log" (records recorded and dropped,
//	                              queued, bytes in memory and the limit)
//	GET  /                        the web console (package internal/console)
func startAdmin(addr string, e *Emulator) (*httpServer, error) {
	mux := http.NewServeMux()
	e.console = e.newConsole()
	mux.Handle("/", e.console)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /clock", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"now": e.clock.Now().UTC().Format(time.RFC3339Nano)})
	})
	mux.HandleFunc("POST /clock/advance", func(w http.ResponseWriter, r *http.Request) {
		d, err := advanceBy(r.URL.Query().Get("by"))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
			return
		}
		if err := e.Advance(d); err != nil {
			writeJSON(w, http.StatusConflict, map[string]string{"message": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"now": e.clock.Now().UTC().Format(time.RFC3339Nano)})
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		out := map[string]any{}
		for _, f := range e.cfg.Functions {
			if m, ok := e.FunctionMetrics(f.Name); ok {
				out[f.Name] = map[string]any{
					"invocations": m.Invocations, "errors": m.Errors, "timeouts": m.Timeouts,
					"throttles": m.Throttles, "coldStarts": m.ColdStarts,
					"durationP50Ms": float64(m.DurationP50.Microseconds()) / 1000,
					"durationP99Ms": float64(m.DurationP99.Microseconds()) / 1000,
				}
			}
		}
		// Function names cannot contain a dot, so this key never collides with one.
		st := e.LogStats()
		out["iotemu.log"] = map[string]any{
			"recorded": st.Recorded, "dropped": st.Dropped, "queued": st.Queued,
			"memoryBytes": e.memory.Bytes(), "memoryLimitBytes": e.memory.LimitBytes(),
		}
		writeJSON(w, http.StatusOK, out)
	})
	return e.serveHTTP(addr, "admin endpoint", mux)
}

// advanceBy parses the by parameter of POST /clock/advance: a Go duration, zero or more. A
// duration too large for the clock is not an error: the clock saturates (clock.Latest).
func advanceBy(by string) (time.Duration, error) {
	const want = `query parameter "by" must be a Go duration of zero or more, such as 301s or 24h`
	if by == "" {
		return 0, errors.New(want + ", and is missing")
	}
	d, err := time.ParseDuration(by)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", want, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s: %s is negative and the clock never goes backwards", want, by)
	}
	return d, nil
}

// Close stops the listener, waiting a moment for requests in flight.
func (a *httpServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
