package console_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/internal/broker"
	"github.com/iotemu/iotemu/internal/console"
	"github.com/iotemu/iotemu/internal/localonly"
)

// Sizes of the load the console must stay responsive under.
const (
	loadEvents      = 10000
	loadConnections = 1000
)

// storeBackend is a console.Backend over a real event store filled by the test and a list
// of connections: opening 1,000 real connections would measure the machine, not the console.
type storeBackend struct {
	mem   *iotlog.Memory
	conns []broker.Connection
	now   time.Time
}

func (s storeBackend) Logs() *iotlog.Memory              { return s.mem }
func (s storeBackend) Subscribe(iotlog.Sink) func()      { return func() {} }
func (s storeBackend) Connections() []broker.Connection  { return s.conns }
func (s storeBackend) Functions() []console.Function     { return nil }
func (s storeBackend) Now() time.Time                    { return s.now }
func (s storeBackend) DefaultAuthorizer() (string, bool) { return "", false }

// testLoad opens the connections page over 10,000 events and 1,000 connections, pages and
// filters it, and reports how long each took to draw.
func testLoad(t *testing.T, b *browser) {
	now := time.Now().UTC()
	s := storeBackend{mem: iotlog.NewMemory(), now: now}
	for i := range loadEvents {
		e := iotlog.Event{Timestamp: now.Add(time.Duration(i) * time.Millisecond), LogLevel: "INFO", TraceID: strconv.Itoa(i), AccountID: account,
			Status: iotlog.StatusSuccess, EventType: iotlog.EventConnect, Protocol: iotlog.ProtocolMQTT, ClientID: fmt.Sprintf("device-%05d", i),
			PrincipalID: "p", SourceIP: "127.0.0.1", SourcePort: 40000 + i%20000}
		if i%10 == 0 {
			e.Status, e.EventType, e.Reason = iotlog.StatusFailure, iotlog.EventAuthNError, iotlog.ReasonSignatureMismatch
		}
		s.mem.WriteEvent(e)
	}
	if got := len(s.mem.Events()); got != loadEvents {
		t.Fatalf("the store kept %d of %d events: raise its budget for this test", got, loadEvents)
	}
	for i := range loadConnections {
		s.conns = append(s.conns, broker.Connection{ConnectionID: strconv.Itoa(i), ClientID: fmt.Sprintf("device-%05d", i), PrincipalID: "p",
			Protocol: 4, Source: "127.0.0.1:1", ConnectedAt: now, RefreshAt: now.Add(300 * time.Second), DisconnectAt: now.Add(24 * time.Hour),
			PolicyDocuments: []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`}})
	}
	c := console.New(s, http.NotFoundHandler())
	mux := http.NewServeMux()
	mux.Handle("/", c)
	mux.HandleFunc("GET /clock", func(w http.ResponseWriter, _ *http.Request) { // as the admin endpoint answers
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"now":%q}`, now.Format(time.RFC3339Nano))
	})
	srv := httptest.NewServer((&localonly.Guard{}).Handler(mux))
	t.Cleanup(srv.Close)
	t.Cleanup(c.Close) // first: ends the page's live stream, which srv.Close would wait for

	measure := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		start := time.Now()
		b.run(t, what, actions...)
		t.Logf("%s: %v", what, time.Since(start).Round(time.Millisecond))
	}
	measure("open the connections page and draw its first pages", chromedp.Navigate(srv.URL+"/#/connections"),
		chromedp.WaitVisible(chromedp.CSS(`#page[data-ready="1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#attempts tr:nth-child(100)`)), chromedp.WaitVisible(chromedp.CSS(`#current tr:nth-child(100)`)))
	b.screenshot(t, screenshotDir(t), "9-connections-under-load")
	measure("the next page of events", chromedp.Click(chromedp.CSS(`#older`)),
		chromedp.WaitVisible(chromedp.CSS(`#attempts tr[data-client="device-09899"]`)))
	measure("filter on a client ID", chromedp.SendKeys(chromedp.CSS(`#f-client`), "device-0424"),
		chromedp.WaitVisible(chromedp.CSS(`#attempts tr[data-client="device-04249"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#attempts tr[data-client="device-09999"]`)))
	ms, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](`window.lastRenderMs`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the last events page took %.1f ms in the page, from request to drawn rows", ms)
}
