package iotlog

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestFunctionLinesReachEverySink(t *testing.T) {
	var text, js bytes.Buffer
	mem := NewMemory()
	l := New(NewTextSink(&text, true), NewJSONSink(&js), mem)
	at := time.Date(2026, 11, 25, 20, 5, 25, 634e6, time.UTC)
	l.FunctionLine(FunctionLine{Time: at, LogGroup: "/aws/lambda/auth", RequestID: "r1", Message: "START RequestId: r1 Version: $LATEST"})
	l.FunctionLine(FunctionLine{Time: at, LogGroup: "/aws/lambda/auth", RequestID: "r2", Message: "other"})
	l.Close()

	if got, want := text.String(), "20:05:25.634 /aws/lambda/auth START RequestId: r1 Version: $LATEST\n"; !strings.HasPrefix(got, want) {
		t.Errorf("text = %q, want prefix %q", got, want)
	}
	want := `{"iotemuFunctionLog":true,"timestamp":"2026-11-25 20:05:25.634","logGroup":"/aws/lambda/auth","requestId":"r1","message":"START RequestId: r1 Version: $LATEST"}`
	if got := strings.SplitN(js.String(), "\n", 2)[0]; got != want {
		t.Errorf("json = %s\nwant   %s", got, want)
	}
	if got := mem.FunctionLines("r1"); len(got) != 1 || got[0].Message != "START RequestId: r1 Version: $LATEST" {
		t.Errorf("memory lines for r1 = %+v", got)
	}
	if got := mem.FunctionLines(""); len(got) != 2 {
		t.Errorf("memory holds %d lines, want 2", len(got))
	}
}
