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

type metrics struct {
	mu        sync.Mutex
	m         Metrics
	durations []time.Duration // ring of the last durationWindow durations
	next      int
}

func newMetrics() *metrics { return &metrics{} }

func (s *metrics) record(d time.Duration, err error, timedOut, throttled, cold bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
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
