package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// httpServer is one of the emulator's extra HTTP listeners (admin, control plane).
type httpServer struct {
	ln  net.Listener
	srv *http.Server
}

// serveHTTP listens on addr and serves h there; what names the endpoint in errors.
func serveHTTP(addr, what string, h http.Handler) (*httpServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for the %s on %s: %w", what, addr, err)
	}
	s := &httpServer{ln: ln, srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
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
func startAdmin(addr string, e *Emulator) (*httpServer, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /clock", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"now": e.clock.Now().UTC().Format(time.RFC3339Nano)})
	})
	mux.HandleFunc("POST /clock/advance", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("by"))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": `query parameter "by" must be a Go duration such as 301s or 24h: ` + err.Error()})
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
	return serveHTTP(addr, "admin endpoint", mux)
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
