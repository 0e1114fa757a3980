package emulator

import (
	"context"
	"io"

	"github.com/iotemu/iotemu/emulator/iotlog"
)

// setupLog builds the log pipeline: the in-memory store, the stdout stream Config.Log.Format
// chooses, the JSON file, and AWS's logging levels.
func (e *Emulator) setupLog(stdout io.Writer) error {
	sinks := []iotlog.Sink{e.memory}
	if stdout != nil {
		switch e.cfg.Log.Format {
		case "", "text":
			sinks = append(sinks, iotlog.NewTextSink(stdout, e.cfg.Log.Verbose))
		case "json":
			sinks = append(sinks, iotlog.NewJSONSink(stdout))
		}
	}
	if e.cfg.Log.File != "" {
		f, err := iotlog.OpenFile(e.path(e.cfg.Log.File))
		if err != nil {
			return err
		}
		e.closers = append(e.closers, f)
		sinks = append(sinks, f)
	}
	levels, err := e.cfg.Log.levels()
	if err != nil {
		return err
	}
	e.log = iotlog.NewWithOptions(iotlog.Options{Levels: levels}, sinks...)
	return nil
}

// Logs returns the in-memory log: the newest AWS events, decision traces and function log
// lines, within Options.LogMemoryBytes. It first waits until every record logged before the
// call has reached it (the log is written off the devices' goroutines), so a test that
// reads it after an action sees that action's records.
func (e *Emulator) Logs() *iotlog.Memory {
	_ = e.log.Flush(context.Background())
	return e.memory
}

// SubscribeLog adds a sink to the emulator's log: from now on it receives every AWS event
// the logging levels let through, every decision trace and every function log line, from
// the log's own goroutine (see iotlog.Logger). The returned function unsubscribes it. A
// query engine or a live console subscribes here; to read what is already stored, use Logs.
func (e *Emulator) SubscribeLog(s iotlog.Sink) (unsubscribe func()) { return e.log.Subscribe(s) }

// LogStats returns the log pipeline's counters: records accepted, and records dropped
// because its queue was full (a device is never made to wait for the log).
func (e *Emulator) LogStats() iotlog.Stats { return e.log.Stats() }

// LogLevels returns AWS IoT's v2 logging configuration in force.
func (e *Emulator) LogLevels() iotlog.Levels { return e.log.Levels() }

// SetLogLevels replaces AWS IoT's v2 logging configuration (the default level, disableAllLogs
// and the resource-specific levels), as SetV2LoggingOptions and SetV2LoggingLevel do; it
// applies to events from now on.
func (e *Emulator) SetLogLevels(l iotlog.Levels) { e.log.SetLevels(l) }
