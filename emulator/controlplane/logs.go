package controlplane

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/iotemu/iotemu/emulator/insights"
)

// Exceptions of CloudWatch Logs. AWS: JSON 1.1 errors carry the exception name in __type,
// with status 400.
const (
	logsInvalid   = "InvalidParameterException"
	logsNotFound  = "ResourceNotFoundException"
	logsMalformed = "MalformedQueryException"
)

// writeLogs answers with a JSON 1.1 body.
func writeLogs(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	writeJSON(w, http.StatusOK, v)
}

// writeLogsError answers with a JSON 1.1 error; extra members (queryCompileError) join the body.
func writeLogsError(w http.ResponseWriter, name, message string, extra map[string]any) {
	body := map[string]any{"__type": name, "message": message}
	for k, v := range extra {
		body[k] = v
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-ErrorType", name)
	writeJSON(w, http.StatusBadRequest, body)
}

func (c *cloudWatch) serveLogs(w http.ResponseWriter, r *http.Request, op string) {
	var body logsRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		writeLogsError(w, "SerializationException", "the request body is not valid JSON: "+err.Error(), nil)
		return
	}
	var (
		out any
		err error
	)
	switch op {
	case "StartQuery":
		out, err = c.startQuery(body)
	case "GetQueryResults":
		out, err = c.queries.results(body.QueryID)
	case "StopQuery":
		out, err = c.queries.stop(body.QueryID)
	case "DescribeQueries":
		out, err = c.queries.describe(body)
	case "DescribeLogGroups":
		out, err = c.describeLogGroups(body)
	case "DescribeLogStreams":
		out, err = c.describeLogStreams(body)
	case "GetLogEvents":
		out, err = c.getLogEvents(body)
	case "FilterLogEvents":
		out, err = c.filterLogEvents(body)
	default:
		writeLogsError(w, errUnknownOperation.Name, "Logs_20140328."+op+" is not an operation this emulator serves", nil)
		return
	}
	var le *logsError
	switch {
	case errors.As(err, &le):
		writeLogsError(w, le.name, le.message, le.extra)
	case err != nil:
		writeLogsError(w, errInternal.Name, err.Error(), nil)
	default:
		writeLogs(w, out)
	}
}

// logsError is a CloudWatch Logs exception.
type logsError struct {
	name, message string
	extra         map[string]any
}

func (e *logsError) Error() string { return e.name + ": " + e.message }

func logsErr(name, format string, args ...any) error {
	return &logsError{name: name, message: fmt.Sprintf(format, args...)}
}

// logsRequest holds the members of every CloudWatch Logs request served here. AWS: times are
// milliseconds since the epoch, except StartQuery's startTime and endTime, in seconds.
type logsRequest struct {
	QueryID             string   `json:"queryId"`
	QueryString         string   `json:"queryString"`
	LogGroupName        string   `json:"logGroupName"`
	LogGroupNames       []string `json:"logGroupNames"`
	LogGroupIdentifiers []string `json:"logGroupIdentifiers"`
	LogGroupIdentifier  string   `json:"logGroupIdentifier"`
	LogGroupNamePrefix  string   `json:"logGroupNamePrefix"`
	LogGroupNamePattern string   `json:"logGroupNamePattern"`
	LogStreamName       string   `json:"logStreamName"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
	OrderBy             string   `json:"orderBy"`
	Descending          bool     `json:"descending"`
	StartFromHead       bool     `json:"startFromHead"`
	FilterPattern       string   `json:"filterPattern"`
	Status              string   `json:"status"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	Limit               int      `json:"limit"`
	MaxResults          int      `json:"maxResults"`
	NextToken           string   `json:"nextToken"`
}

// groupName reads a log group name or ARN. AWS: identifiers may be ARNs,
// arn:aws:logs:REGION:ACCOUNT:log-group:NAME (with or without a trailing :*).
func groupName(id string) string {
	if _, rest, ok := strings.Cut(id, ":log-group:"); ok && strings.HasPrefix(id, "arn:") {
		return strings.TrimSuffix(rest, ":*")
	}
	return id
}

func (c *cloudWatch) groupARN(name string) string {
	return "arn:aws:logs:" + c.region + ":" + c.account + ":log-group:" + name
}

// existing checks that every group exists.
func (c *cloudWatch) existing(names []string) error {
	all := c.src.LogGroups()
	for _, n := range names {
		if !slices.Contains(all, n) {
			return logsErr(logsNotFound, "The specified log group does not exist: %s", n) // AWS: ResourceNotFoundException
		}
	}
	return nil
}

func (c *cloudWatch) describeLogGroups(req logsRequest) (any, error) {
	limit, err := pageLimit(req.Limit, 50, 50) // AWS: limit 1-50, default 50
	if err != nil {
		return nil, err
	}
	var groups []map[string]any
	for _, name := range c.src.LogGroups() {
		if !strings.HasPrefix(name, req.LogGroupNamePrefix) || !strings.Contains(name, req.LogGroupNamePattern) {
			continue
		}
		var bytes int
		first := int64(0)
		for _, e := range c.src.LogEvents(name) {
			bytes += len(e.Message)
			if first == 0 {
				first = e.Timestamp.UnixMilli()
			}
		}
		// AWS (inferred): a group's creationTime is taken as its first event's time (0 while
		// it has none): the emulator's groups exist from the start.
		groups = append(groups, map[string]any{
			"logGroupName": name, "creationTime": first, "metricFilterCount": 0,
			"arn": c.groupARN(name) + ":*", "logGroupArn": c.groupARN(name),
			"storedBytes": bytes, "logGroupClass": "STANDARD",
		})
	}
	page, next, err := paginate(groups, req.NextToken, limit)
	if err != nil {
		return nil, err
	}
	return withToken(map[string]any{"logGroups": page}, "nextToken", next), nil
}

// stream is what DescribeLogStreams tells of one log stream.
type stream struct {
	name        string
	first, last int64
	bytes       int
}

// streams returns a group's streams, in the order they first appear.
func streams(events []insights.Event) []*stream {
	var out []*stream
	by := map[string]*stream{}
	for _, e := range events {
		s := by[e.LogStream]
		ts := e.Timestamp.UnixMilli()
		if s == nil {
			s = &stream{name: e.LogStream, first: ts}
			by[e.LogStream] = s
			out = append(out, s)
		}
		s.last = max(s.last, ts)
		s.bytes += len(e.Message)
	}
	return out
}

func (c *cloudWatch) describeLogStreams(req logsRequest) (any, error) {
	group, err := c.oneGroup(req)
	if err != nil {
		return nil, err
	}
	limit, err := pageLimit(req.Limit, 50, 50) // AWS: limit 1-50, default 50
	if err != nil {
		return nil, err
	}
	if req.OrderBy == "LastEventTime" && req.LogStreamNamePrefix != "" {
		return nil, logsErr(logsInvalid, "Cannot order by LastEventTime with a logStreamNamePrefix.") // AWS
	}
	all := streams(c.src.LogEvents(group))
	all = slices.DeleteFunc(all, func(s *stream) bool { return !strings.HasPrefix(s.name, req.LogStreamNamePrefix) })
	if req.OrderBy == "LastEventTime" {
		slices.SortStableFunc(all, func(a, b *stream) int { return int(a.last - b.last) })
	} else {
		slices.SortStableFunc(all, func(a, b *stream) int { return strings.Compare(a.name, b.name) })
	}
	if req.Descending {
		slices.Reverse(all)
	}
	var out []map[string]any
	for _, s := range all {
		out = append(out, map[string]any{
			"logStreamName": s.name, "creationTime": s.first, "firstEventTimestamp": s.first,
			"lastEventTimestamp": s.last, "lastIngestionTime": s.last, "storedBytes": s.bytes,
			"arn": c.groupARN(group) + ":log-stream:" + s.name,
		})
	}
	page, next, err := paginate(out, req.NextToken, limit)
	if err != nil {
		return nil, err
	}
	return withToken(map[string]any{"logStreams": page}, "nextToken", next), nil
}

// oneGroup reads the group of a single-group request (logGroupName or logGroupIdentifier).
func (c *cloudWatch) oneGroup(req logsRequest) (string, error) {
	name := req.LogGroupName
	switch {
	case name != "" && req.LogGroupIdentifier != "":
		return "", logsErr(logsInvalid, "LogGroup name and LogGroup ARN are mutually exclusive parameters.") // AWS
	case name == "":
		name = groupName(req.LogGroupIdentifier)
	}
	if name == "" {
		return "", logsErr(logsInvalid, "Either logGroupName or logGroupIdentifier must be given.")
	}
	return name, c.existing([]string{name})
}

// pageLimit checks a limit member; 0 is the default.
func pageLimit(limit, def, most int) (int, error) {
	switch {
	case limit == 0:
		return def, nil
	case limit < 1 || limit > most:
		return 0, logsErr(logsInvalid, "limit must be from 1 to %d", most)
	}
	return limit, nil
}

// paginate returns the page of items that token (an offset) starts, and the next token.
func paginate[T any](items []T, token string, limit int) ([]T, string, error) {
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", logsErr(logsInvalid, "The specified nextToken is not valid.")
		}
		start = n
	}
	end := min(len(items), start+limit)
	page := items[start:end]
	if page == nil {
		page = []T{}
	}
	if end < len(items) {
		return page, strconv.Itoa(end), nil
	}
	return page, "", nil
}

func withToken(m map[string]any, key, token string) map[string]any {
	if token != "" {
		m[key] = token
	}
	return m
}
