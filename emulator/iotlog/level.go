package iotlog

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Level is the logLevel of an event, and the verbosity of AWS IoT's v2 logging.
type Level string

// Log levels, as AWS IoT writes them, from the least verbose to the most.
// AWS: "DISABLED (lowest), ERROR, WARN, INFO, and DEBUG (highest)"; ERROR logs ERROR
// entries only, WARN adds WARN, INFO adds INFO, DEBUG adds DEBUG.
const (
	LevelDisabled Level = "DISABLED" // a verbosity only: no event has it
	LevelError    Level = "ERROR"
	LevelWarn     Level = "WARN"
	LevelInfo     Level = "INFO"
	LevelDebug    Level = "DEBUG"
)

// rank orders the levels by verbosity; 0 is an unknown level.
func (l Level) rank() int {
	switch l {
	case LevelDisabled:
		return 1
	case LevelError:
		return 2
	case LevelWarn:
		return 3
	case LevelInfo:
		return 4
	case LevelDebug:
		return 5
	}
	return 0
}

// Includes reports whether a log set to verbosity l writes an entry of level entry.
func (l Level) Includes(entry Level) bool {
	return entry.rank() > 1 && entry.rank() <= l.rank()
}

// ParseLevel reads a level as AWS spells it (DEBUG, INFO, WARN, ERROR, DISABLED); case
// does not matter.
func ParseLevel(s string) (Level, error) {
	l := Level(strings.ToUpper(strings.TrimSpace(s)))
	if l.rank() == 0 {
		return "", fmt.Errorf("log level %q is not one of DEBUG, INFO, WARN, ERROR, DISABLED", s)
	}
	return l, nil
}

// levelOf is the level AWS writes an event at.
//
// AWS: the developer guide's examples (cwl-format) show every Success entry at INFO and every
// Failure entry at ERROR; the message broker writes no WARN or DEBUG entries of its own.
func levelOf(status string) Level {
	if status == StatusFailure {
		return LevelError
	}
	return LevelInfo
}

// TargetType is the kind of a resource-specific logging target (SetV2LoggingLevel's
// logTarget.targetType).
type TargetType string

// Target types. AWS: LogTarget's targetType is DEFAULT, THING_GROUP, CLIENT_ID, SOURCE_IP or
// PRINCIPAL_ID.
const (
	TargetDefault     TargetType = "DEFAULT"
	TargetThingGroup  TargetType = "THING_GROUP"
	TargetClientID    TargetType = "CLIENT_ID"
	TargetSourceIP    TargetType = "SOURCE_IP"
	TargetPrincipalID TargetType = "PRINCIPAL_ID"
)

// ParseTargetType reads a target type as AWS spells it.
func ParseTargetType(s string) (TargetType, error) {
	switch t := TargetType(s); t {
	case TargetDefault, TargetThingGroup, TargetClientID, TargetSourceIP, TargetPrincipalID:
		return t, nil
	}
	return "", fmt.Errorf("target type %q is not one of DEFAULT, THING_GROUP, CLIENT_ID, SOURCE_IP, PRINCIPAL_ID", s)
}

// Target names one resource whose events get their own level.
type Target struct {
	Type TargetType
	Name string
}

// TargetLevel is one resource-specific level (ListV2LoggingLevels' logTargetConfigurations).
type TargetLevel struct {
	Target Target
	Level  Level
}

// Levels is AWS IoT's v2 logging configuration: a default level and resource-specific
// overrides. The zero value logs at the default verbosity DefaultLevel with no overrides.
type Levels struct {
	// Default is the account's defaultLogLevel; "" means DefaultLevel.
	Default Level
	// DisableAll is disableAllLogs: no event is written, whatever the levels say.
	DisableAll bool
	// RoleARN is accepted and returned as AWS does; the emulator needs no role.
	RoleARN string
	// Targets are the resource-specific levels. THING_GROUP levels are kept and listed, but
	// match no connection until the emulator has things.
	Targets map[Target]Level
}

// DefaultLevel is the verbosity when nothing is configured. AWS writes nothing until logging
// is configured; iotemu exists to show what happens, so it logs at INFO, which includes every
// entry the message broker writes.
const DefaultLevel = LevelInfo

// Who identifies the connection an event belongs to, for resource-specific levels.
type Who struct {
	ClientID    string
	SourceIP    string
	PrincipalID string
}

// levelTable is an immutable compiled Levels, swapped atomically in the Logger.
type levelTable struct {
	cfg Levels
	def Level
}

func newLevelTable(cfg Levels) *levelTable {
	cfg.Targets = maps.Clone(cfg.Targets)
	def := cfg.Default
	if def == "" {
		def = DefaultLevel
	}
	return &levelTable{cfg: cfg, def: def}
}

// verbosity is the level in force for w.
//
// AWS: a resource-specific level overrides the default level for the events of that
// resource. AWS (inferred): when several targets match one connection (its client ID and its
// source IP, say), the most verbose of their levels applies, so raising one device's level is
// never undone by another rule.
func (t *levelTable) verbosity(w *Who) Level {
	if t.cfg.DisableAll {
		return LevelDisabled
	}
	if len(t.cfg.Targets) == 0 || w == nil {
		return t.def
	}
	found, best := false, LevelDisabled
	for _, target := range [...]Target{{TargetClientID, w.ClientID}, {TargetSourceIP, w.SourceIP}, {TargetPrincipalID, w.PrincipalID}} {
		if target.Name == "" {
			continue
		}
		if l, ok := t.cfg.Targets[target]; ok {
			found = true
			if l.rank() > best.rank() {
				best = l
			}
		}
	}
	if !found {
		return t.def
	}
	return best
}

// SortTargets lists resource-specific levels sorted by target type, then name.
func SortTargets(targets map[Target]Level) []TargetLevel {
	out := make([]TargetLevel, 0, len(targets))
	for _, k := range slices.SortedFunc(maps.Keys(targets), func(a, b Target) int {
		if c := strings.Compare(string(a.Type), string(b.Type)); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	}) {
		out = append(out, TargetLevel{Target: k, Level: targets[k]})
	}
	return out
}
