package console

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/iotemu/iotemu/emulator/iotlog"
)

// Paging bounds of the lists the console asks for.
const (
	defaultPage = 100
	maxPage     = 500
)

// eventRow is one AWS log event as the console's tables show it. Pos is its position in the
// event store (older events have smaller positions).
type eventRow struct {
	Pos        uint64          `json:"pos"`
	Authorizer string          `json:"authorizer,omitempty"`
	Event      json.RawMessage `json:"event"` // the AWS JSON, as AWS IoT writes it
	Connection string          `json:"connectionId,omitempty"`
}

// events answers GET /console/api/events?client=&status=&type=&before=&limit=: the newest
// events that match, newest first, and the position to ask for older ones ("before").
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := intParam(q.Get("limit"), defaultPage, maxPage)
	before, _ := strconv.ParseUint(q.Get("before"), 10, 64)
	match := eventFilter(q.Get("client"), q.Get("status"), q.Get("type"))

	mem := c.backend.Logs()
	if before == 0 {
		before = math.MaxUint64
	}
	var (
		rows  []eventRow
		older uint64 // where the next page starts: 0 when there is none
	)
	first, end := mem.EventsBefore(before, func(pos uint64, e iotlog.Event) bool {
		if !match(e) {
			return true
		}
		if len(rows) == limit {
			older = pos + 1
			return false
		}
		if b, err := e.MarshalJSON(); err == nil {
			rows = append(rows, eventRow{Pos: pos, Event: b, Connection: e.ConnectionID})
		}
		return true
	})
	authorizers(mem, rows)
	writeJSON(w, map[string]any{"events": rows, "older": older, "end": end, "stored": end - first})
}

// eventFilter matches events by client ID (a substring), status and event type.
func eventFilter(client, status, typ string) func(iotlog.Event) bool {
	return func(e iotlog.Event) bool {
		return (client == "" || strings.Contains(e.ClientID, client)) &&
			(status == "" || e.Status == status) &&
			(typ == "" || e.EventType == typ)
	}
}

// authorizers fills in the authorizer each row's attempt used, from the decision trace.
func authorizers(mem *iotlog.Memory, rows []eventRow) {
	want := map[string][]int{}
	for i, r := range rows {
		var e struct {
			TraceID string `json:"traceId"`
		}
		if json.Unmarshal(r.Event, &e) == nil && e.TraceID != "" {
			want[e.TraceID] = append(want[e.TraceID], i)
		}
	}
	if len(want) == 0 {
		return
	}
	mem.ScanTraces(func(t iotlog.Trace) bool {
		if t.Step == iotlog.StepAuthorizer {
			name, _ := t.Data["authorizer"].(string)
			for _, i := range want[t.TraceID] {
				rows[i].Authorizer = name
			}
		}
		return true
	})
}

// traceRow is one step of the decision trace.
type traceRow struct {
	Time    time.Time      `json:"time"`
	Step    string         `json:"step"`
	Message string         `json:"message"`
	Data    map[string]any `json:"data,omitempty"`
}

// attempt answers GET /console/api/attempt?trace=ID: the AWS events of one attempt, its
// decision trace, and the log lines of the function invocation it made.
func (c *Console) attempt(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("trace")
	if id == "" {
		writeError(w, http.StatusBadRequest, "query parameter trace (a traceId) is missing")
		return
	}
	mem := c.backend.Logs()
	var events []json.RawMessage
	mem.EventsBefore(math.MaxUint64, func(_ uint64, e iotlog.Event) bool {
		if e.TraceID == id {
			if b, err := e.MarshalJSON(); err == nil {
				events = append([]json.RawMessage{b}, events...) // oldest first
			}
		}
		return true
	})
	var steps []traceRow
	requestID := ""
	mem.ScanTraces(func(t iotlog.Trace) bool {
		if t.TraceID == id {
			steps = append(steps, traceRow{Time: t.Time, Step: t.Step, Message: t.Message, Data: t.Data})
			if rid, ok := t.Data["requestId"].(string); ok {
				requestID = rid
			}
		}
		return true
	})
	if len(events) == 0 && len(steps) == 0 {
		writeError(w, http.StatusNotFound, "no event or trace with traceId "+id+" is in the event store (it may have been forgotten: the store keeps the newest)")
		return
	}
	var lines []string
	if requestID != "" {
		for _, l := range mem.FunctionLines(requestID) {
			lines = append(lines, iotlog.FormatFunctionLine(l))
		}
	}
	writeJSON(w, map[string]any{"traceId": id, "events": events, "steps": steps, "functionLog": lines})
}

// connectionRow is one established connection, its times on the emulator's clock.
type connectionRow struct {
	ConnectionID    string    `json:"connectionId"`
	TraceID         string    `json:"traceId"`
	ClientID        string    `json:"clientId"`
	PrincipalID     string    `json:"principalId"`
	Protocol        string    `json:"protocol"`
	Source          string    `json:"source"`
	ConnectedAt     time.Time `json:"connectedAt"`
	RefreshAt       time.Time `json:"refreshAt,omitzero"`
	DisconnectAt    time.Time `json:"disconnectAt,omitzero"`
	PolicyDocuments []string  `json:"policyDocuments"`
}

// connections answers GET /console/api/connections?client=&offset=&limit=.
func (c *Console) connections(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := intParam(q.Get("limit"), defaultPage, maxPage)
	offset := intParam(q.Get("offset"), 0, 1<<30)
	client := q.Get("client")
	rows := []connectionRow{}
	total := 0
	for _, cn := range c.backend.Connections() {
		if client != "" && !strings.Contains(cn.ClientID, client) {
			continue
		}
		total++
		if total <= offset || len(rows) == limit {
			continue
		}
		proto := "MQTT 3.1.1"
		if cn.Protocol >= 5 {
			proto = "MQTT 5"
		}
		if cn.WebSocket {
			proto += " over WSS"
		}
		rows = append(rows, connectionRow{
			ConnectionID: cn.ConnectionID, TraceID: cn.TraceID, ClientID: cn.ClientID, PrincipalID: cn.PrincipalID,
			Protocol: proto, Source: cn.Source, ConnectedAt: cn.ConnectedAt,
			RefreshAt: cn.RefreshAt, DisconnectAt: cn.DisconnectAt, PolicyDocuments: cn.PolicyDocuments,
		})
	}
	writeJSON(w, map[string]any{"now": c.backend.Now(), "total": total, "connections": rows})
}

// functions answers GET /console/api/functions: each function's datapoints, times in Unix
// milliseconds and durations in milliseconds.
func (c *Console) functions(w http.ResponseWriter, _ *http.Request) {
	type point struct {
		T         int64   `json:"t"`
		Duration  float64 `json:"d"`
		Error     bool    `json:"e,omitempty"`
		Throttled bool    `json:"th,omitempty"`
		ColdStart bool    `json:"c,omitempty"`
	}
	type fn struct {
		Name       string  `json:"name"`
		ARN        string  `json:"arn"`
		Statements int     `json:"statements"`
		Points     []point `json:"points"`
	}
	out := []fn{}
	for _, f := range c.backend.Functions() {
		pts := make([]point, 0, len(f.Datapoints))
		for _, p := range f.Datapoints {
			pts = append(pts, point{T: p.Time.UnixMilli(), Duration: float64(p.Duration.Microseconds()) / 1000, Error: p.Error, Throttled: p.Throttled, ColdStart: p.ColdStart})
		}
		out = append(out, fn{Name: f.Name, ARN: f.ARN, Statements: f.Statements, Points: pts})
	}
	writeJSON(w, map[string]any{"functions": out})
}

// defaultAuthorizer answers GET /console/api/default-authorizer with {"name": ...}; the
// control plane's DescribeDefaultAuthorizer answers 404 when none is set, which a page
// cannot ask without an error in the browser's console.
func (c *Console) defaultAuthorizer(w http.ResponseWriter, _ *http.Request) {
	name, _ := c.backend.DefaultAuthorizer()
	writeJSON(w, map[string]string{"name": name})
}

// intParam parses a non-negative integer parameter, def when absent or bad, at most max.
func intParam(s string, def, max int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return def
	}
	return min(n, max)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}
