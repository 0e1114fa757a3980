package insights

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Event is one log event as a query sees it.
type Event struct {
	Timestamp time.Time
	Message   string
	LogStream string // @logStream
	Log       string // @log: AWS writes "ACCOUNT:GROUP"
}

// maxDiscovered bounds the fields discovered in one event. AWS (inferred): Logs Insights
// discovers at most 1,000 fields per log event.
const maxDiscovered = 1000

// record is an event with the fields discovered in its message, found on first use.
type record struct {
	ev         *Event
	wanted     map[string]bool // the fields the query names
	discovered bool
	fields     []field
}

func (rec *record) get(name string) value {
	switch name {
	case "@timestamp":
		return timeMillis(rec.ev.Timestamp.UnixMilli())
	case "@message":
		return str(rec.ev.Message)
	case "@logStream":
		return str(rec.ev.LogStream)
	case "@log":
		return str(rec.ev.Log)
	}
	if !rec.discovered {
		rec.fields, rec.discovered = discover(rec.ev.Message, rec.wanted), true
	}
	for _, f := range rec.fields {
		if f.name == name {
			return f.v
		}
	}
	return null
}

// discover finds the fields of a message. AWS: a JSON message's members are fields, nested
// ones named with dots (details.reason) and array elements with their index (list.0); Lambda's
// START, END and REPORT lines give @type, @requestId and REPORT's @duration, @billedDuration,
// @memorySize, @maxMemoryUsed and @initDuration.
//
// Only the wanted fields are kept: a query reads no others.
func discover(msg string, wanted map[string]bool) []field {
	if strings.HasPrefix(msg, "START RequestId: ") || strings.HasPrefix(msg, "END RequestId: ") || strings.HasPrefix(msg, "REPORT RequestId: ") {
		return lambdaFields(msg)
	}
	return flattenJSON(msg, wanted)
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// reportField reads "Name: 12.34 unit" members of a REPORT line.
var reportField = regexp.MustCompile(`(Duration|Billed Duration|Memory Size|Max Memory Used|Init Duration): ([0-9.]+)`)

var reportNames = map[string]string{
	"Duration": "@duration", "Billed Duration": "@billedDuration", "Memory Size": "@memorySize",
	"Max Memory Used": "@maxMemoryUsed", "Init Duration": "@initDuration",
}

func lambdaFields(msg string) []field {
	typ, rest, _ := strings.Cut(msg, " RequestId: ")
	id, _, _ := strings.Cut(rest, " ")
	id, _, _ = strings.Cut(id, "\t")
	fields := []field{{"@type", str(typ)}, {"@requestId", str(id)}}
	if typ != "REPORT" {
		return fields
	}
	for _, m := range reportField.FindAllStringSubmatch(msg, -1) {
		if f, err := strconv.ParseFloat(m[2], 64); err == nil {
			fields = append(fields, field{reportNames[m[1]], num(f)})
		}
	}
	return fields
}
