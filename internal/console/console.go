// Package console serves the emulator's web console: the pages AWS's troubleshooting guide
// sends a user to (the authorizer, the function's Monitor and Permissions tabs, the logs),
// live, plus what AWS never shows: every connection attempt explained step by step.
//
// The console is a view. Its pages are static files embedded in the binary (plain HTML, CSS
// and JavaScript, no build step, nothing fetched from elsewhere); they read the event store
// through the small JSON API below, follow it live over server-sent events, and change the
// emulator only through the control plane (the AWS IoT, Lambda and CloudWatch Logs APIs the
// aws CLI uses, mounted under /console/aws/) and the admin endpoint's clock. No rule of the
// emulator lives here.
//
//	GET /                               the console (index.html; the pages are #/... routes)
//	GET /console/static/...             its scripts and styles
//	GET /console/api/events             AWS log events, newest first, filtered and paged
//	GET /console/api/attempt?trace=ID   one attempt: its events, decision trace, function log
//	GET /console/api/connections        the established connections, their policy and timers
//	GET /console/api/functions          each function's invocation datapoints
//	GET /console/api/default-authorizer the default authorizer's name ("" when none)
//	GET /console/live                   server-sent events: each AWS log event as it happens
//	    /console/aws/...                the control plane
//
// The console is served behind the admin endpoint's guard (package localonly): loopback names
// only, and no request from another site's page.
package console

import (
	"embed"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/internal/broker"
	"github.com/iotemu/iotemu/lambdarunner"
)

//go:embed assets
var assets embed.FS

// Backend is the emulator as the console reads it.
type Backend interface {
	// Logs returns the event store, with every record logged so far in it.
	Logs() *iotlog.Memory
	// Subscribe adds a sink to the log pipeline until unsubscribe is called.
	Subscribe(iotlog.Sink) (unsubscribe func())
	// Connections returns the established connections.
	Connections() []broker.Connection
	// Functions returns each function's name and invocation datapoints.
	Functions() []Function
	// Now is the emulator's clock.
	Now() time.Time
	// DefaultAuthorizer names the default authorizer, if one is set.
	DefaultAuthorizer() (string, bool)
}

// Function is one Lambda function as the Monitor tab draws it.
type Function struct {
	Name       string
	ARN        string
	Datapoints []lambdarunner.Datapoint
	// Statements counts the statements of its resource-based policy: the page asks Lambda's
	// GetPolicy for them only when there are some, since GetPolicy answers an empty policy
	// with a 404 that the browser would report as an error.
	Statements int
}

// Console serves the console's pages and API.
type Console struct {
	backend Backend
	mux     *http.ServeMux
	done    chan struct{}
	once    sync.Once
}

// New returns the console over b; controlPlane is mounted under /console/aws/.
func New(b Backend, controlPlane http.Handler) *Console {
	c := &Console{backend: b, mux: http.NewServeMux(), done: make(chan struct{})}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	c.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		http.ServeFileFS(w, r, static, "index.html")
	})
	c.mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	c.mux.HandleFunc("GET /console/api/events", c.events)
	c.mux.HandleFunc("GET /console/api/attempt", c.attempt)
	c.mux.HandleFunc("GET /console/api/connections", c.connections)
	c.mux.HandleFunc("GET /console/api/functions", c.functions)
	c.mux.HandleFunc("GET /console/api/default-authorizer", c.defaultAuthorizer)
	c.mux.HandleFunc("GET /console/live", c.live)
	c.mux.Handle("/console/aws/", http.StripPrefix("/console/aws", controlPlane))
	return c
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	c.mux.ServeHTTP(w, r)
}

// Close ends the live streams, so that the server serving them can shut down.
func (c *Console) Close() {
	c.once.Do(func() { close(c.done) })
}
