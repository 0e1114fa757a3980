package lambdarunner

import (
	"errors"
	"slices"
	"sync"
	"time"
)

// ErrThrottled is returned when every instance a function may run is busy: Lambda's
// TooManyRequestsException for a synchronous invocation.
var ErrThrottled = errors.New("rate exceeded: the function's concurrency limit is reached (TooManyRequestsException)")

// Metrics are a function's invocation metrics, as CloudWatch shows them for Lambda: the
// troubleshooting guide's "check the invocation metrics" step.
type Metrics struct {
	Invocations int64 // invocations that ran (throttled ones do not count, as in Lambda)
	Errors      int64 // invocations that failed: function errors, crashes and timeouts
	Timeouts    int64
	Throttles   int64
	ColdStarts  int64
	DurationP50 time.Duration
	DurationP99 time.Duration
}

// durationWindow is how many recent durations the percentiles are computed from.
const durationWindow = 4096

// MaxDatapoints is how many invocations' datapoints a function keeps (the newest).
const MaxDatapoints = 10000

// Datapoint is what one invocation, or one throttled request, adds to CloudWatch's AWS/Lambda
// metrics for the function.
type Datapoint struct {
	Time        time.Time     // when the invocation started
	Duration    time.Duration // 0 when throttled
	Error       bool          // the invocation failed (function error, crash, timeout)
	Throttled   bool          // the request was throttled and did not run
	Concurrency int           // invocations of the function running at the time, this one included
	ColdStart   bool          // the invocation started a new instance (its REPORT has an Init Duration)
}

type metrics struct {
	mu        sync.Mutex
	m         Metrics
	durations []time.Duration // ring of the last durationWindow durations
	next      int
	running   int
	points    []Datapoint // ring of the last MaxDatapoints datapoints
	nextPoint int
}

func newMetrics() *metrics { return &metrics{} }

// begin counts an invocation as running and returns how many are.
func (s *metrics) begin() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running++
	return s.running
}

func (s *metrics) record(start time.Time, concurrency int, d time.Duration, err error, timedOut, throttled, cold bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running--
	p := Datapoint{Time: start, Duration: d, Error: err != nil && !throttled, Throttled: throttled, Concurrency: concurrency, ColdStart: cold && !throttled}
	if throttled {
		p.Duration, p.Concurrency = 0, 0
	}
	if len(s.points) < MaxDatapoints {
		s.points = append(s.points, p)
	} else {
		s.points[s.nextPoint] = p
		s.nextPoint = (s.nextPoint + 1) % MaxDatapoints
	}
	if throttled {
		s.m.Throttles++
		return
	}
	s.m.Invocations++
	if err != nil {
		s.m.Errors++
	}
	if timedOut {
		s.m.Timeouts++
	}
	if cold {
		s.m.ColdStarts++
	}
	if len(s.durations) < durationWindow {
		s.durations = append(s.durations, d)
	} else {
		s.durations[s.next] = d
		s.next = (s.next + 1) % durationWindow
	}
}

func (s *metrics) snapshot() Metrics {
	s.mu.Lock()
	m := s.m
	d := slices.Clone(s.durations)
	s.mu.Unlock()
	if len(d) > 0 {
		slices.Sort(d)
		m.DurationP50 = d[(len(d)-1)*50/100]
		m.DurationP99 = d[(len(d)-1)*99/100]
	}
	return m
}

// datapoints returns the kept datapoints, oldest first.
func (s *metrics) datapoints() []Datapoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(slices.Clone(s.points[s.nextPoint:]), s.points[:s.nextPoint]...)
}
