package iotlog

import (
	"errors"
	"io"
	"os"
	"sync"
)

// lineWriter writes whole lines to w, one Write call per line, under a
// lock, and remembers the first error.
type lineWriter struct {
	mu     sync.Mutex
	w      io.Writer
	err    error
	closed bool
}

// writeLine writes b followed by a newline, unless an earlier write failed
// or the writer is closed.
func (lw *lineWriter) writeLine(b []byte) {
	line := append(b, '\n')
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.closed || lw.err != nil {
		return
	}
	if _, err := lw.w.Write(line); err != nil {
		lw.err = err
	}
}

// jsonSink writes each event and trace as one JSON line.
type jsonSink struct{ out *lineWriter }

// NewJSONSink returns a sink writing one JSON object per line to w: events
// exactly as AWS IoT writes them, traces as Trace.MarshalJSON describes
// (told apart by their "iotemuTrace" member). After a write error the sink
// writes nothing more.
func NewJSONSink(w io.Writer) Sink {
	return &jsonSink{out: &lineWriter{w: w}}
}

// WriteEvent writes e as one line.
func (s *jsonSink) WriteEvent(e Event) { writeJSON(s.out, e.MarshalJSON) }

// WriteTrace writes t as one line.
func (s *jsonSink) WriteTrace(t Trace) { writeJSON(s.out, t.MarshalJSON) }

// WriteFunctionLine writes l as one JSON line.
func (s *jsonSink) WriteFunctionLine(l FunctionLine) { writeJSON(s.out, l.MarshalJSON) }

// writeJSON encodes a record and writes it; a record that fails to encode
// is dropped.
func writeJSON(out *lineWriter, marshal func() ([]byte, error)) {
	b, err := marshal()
	if err != nil {
		return
	}
	out.writeLine(b)
}

// FileSink is a JSON lines sink appending to a file.
type FileSink struct {
	f   *os.File
	out *lineWriter
}

// OpenFile opens path for appending (creating it with mode 0644 if needed)
// and returns a sink writing JSON lines to it, like NewJSONSink.
func OpenFile(path string) (*FileSink, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &FileSink{f: f, out: &lineWriter{w: f}}, nil
}

// WriteEvent appends e as one line.
func (s *FileSink) WriteEvent(e Event) { writeJSON(s.out, e.MarshalJSON) }

// WriteTrace appends t as one line.
func (s *FileSink) WriteTrace(t Trace) { writeJSON(s.out, t.MarshalJSON) }

// WriteFunctionLine appends l as one JSON line.
func (s *FileSink) WriteFunctionLine(l FunctionLine) { writeJSON(s.out, l.MarshalJSON) }

// Close closes the file. Records written afterwards are dropped. It returns
// the first write error, if any, joined with the error of closing; a second
// Close returns nil.
func (s *FileSink) Close() error {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	if s.out.closed {
		return nil
	}
	s.out.closed = true
	return errors.Join(s.out.err, s.f.Close())
}
