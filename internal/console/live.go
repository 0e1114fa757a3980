package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/iotemu/iotemu/emulator/iotlog"
)

// liveBuffer bounds the events waiting for one live stream; a stream that falls further
// behind is told to reload ("resync") instead of holding more.
const liveBuffer = 256

// keepAlive is how often an idle stream sends a comment, so proxies and the server's write
// deadline see it alive.
const keepAlive = 15 * time.Second

// maxPending bounds the authorizer names a stream remembers for events still to come.
const maxPending = 1024

// stream is the sink behind one live connection. It never blocks the log pipeline. The
// pipeline calls it from one goroutine, so pending needs no lock.
type stream struct {
	events  chan []byte
	lagged  chan struct{}
	pending map[string]string // traceId → the authorizer its trace chose
}

func (s *stream) WriteEvent(e iotlog.Event) {
	b, err := e.MarshalJSON()
	if err != nil {
		return
	}
	row := eventRow{Event: b, Connection: e.ConnectionID, Authorizer: s.pending[e.TraceID]}
	delete(s.pending, e.TraceID)
	if b, err = json.Marshal(row); err != nil {
		return
	}
	select {
	case s.events <- b:
	default:
		select {
		case s.lagged <- struct{}{}:
		default:
		}
	}
}

// WriteTrace remembers the authorizer an attempt chose, for the event its trace leads to.
func (s *stream) WriteTrace(t iotlog.Trace) {
	name, ok := t.Data["authorizer"].(string)
	if t.Step != iotlog.StepAuthorizer || !ok || t.TraceID == "" {
		return
	}
	if len(s.pending) >= maxPending {
		clear(s.pending) // events whose traces named no event; losing a name only blanks a cell
	}
	s.pending[t.TraceID] = name
}

func (s *stream) WriteFunctionLine(iotlog.FunctionLine) {}

// live answers GET /console/live with server-sent events: "event" with each AWS log event as
// it is logged (a row of /console/api/events without its position), "resync" when the stream fell behind and the page should reload its
// lists.
func (c *Console) live(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	s := &stream{events: make(chan []byte, liveBuffer), lagged: make(chan struct{}, 1), pending: map[string]string{}}
	unsubscribe := c.backend.Subscribe(s)
	defer unsubscribe()
	send := func(kind string, data []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(keepAlive + 10*time.Second))
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", kind, data); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	hello, _ := json.Marshal(map[string]any{"now": c.backend.Now()})
	if !send("hello", hello) {
		return
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-c.done:
			return
		case b := <-s.events:
			if !send("event", b) {
				return
			}
		case <-s.lagged:
			if !send("resync", []byte("{}")) {
				return
			}
		case <-tick.C:
			if !send("ping", []byte("{}")) {
				return
			}
		}
	}
}
