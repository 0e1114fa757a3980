package scenarios

import (
	"cmp"
	"context"
	"crypto/rsa"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"time"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/clock"
	"github.com/iotemu/iotemu/lambdarunner"

	"github.com/iotemu/iotemu/internal/syncbuf"
)

// Runner runs scenarios, each against its own in-process emulator on a virtual clock, with
// real MQTT and HTTPS clients over real sockets.
type Runner struct {
	// Parallel bounds how many scenarios run at once; 0 means GOMAXPROCS*2.
	Parallel int
	// Executables replaces, in every scenario that has it, the function of each name with a
	// local executable (function kind executable), to see which cases an authorizer gets right.
	Executables map[string]string
	// Substitute, when not nil, runs every scenario with a user's function and credentials
	// (see Substitute).
	Substitute *Substitute
}

// Result is the outcome of one scenario.
type Result struct {
	Scenario *Scenario
	// Steps holds the steps that ran: all of them, or up to the first that failed.
	Steps []StepResult
	// NotRun counts the steps after a failed one.
	NotRun int
	// Err is set when the scenario could not run at all (its emulator did not start).
	Err error
	// Log is the emulator's log as text (events, decision trace, function log lines); kept
	// only when the scenario failed.
	Log      string
	Duration time.Duration
}

// StepResult is the outcome of one step.
type StepResult struct {
	Index  int // from 1
	Line   int // in the scenario file
	Step   string
	Want   string
	Saw    string
	Passed bool
}

// Passed reports whether the scenario ran and every step passed.
func (r *Result) Passed() bool {
	return r.Err == nil && (len(r.Steps) == 0 || r.Steps[len(r.Steps)-1].Passed)
}

// Failure says in one line why the scenario failed; "" when it passed.
func (r *Result) Failure() string {
	switch {
	case r.Err != nil:
		return r.Err.Error()
	case r.Passed():
		return ""
	}
	s := r.Steps[len(r.Steps)-1]
	return fmt.Sprintf("step %d (%s:%d) %s: want %s; saw %s", s.Index, r.Scenario.File, s.Line, s.Step, s.Want, s.Saw)
}

// Run runs the scenarios in parallel and returns their results in the order given. done, if
// not nil, is called with each result in that order, as soon as it and those before it are
// known. Scenarios that take longest (slow functions) start first.
func (r *Runner) Run(ctx context.Context, scs []*Scenario, done func(*Result)) []*Result {
	results := make([]*Result, len(scs))
	ready := make([]chan struct{}, len(scs))
	for i := range ready {
		ready[i] = make(chan struct{})
	}
	order := make([]int, len(scs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scs[b].cost(), scs[a].cost()) })
	parallel := r.Parallel
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0) * 2
	}
	sem := make(chan struct{}, parallel)
	go func() {
		for _, i := range order {
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				results[i] = r.RunOne(ctx, scs[i])
				close(ready[i])
			}()
		}
	}()
	for i := range scs {
		<-ready[i]
		if done != nil {
			done(results[i])
		}
	}
	return results
}

// cost estimates how long a scenario takes beyond its steps' round trips: its functions'
// sleeps and the windows in which it waits for nothing to happen.
func (sc *Scenario) cost() time.Duration {
	var d time.Duration
	for _, answers := range sc.static {
		for _, a := range answers {
			d += min(a.sleep, lambdarunner.DefaultTimeout)
		}
	}
	for _, st := range sc.steps {
		if w, ok := st.action().(interface{ window() time.Duration }); ok {
			d += w.window()
		}
	}
	return d
}

// RunOne runs one scenario.
func (r *Runner) RunOne(ctx context.Context, sc *Scenario) *Result {
	start := time.Now()
	res := &Result{Scenario: sc}
	defer func() { res.Duration = time.Since(start) }()
	if r.Substitute != nil {
		sc = sc.substituted(r.Substitute)
	}
	log := &syncbuf.Buffer{}
	x, err := r.start(ctx, sc, log)
	if err != nil {
		res.Err = err
		return res
	}
	defer x.close()
	for i, st := range sc.steps {
		a := st.action()
		o := a.run(x)
		res.Steps = append(res.Steps, StepResult{Index: i + 1, Line: st.at.line, Step: a.describe(), Want: o.want, Saw: o.saw, Passed: o.ok})
		if !o.ok {
			res.NotRun = len(sc.steps) - i - 1
			res.Log = log.String()
			break
		}
	}
	return res
}

// execution is one scenario running.
type execution struct {
	ctx     context.Context
	sc      *Scenario
	emu     *emulator.Emulator
	keys    map[string]*rsa.PrivateKey
	devices map[string]*device
	certs   map[string]*emulator.DeviceCertificate // setup.certificates, with their keys
}

// start starts the scenario's emulator and resolves its devices.
func (r *Runner) start(ctx context.Context, sc *Scenario, log *syncbuf.Buffer) (*execution, error) {
	x := &execution{ctx: ctx, sc: sc, keys: map[string]*rsa.PrivateKey{}, devices: map[string]*device{}}
	generated := 0
	for _, name := range slices.Sorted(maps.Keys(sc.setup.Keys)) {
		if k := sc.setup.Keys[name]; k != nil && k.File != "" {
			x.keys[name] = sc.keyFiles[k]
			continue
		}
		k, err := generatedKeys.get(generated)
		if err != nil {
			return nil, fmt.Errorf("generate key %s: %w", name, err)
		}
		x.keys[name] = k
		generated++
	}
	cfg, err := r.config(sc, x.keys)
	if err != nil {
		return nil, err
	}
	x.emu, err = emulator.Start(cfg, emulator.Options{Clock: clock.NewVirtual(time.Now()), Stdout: log})
	if err != nil {
		return nil, err
	}
	if err := x.setupX509(); err != nil {
		x.emu.Close()
		return nil, err
	}
	for name, c := range sc.clients {
		d, err := x.newDevice(name, c)
		if err != nil {
			x.close()
			return nil, fmt.Errorf("client %s: %w", name, err)
		}
		x.devices[name] = d
	}
	return x, nil
}

// close disconnects every device and stops the emulator.
func (x *execution) close() {
	for _, d := range x.devices {
		d.close()
	}
	x.emu.Close()
}
