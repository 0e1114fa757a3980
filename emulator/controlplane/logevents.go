package controlplane

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iotemu/iotemu/emulator/insights"
)

// maxEvents is the most events one GetLogEvents or FilterLogEvents page holds. AWS: 10,000
// events (or 1 MB).
const maxEvents = 10000

// inRange reports whether e falls in [start, end] (milliseconds; nil: open).
func inRange(e insights.Event, start, end *int64) bool {
	ts := e.Timestamp.UnixMilli()
	return (start == nil || ts >= *start) && (end == nil || ts <= *end)
}

// AWS: GetLogEvents pages through one stream: startFromHead (default false: the newest
// events), nextForwardToken "f/..." and nextBackwardToken "b/...".
func (c *cloudWatch) getLogEvents(req logsRequest) (any, error) {
	group, err := c.oneGroup(req)
	if err != nil {
		return nil, err
	}
	if req.LogStreamName == "" {
		return nil, logsErr(logsInvalid, "logStreamName is required")
	}
	limit, err := pageLimit(req.Limit, maxEvents, maxEvents)
	if err != nil {
		return nil, err
	}
	var evs []insights.Event
	for _, e := range c.src.LogEvents(group) {
		if e.LogStream == req.LogStreamName && inRange(e, req.StartTime, req.EndTime) {
			evs = append(evs, e)
		}
	}
	if len(evs) == 0 && !c.hasStream(group, req.LogStreamName) {
		return nil, logsErr(logsNotFound, "The specified log stream does not exist.") // AWS
	}
	var from, to int // the page is evs[from:to]
	switch {
	case strings.HasPrefix(req.NextToken, "f/"):
		n, err := strconv.Atoi(req.NextToken[2:])
		if err != nil || n < 0 || n > len(evs) {
			return nil, logsErr(logsInvalid, "The specified nextToken is not valid.")
		}
		from, to = n, min(len(evs), n+limit)
	case strings.HasPrefix(req.NextToken, "b/"):
		n, err := strconv.Atoi(req.NextToken[2:])
		if err != nil || n < 0 || n > len(evs) {
			return nil, logsErr(logsInvalid, "The specified nextToken is not valid.")
		}
		from, to = max(0, n-limit), n
	case req.NextToken != "":
		return nil, logsErr(logsInvalid, "The specified nextToken is not valid.")
	case req.StartFromHead:
		from, to = 0, min(len(evs), limit)
	default:
		from, to = max(0, len(evs)-limit), len(evs)
	}
	out := make([]map[string]any, 0, to-from)
	for _, e := range evs[from:to] {
		ms := e.Timestamp.UnixMilli()
		out = append(out, map[string]any{"timestamp": ms, "message": e.Message, "ingestionTime": ms})
	}
	return map[string]any{
		"events":            out,
		"nextForwardToken":  "f/" + strconv.Itoa(to),
		"nextBackwardToken": "b/" + strconv.Itoa(from),
	}, nil
}

func (c *cloudWatch) hasStream(group, name string) bool {
	for _, e := range c.src.LogEvents(group) {
		if e.LogStream == name {
			return true
		}
	}
	return false
}

// AWS: FilterLogEvents returns a group's events, oldest first, that match filterPattern, in
// the given streams (logStreamNames or logStreamNamePrefix, not both) and time range.
func (c *cloudWatch) filterLogEvents(req logsRequest) (any, error) {
	group, err := c.oneGroup(req)
	if err != nil {
		return nil, err
	}
	if len(req.LogStreamNames) > 0 && req.LogStreamNamePrefix != "" {
		return nil, logsErr(logsInvalid, "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	limit, err := pageLimit(req.Limit, maxEvents, maxEvents)
	if err != nil {
		return nil, err
	}
	events := c.src.LogEvents(group)
	matched, err := matchPattern(req.FilterPattern, events)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	searched := map[string]bool{}
	var names []string
	for i, e := range events {
		if len(req.LogStreamNames) > 0 && !slices.Contains(req.LogStreamNames, e.LogStream) ||
			!strings.HasPrefix(e.LogStream, req.LogStreamNamePrefix) || !inRange(e, req.StartTime, req.EndTime) {
			continue
		}
		if !searched[e.LogStream] {
			searched[e.LogStream] = true
			names = append(names, e.LogStream)
		}
		if !matched[i] {
			continue
		}
		ms := e.Timestamp.UnixMilli()
		out = append(out, map[string]any{
			"logStreamName": e.LogStream, "timestamp": ms, "message": e.Message, "ingestionTime": ms,
			"eventId": eventID(e.Timestamp, i),
		})
	}
	page, next, err := paginate(out, req.NextToken, limit)
	if err != nil {
		return nil, err
	}
	var searchedStreams []map[string]any
	for _, n := range names {
		searchedStreams = append(searchedStreams, map[string]any{"logStreamName": n, "searchedCompletely": true})
	}
	return withToken(map[string]any{"events": page, "searchedLogStreams": searchedStreams}, "nextToken", next), nil
}

// eventID makes an event's ID. AWS (inferred): IDs are long decimal strings, unique per
// event; the emulator's are its time and position.
func eventID(t time.Time, i int) string {
	return strconv.FormatInt(t.UnixMilli(), 10) + strconv.FormatInt(int64(1e9+i), 10)[1:]
}
