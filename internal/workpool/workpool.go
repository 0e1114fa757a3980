// Package workpool runs jobs on goroutines that outlive one job.
//
// A goroutine started for each short job costs more than its start: it begins with a small
// stack that deep work (a TLS write, decoding JSON) must grow, and once it ends, the runtime
// hands its stack, at the size it then gives new goroutines, to the next goroutine started,
// whatever that one needs. A long-lived goroutine that takes such a stack (an idle MQTT
// connection's writer) keeps it for its life. A Pool's workers keep their stacks between jobs,
// and a steady flow of jobs leaves no ended goroutines behind.
package workpool

import (
	"sync/atomic"
	"time"
)

// Pool runs jobs of type T with one function. A job never waits for a worker: it goes to an idle
// worker if there is one, and to a new worker otherwise, so a job that blocks (a write to a
// socket that does not drain) never delays another. A worker that has had no job for the idle
// time ends. The zero value is not usable; make one with New.
type Pool[T any] struct {
	jobs    chan T // to the idle workers
	run     func(T)
	idle    time.Duration
	started atomic.Int64 // workers started, for tests
}

// New returns a Pool that runs each job with run, on workers that end after idle without a job.
func New[T any](idle time.Duration, run func(T)) *Pool[T] {
	return &Pool[T]{jobs: make(chan T), run: run, idle: idle}
}

// Go runs job on an idle worker, or on a new one when none is idle. It never blocks.
func (p *Pool[T]) Go(job T) {
	select {
	case p.jobs <- job:
	default:
		p.started.Add(1)
		go p.work(job)
	}
}

// work runs job, then the jobs handed to it, until it has been idle for p.idle.
func (p *Pool[T]) work(job T) {
	idle := time.NewTimer(p.idle)
	defer idle.Stop()
	for {
		p.run(job)
		idle.Reset(p.idle)
		select {
		case job = <-p.jobs:
		case <-idle.C:
			return
		}
	}
}
