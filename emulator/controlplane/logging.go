package controlplane

import (
	"net/http"
	"strconv"

	"github.com/iotemu/iotemu/emulator/iotlog"
)

// Logging is the part of the Backend that holds AWS IoT's v2 logging configuration.
type Logging interface {
	// LogLevels returns the logging configuration in force.
	LogLevels() iotlog.Levels
	// UpdateLogLevels changes it atomically (see iotlog.Logger.UpdateLevels).
	UpdateLogLevels(update func(*iotlog.Levels))
	// ShowSecrets says whether the decision trace may hold tokens, signatures and passwords
	// in full (log.showSecrets), for TestInvokeAuthorizer's trace as for devices'.
	ShowSecrets() bool
}

// logTarget is LogTarget: AWS: {"targetType": ..., "targetName": ...}.
type logTarget struct {
	TargetType string `json:"targetType"`
	TargetName string `json:"targetName,omitempty"`
}

// logTargetConfiguration is an entry of ListV2LoggingLevels' logTargetConfigurations.
type logTargetConfiguration struct {
	LogTarget logTarget    `json:"logTarget"`
	LogLevel  iotlog.Level `json:"logLevel"`
}

// maxTargetName bounds a target name. AWS: targetName is 1-128 characters
// (AWS::IoT::ResourceSpecificLogging).
const maxTargetName = 128

// setV2LoggingOptions is SetV2LoggingOptions: POST /v2LoggingOptions.
func (h *Handler) setV2LoggingOptions(w http.ResponseWriter, r *http.Request) {
	var body struct {
		RoleArn         string `json:"roleArn"`
		DefaultLogLevel string `json:"defaultLogLevel"`
		DisableAllLogs  bool   `json:"disableAllLogs"`
	}
	if !readJSON(w, r, &body, ErrInvalid) {
		return
	}
	var level iotlog.Level
	if body.DefaultLogLevel != "" {
		var err error
		if level, err = parseLevel(body.DefaultLogLevel); err != nil {
			writeError(w, ErrInvalid, err.Error())
			return
		}
	}
	h.backend.UpdateLogLevels(func(l *iotlog.Levels) {
		l.RoleARN = body.RoleArn // AWS: accepted; the emulator assumes no role
		l.DisableAll = body.DisableAllLogs
		if level != "" {
			l.Default = level
		} // AWS (inferred): a request without defaultLogLevel keeps the one in force
	})
	w.WriteHeader(http.StatusOK) // AWS: 200 with an empty body
}

// getV2LoggingOptions is GetV2LoggingOptions: GET /v2LoggingOptions.
func (h *Handler) getV2LoggingOptions(w http.ResponseWriter, _ *http.Request) {
	l := h.backend.LogLevels()
	out := map[string]any{"defaultLogLevel": defaultOf(l), "disableAllLogs": l.DisableAll}
	if l.RoleARN != "" {
		out["roleArn"] = l.RoleARN
	}
	writeJSON(w, http.StatusOK, out)
}

// setV2LoggingLevel is SetV2LoggingLevel: POST /v2LoggingLevel.
func (h *Handler) setV2LoggingLevel(w http.ResponseWriter, r *http.Request) {
	var body struct {
		LogLevel  string     `json:"logLevel"`
		LogTarget *logTarget `json:"logTarget"`
	}
	if !readJSON(w, r, &body, ErrInvalid) {
		return
	}
	if body.LogTarget == nil || body.LogLevel == "" {
		writeError(w, ErrInvalid, "logLevel and logTarget are required") // AWS: both are required
		return
	}
	level, err := parseLevel(body.LogLevel)
	if err != nil {
		writeError(w, ErrInvalid, err.Error())
		return
	}
	target, err := parseTarget(body.LogTarget.TargetType, body.LogTarget.TargetName)
	if err != nil {
		writeError(w, ErrInvalid, err.Error())
		return
	}
	h.backend.UpdateLogLevels(func(l *iotlog.Levels) {
		if target.Type == iotlog.TargetDefault {
			l.Default = level // AWS (inferred): the DEFAULT target is the default log level
			return
		}
		if l.Targets == nil {
			l.Targets = make(map[iotlog.Target]iotlog.Level)
		}
		l.Targets[target] = level
	})
	w.WriteHeader(http.StatusOK)
}

// listV2LoggingLevels is ListV2LoggingLevels: GET /v2LoggingLevel?targetType=&maxResults=&nextToken=.
// The DEFAULT target comes first, then the resource-specific levels sorted by type and name;
// nextToken is the index of the next entry.
func (h *Handler) listV2LoggingLevels(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var only iotlog.TargetType
	if s := q.Get("targetType"); s != "" {
		t, err := iotlog.ParseTargetType(s)
		if err != nil {
			writeError(w, ErrInvalid, err.Error())
			return
		}
		only = t
	}
	pageSize, start := 250, 0 // AWS: maxResults is at most 250
	if s := q.Get("maxResults"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 250 {
			writeError(w, ErrInvalid, "maxResults must be between 1 and 250")
			return
		}
		pageSize = n
	}
	if s := q.Get("nextToken"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			writeError(w, ErrInvalid, "nextToken is not one this emulator gave")
			return
		}
		start = n
	}
	l := h.backend.LogLevels()
	// AWS (inferred): the list includes the DEFAULT target with the default log level.
	all := []logTargetConfiguration{{LogTarget: logTarget{TargetType: string(iotlog.TargetDefault)}, LogLevel: defaultOf(l)}}
	for _, tl := range iotlog.SortTargets(l.Targets) {
		all = append(all, logTargetConfiguration{
			LogTarget: logTarget{TargetType: string(tl.Target.Type), TargetName: tl.Target.Name},
			LogLevel:  tl.Level,
		})
	}
	var page []logTargetConfiguration
	for _, c := range all {
		if only == "" || c.LogTarget.TargetType == string(only) {
			page = append(page, c)
		}
	}
	out := map[string]any{}
	if start < len(page) {
		page = page[start:]
	} else {
		page = nil
	}
	if len(page) > pageSize {
		out["nextToken"] = strconv.Itoa(start + pageSize)
		page = page[:pageSize]
	}
	out["logTargetConfigurations"] = append([]logTargetConfiguration{}, page...)
	writeJSON(w, http.StatusOK, out)
}

// deleteV2LoggingLevel is DeleteV2LoggingLevel: DELETE /v2LoggingLevel?targetType=&targetName=.
func (h *Handler) deleteV2LoggingLevel(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	target, err := parseTarget(q.Get("targetType"), q.Get("targetName"))
	if err == nil && target.Type == iotlog.TargetDefault {
		err = invalidError("the DEFAULT target cannot be deleted; set the default log level with set-v2-logging-options")
	}
	if err != nil {
		writeError(w, ErrInvalid, err.Error())
		return
	}
	h.backend.UpdateLogLevels(func(l *iotlog.Levels) {
		delete(l.Targets, target) // AWS (inferred): deleting a level that is not set succeeds
	})
	w.WriteHeader(http.StatusOK)
}

// invalidError is a target that breaks a rule.
type invalidError string

func (e invalidError) Error() string { return string(e) }

// parseLevel reads a logLevel exactly as AWS spells it.
func parseLevel(s string) (iotlog.Level, error) {
	l, err := iotlog.ParseLevel(s)
	if err != nil || string(l) != s {
		return "", invalidError("logLevel " + strconv.Quote(s) + " is not one of DEBUG, INFO, ERROR, WARN, DISABLED")
	}
	return l, nil
}

// parseTarget checks a log target: a known type and, except for DEFAULT, a name.
func parseTarget(typ, name string) (iotlog.Target, error) {
	t, err := iotlog.ParseTargetType(typ)
	if err != nil {
		return iotlog.Target{}, err
	}
	if t != iotlog.TargetDefault && (name == "" || len(name) > maxTargetName) {
		return iotlog.Target{}, invalidError("targetName must be 1 to 128 characters for targetType " + typ)
	}
	if t == iotlog.TargetDefault {
		name = ""
	}
	return iotlog.Target{Type: t, Name: name}, nil
}

// defaultOf is the default log level in force.
func defaultOf(l iotlog.Levels) iotlog.Level {
	if l.Default == "" {
		return iotlog.DefaultLevel
	}
	return l.Default
}
