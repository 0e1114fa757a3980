package controlplane

import (
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/iotemu/iotemu/emulator/insights"
)

// maxQueries is how many queries' results are kept. AWS (inferred): results stay available
// for 7 days; the emulator keeps the newest 100 queries instead.
const maxQueries = 100

// query is a query StartQuery ran.
type query struct {
	id      string
	text    string
	group   string
	created time.Time
	result  *insights.Result
	ptrs    []string // @ptr of each result row ("" for stats rows)
}

// queryStore keeps the newest queries and their results.
type queryStore struct {
	mu    sync.Mutex
	order []*query
}

func (s *queryStore) add(q *query) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.order = append(s.order, q)
	if len(s.order) > maxQueries {
		s.order = slices.Clone(s.order[len(s.order)-maxQueries:])
	}
}

func (s *queryStore) find(id string) (*query, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.order {
		if q.id == id {
			return q, nil
		}
	}
	return nil, logsErr(logsNotFound, "Query does not exist: %s", id)
}

// AWS: StartQuery runs a query over log groups between startTime and endTime (seconds since
// the epoch, both required). The emulator runs it at once: its status is Complete from the
// first GetQueryResults.
func (c *cloudWatch) startQuery(req logsRequest) (any, error) {
	groups := req.LogGroupNames
	given := 0
	for _, set := range []bool{req.LogGroupName != "", len(req.LogGroupNames) > 0, len(req.LogGroupIdentifiers) > 0} {
		if set {
			given++
		}
	}
	switch {
	case given != 1:
		return nil, logsErr(logsInvalid, "Exactly one of logGroupName, logGroupNames or logGroupIdentifiers must be given.")
	case req.LogGroupName != "":
		groups = []string{req.LogGroupName}
	case len(req.LogGroupIdentifiers) > 0:
		groups = nil
		for _, id := range req.LogGroupIdentifiers {
			groups = append(groups, groupName(id))
		}
	}
	if req.StartTime == nil || req.EndTime == nil {
		return nil, logsErr(logsInvalid, "startTime and endTime are required")
	}
	if *req.StartTime > *req.EndTime {
		return nil, logsErr(logsInvalid, "endTime must be greater than or equal to startTime") // AWS
	}
	if req.Limit < 0 || req.Limit > insights.MaxResults {
		return nil, logsErr(logsInvalid, "limit must be from 1 to %d", insights.MaxResults)
	}
	if err := c.existing(groups); err != nil {
		return nil, err
	}
	parsed, err := insights.Parse(req.QueryString)
	var se *insights.SyntaxError
	if err != nil && !errors.As(err, &se) {
		return nil, err
	}
	if se != nil {
		// AWS: MalformedQueryException carries queryCompileError with the offending characters.
		return nil, &logsError{name: logsMalformed, message: se.Error(), extra: map[string]any{
			"queryCompileError": map[string]any{
				"location": map[string]any{"startCharOffset": se.Offset, "endCharOffset": se.End},
				"message":  se.Error(),
			},
		}}
	}
	start, end := time.Unix(*req.StartTime, 0), time.Unix(*req.EndTime+1, 0) // AWS: endTime is inclusive, to the second
	var events []insights.Event
	for _, e := range c.src.LogEvents(groups...) {
		if !e.Timestamp.Before(start) && e.Timestamp.Before(end) {
			events = append(events, e)
		}
	}
	q := &query{id: uuid.NewString(), text: req.QueryString, group: groups[0], created: c.src.Now(), result: parsed.Run(events)}
	if req.Limit > 0 && len(q.result.Rows) > req.Limit {
		q.result.Rows = q.result.Rows[:req.Limit]
	}
	for _, r := range q.result.Rows {
		ptr := ""
		if r.Event >= 0 {
			ptr = base64.StdEncoding.EncodeToString([]byte(q.id + "/" + strconv.Itoa(r.Event)))
		}
		q.ptrs = append(q.ptrs, ptr)
	}
	c.queries.add(q)
	return map[string]any{"queryId": q.id}, nil
}

// AWS: GetQueryResults gives each row as a list of {field, value} with the event's @ptr last,
// the statistics and the status.
func (s *queryStore) results(id string) (any, error) {
	q, err := s.find(id)
	if err != nil {
		return nil, err
	}
	rows := make([][]insights.Cell, 0, len(q.result.Rows))
	var bytes int
	for i, r := range q.result.Rows {
		cells := slices.Clone(r.Cells)
		if q.ptrs[i] != "" {
			cells = append(cells, insights.Cell{Field: "@ptr", Value: q.ptrs[i]})
		}
		if cells == nil {
			cells = []insights.Cell{}
		}
		rows = append(rows, cells)
		for _, c := range r.Cells {
			bytes += len(c.Value)
		}
	}
	return map[string]any{
		"results": rows,
		"statistics": map[string]any{
			"recordsMatched": float64(q.result.RecordsMatched),
			"recordsScanned": float64(q.result.RecordsScanned),
			"bytesScanned":   float64(bytes),
		},
		"status": "Complete",
	}, nil
}

// AWS: StopQuery stops a running query; success is false for one that already ended, as the
// emulator's always have.
func (s *queryStore) stop(id string) (any, error) {
	if _, err := s.find(id); err != nil {
		return nil, err
	}
	return map[string]any{"success": false}, nil
}

func (s *queryStore) describe(req logsRequest) (any, error) {
	limit, err := pageLimit(req.MaxResults, 1000, 1000) // AWS: maxResults 1-1000
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	var out []map[string]any
	for i := len(s.order) - 1; i >= 0; i-- {
		q := s.order[i]
		if (req.LogGroupName == "" || q.group == req.LogGroupName) && (req.Status == "" || req.Status == "Complete") {
			out = append(out, map[string]any{"queryId": q.id, "queryString": q.text, "status": "Complete",
				"createTime": q.created.UnixMilli(), "logGroupName": q.group})
		}
	}
	s.mu.Unlock()
	page, next, err := paginate(out, req.NextToken, limit)
	if err != nil {
		return nil, err
	}
	return withToken(map[string]any{"queries": page}, "nextToken", next), nil
}
