package iotlog

import (
	"bufio"
	"errors"
	"io"
	"os"
	"sync"
)

// lineWriter buffers whole lines for w and remembers the first error. The Logger writes from
// its one goroutine and flushes when its queue runs empty, so a burst of records costs one
// write; the lock only orders that with Close.
type lineWriter struct {
	mu     sync.Mutex
	buf    *bufio.Writer
	err    error
	closed bool
}

func newLineWriter(w io.Writer) *lineWriter {
	return &lineWriter{buf: bufio.NewWriterSize(w, 64<<10)}
}

// writeLine writes b followed by a newline, unless an earlier write failed
// or the writer is closed.
func (lw *lineWriter) writeLine(b []byte) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.closed || lw.err != nil {
		return
	}
	_, _ = lw.buf.Write(b)
	if err := lw.buf.WriteByte('\n'); err != nil {
		lw.err = err
	}
}

// Flush writes the buffered lines.
func (lw *lineWriter) Flush() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.closed || lw.err != nil {
		return lw.err
	}
	lw.err = lw.buf.Flush()
	return lw.err
}

// jsonSink writes each event and trace as one JSON line.
type jsonSink struct{ *lineWriter }

// NewJSONSink returns a sink writing one JSON object per line to w: events
// exactly as AWS IoT writes them, traces as Trace.MarshalJSON describes
// (told apart by their "iotemuTrace" member). After a write error the sink
// writes nothing more.
func NewJSONSink(w io.Writer) Sink {
	return &jsonSink{newLineWriter(w)}
}

// WriteEvent writes e as one line.
func (s *jsonSink) WriteEvent(e Event) { writeJSON(s.lineWriter, e.MarshalJSON) }

// WriteTrace writes t as one line.
func (s *jsonSink) WriteTrace(t Trace) { writeJSON(s.lineWriter, t.MarshalJSON) }

// WriteFunctionLine writes l as one JSON line.
func (s *jsonSink) WriteFunctionLine(l FunctionLine) { writeJSON(s.lineWriter, l.MarshalJSON) }

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
	f *os.File
	*lineWriter
}

// OpenFile opens path for appending (creating it with mode 0644 if needed)
// and returns a sink writing JSON lines to it, like NewJSONSink.
func OpenFile(path string) (*FileSink, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &FileSink{f: f, lineWriter: newLineWriter(f)}, nil
}

// WriteEvent appends e as one line.
func (s *FileSink) WriteEvent(e Event) { writeJSON(s.lineWriter, e.MarshalJSON) }

// WriteTrace appends t as one line.
func (s *FileSink) WriteTrace(t Trace) { writeJSON(s.lineWriter, t.MarshalJSON) }

// WriteFunctionLine appends l as one JSON line.
func (s *FileSink) WriteFunctionLine(l FunctionLine) { writeJSON(s.lineWriter, l.MarshalJSON) }

// Close flushes and closes the file. Records written afterwards are dropped. It returns
// the first write error, if any, joined with the error of closing; a second
// Close returns nil. Close the Logger first, so that everything queued is written.
func (s *FileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.err == nil {
		s.err = s.buf.Flush()
	}
	return errors.Join(s.err, s.f.Close())
}
