package lambdarunner

import (
	"context"
	"time"
)

// Runtime runs a function's code: it is what differs between the kinds (in-process,
// executable, remote). A Function wraps a Runtime with what every kind shares: request IDs,
// deadlines, START/END/REPORT log lines and metrics.
type Runtime interface {
	// Run invokes the code once. It returns the function's answer, a *FunctionError when the
	// function failed, or another error when it could not be run. It fills in what it learns
	// about the invocation (cold start, memory) in inv, and sends the lines the function
	// writes to inv.Log.
	Run(ctx context.Context, inv *Invocation) ([]byte, error)
}

// Invocation is one invocation as a Runtime sees it.
type Invocation struct {
	// RequestID is the Lambda request ID (a UUID), the same in every log line of the
	// invocation.
	RequestID string
	// Event is the payload.
	Event []byte
	// Deadline is when Lambda would cut the invocation (also ctx's deadline).
	Deadline time.Time
	// Log receives each line the function writes during the invocation, and during the init
	// of the instance started for it.
	Log func(text string)
	// Started is called when the function takes the invocation (for an instance started for
	// it, when its init is over); Lambda's START line goes there. Call it through Start.
	Started func()

	// Filled in by the Runtime.

	// ColdStart is true when an instance was started for this invocation.
	ColdStart bool
	// MaxMemoryUsedMB is the instance's peak memory, 0 when unknown.
	MaxMemoryUsedMB int
	// InitDuration is how long the instance started for this invocation took to be ready.
	InitDuration time.Duration
}

// Start reports that the function took the invocation.
func (inv *Invocation) Start() {
	if inv.Started != nil {
		inv.Started()
	}
}

// Closer is implemented by runtimes that hold processes or connections.
type Closer interface {
	Close() error
}
