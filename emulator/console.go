package emulator

import (
	"time"

	"github.com/iotemu/iotemu/emulator/controlplane"
	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/internal/broker"
	"github.com/iotemu/iotemu/internal/console"
)

// newConsole returns the web console served on the admin endpoint: a view over the event
// store that changes the emulator through the control plane.
func (e *Emulator) newConsole() *console.Console {
	return console.New(consoleBackend{e}, controlplane.New(apiBackend{e}))
}

// consoleBackend is the emulator as the console reads it.
type consoleBackend struct{ e *Emulator }

// Logs implements console.Backend.
func (b consoleBackend) Logs() *iotlog.Memory { return b.e.Logs() }

// Subscribe implements console.Backend.
func (b consoleBackend) Subscribe(s iotlog.Sink) func() { return b.e.log.Subscribe(s) }

// Connections implements console.Backend.
func (b consoleBackend) Connections() []broker.Connection { return b.e.broker.Connections() }

// Now implements console.Backend.
func (b consoleBackend) Now() time.Time { return b.e.clock.Now() }

// Functions implements console.Backend.
func (b consoleBackend) Functions() []console.Function {
	var out []console.Function
	for _, fn := range b.e.registry.functionList() {
		_, sts, _ := b.e.registry.statements(fn.Name()) // the function exists: it was just listed
		out = append(out, console.Function{Name: fn.Name(), ARN: fn.ARN(), Datapoints: fn.Datapoints(), Statements: len(sts)})
	}
	return out
}

// DefaultAuthorizer implements console.Backend.
func (b consoleBackend) DefaultAuthorizer() (string, bool) { return b.e.registry.DefaultAuthorizer() }
