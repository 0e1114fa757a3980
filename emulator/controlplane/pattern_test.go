package controlplane

import (
	"strings"
	"testing"

	"github.com/iotemu/iotemu/emulator/insights"
)

func TestMatchPattern(t *testing.T) {
	events := []insights.Event{
		{Message: `{"status":"Failure","clientId":"a","sourcePort":1,"details":{"reason":"x y"}}`},
		{Message: `{"status":"Success","clientId":"b","sourcePort":2}`},
		{Message: "START RequestId: 1 Version: $LATEST"},
		{Message: "plain ERROR text with a quoted phrase"},
	}
	tests := []struct {
		pattern string
		want    string // one 0/1 per event
	}{
		{"", "1111"},
		{"ERROR", "0001"},
		{"ERROR text", "0001"},
		{"ERROR missing", "0000"},
		{`"quoted phrase"`, "0001"},
		{"?START ?ERROR", "0011"},
		{"-ERROR", "1110"},
		{"Failure -b", "1000"},
		{`{ $.status = "Failure" }`, "1000"},
		{`{ $.status = "Success" || $.sourcePort = 1 }`, "1100"},
		{`{ $.status != "Failure" && $.sourcePort >= 2 }`, "0100"},
		{`{ $.details.reason = "x y" }`, "1000"},
		{`{ $.clientId = "a||b" }`, "0000"},
	}
	for _, tt := range tests {
		matched, err := matchPattern(tt.pattern, events)
		if err != nil {
			t.Errorf("%q: %v", tt.pattern, err)
			continue
		}
		var got strings.Builder
		for _, m := range matched {
			if m {
				got.WriteByte('1')
			} else {
				got.WriteByte('0')
			}
		}
		if got.String() != tt.want {
			t.Errorf("%q matched %s, want %s", tt.pattern, got.String(), tt.want)
		}
	}
	for _, bad := range []string{"[ip, user]", `{ $.status = }`} {
		if _, err := matchPattern(bad, events); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
