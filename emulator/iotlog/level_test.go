package iotlog

import "testing"

func TestLevelsFilterAtTheSource(t *testing.T) {
	dev := &Who{ClientID: "dev1", SourceIP: "10.0.0.7", PrincipalID: "p1"}
	other := &Who{ClientID: "dev2", SourceIP: "10.0.0.8", PrincipalID: "p2"}
	cases := []struct {
		name            string
		levels          Levels
		who             *Who
		success, failed bool
	}{
		{"default INFO", Levels{}, dev, true, true},
		{"ERROR hides successes", Levels{Default: LevelError}, dev, false, true},
		{"WARN hides successes", Levels{Default: LevelWarn}, dev, false, true},
		{"DEBUG shows all", Levels{Default: LevelDebug}, dev, true, true},
		{"DISABLED hides all", Levels{Default: LevelDisabled}, dev, false, false},
		{"disableAllLogs wins over a target", Levels{DisableAll: true, Targets: map[Target]Level{{TargetClientID, "dev1"}: LevelDebug}}, dev, false, false},
		{"client ID target", Levels{Default: LevelError, Targets: map[Target]Level{{TargetClientID, "dev1"}: LevelDebug}}, dev, true, true},
		{"target of another client", Levels{Default: LevelError, Targets: map[Target]Level{{TargetClientID, "dev1"}: LevelDebug}}, other, false, true},
		{"source IP target", Levels{Default: LevelError, Targets: map[Target]Level{{TargetSourceIP, "10.0.0.7"}: LevelInfo}}, dev, true, true},
		{"principal target lowers", Levels{Default: LevelInfo, Targets: map[Target]Level{{TargetPrincipalID, "p1"}: LevelDisabled}}, dev, false, false},
		{"most verbose match wins", Levels{Targets: map[Target]Level{{TargetPrincipalID, "p1"}: LevelDisabled, {TargetClientID, "dev1"}: LevelDebug}}, dev, true, true},
		{"thing group matches nobody yet", Levels{Default: LevelError, Targets: map[Target]Level{{TargetThingGroup, "dev1"}: LevelDebug}}, dev, false, true},
		{"no connection: default", Levels{Default: LevelError, Targets: map[Target]Level{{TargetClientID, ""}: LevelDebug}}, nil, false, true},
	}
	for _, tc := range cases {
		l := NewWithOptions(Options{Levels: tc.levels})
		if got := l.Enabled(StatusSuccess, tc.who); got != tc.success {
			t.Errorf("%s: success enabled %t, want %t", tc.name, got, tc.success)
		}
		if got := l.Enabled(StatusFailure, tc.who); got != tc.failed {
			t.Errorf("%s: failure enabled %t, want %t", tc.name, got, tc.failed)
		}
		l.Close()
	}
}

func TestParseLevel(t *testing.T) {
	for _, s := range []string{"DEBUG", "info", " Warn ", "ERROR", "DISABLED"} {
		if _, err := ParseLevel(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	if _, err := ParseLevel("TRACE"); err == nil {
		t.Error("TRACE accepted")
	}
}
