package workpool

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestJobsNeverWait checks that a job blocked in a worker does not delay the next: each job
// waits until every job has started, so the test ends only if they all run at once.
func TestJobsNeverWait(t *testing.T) {
	const jobs = 20
	var started, done sync.WaitGroup
	started.Add(jobs)
	done.Add(jobs)
	p := New(time.Minute, func(int) {
		started.Done()
		started.Wait()
		done.Done()
	})
	for i := range jobs {
		p.Go(i)
	}
	done.Wait()
	if n := p.started.Load(); n != jobs {
		t.Errorf("%d workers started for %d jobs that all blocked", n, jobs)
	}
}

// TestWorkersAreReused checks that jobs given one after the other mostly run on a worker that
// is already there instead of a new goroutine each.
func TestWorkersAreReused(t *testing.T) {
	const jobs = 100
	ran := make(chan int)
	p := New(time.Minute, func(i int) { ran <- i })
	for i := range jobs {
		p.Go(i)
		if got := <-ran; got != i {
			t.Fatalf("job %d ran as %d", i, got)
		}
		// Let the worker get back to waiting. Without the pause a job may still find no idle
		// worker, and start one: allowed, but it should be rare.
		time.Sleep(time.Millisecond)
	}
	if n := p.started.Load(); n > jobs/2 {
		t.Errorf("%d workers started for %d jobs given one after the other", n, jobs)
	}
}

// TestIdleWorkerEnds checks that a worker without a job for the idle time ends.
func TestIdleWorkerEnds(t *testing.T) {
	before := runtime.NumGoroutine()
	ran := make(chan struct{})
	p := New(time.Millisecond, func(struct{}) { ran <- struct{}{} })
	p.Go(struct{}{})
	<-ran
	for runtime.NumGoroutine() > before {
		time.Sleep(time.Millisecond) // the test's own timeout bounds the wait
	}
}
