package insights

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const (
	iotLog    = "123456789012:AWSIotLogsV2"
	lambdaLog = "123456789012:/aws/lambda/authorizer"
	iotStream = "iot-stream"
	fnStream  = "2026/11/29/[$LATEST]0123456789abcdef"
	reqA      = "8f5e2a1c-0000-4000-8000-00000000000a"
)

// fixture is a fixed set of events in AWS's formats: AWS IoT v2 log entries (developer guide,
// cwl-format) and a Lambda function's log with START, END, REPORT and its own lines.
func fixture() []Event {
	at := func(s string) time.Time {
		t, err := time.Parse("2006-01-02 15:04:05.000", s)
		if err != nil {
			panic(err)
		}
		return t
	}
	iot := func(ts, msg string) Event {
		return Event{Timestamp: at(ts), Message: msg, LogStream: iotStream, Log: iotLog}
	}
	fn := func(ts, msg string) Event {
		return Event{Timestamp: at(ts), Message: msg, LogStream: fnStream, Log: lambdaLog}
	}
	return []Event{
		iot("2026-11-29 10:00:01.000", `{"timestamp":"2026-11-29 10:00:01.000","logLevel":"INFO","traceId":"t1","accountId":"123456789012","status":"Success","eventType":"Connect","protocol":"MQTT","clientId":"good-1","principalId":"p1","sourceIp":"127.0.0.1","sourcePort":50001}`),
		fn("2026-11-29 10:00:02.000", "START RequestId: "+reqA+" Version: $LATEST"),
		fn("2026-11-29 10:00:02.100", `{"level":"warn","msg":"token rejected","auth":{"result":"deny","token":{"kind":"bearer"}},"tags":["a","b"]}`),
		fn("2026-11-29 10:00:02.200", "END RequestId: "+reqA),
		fn("2026-11-29 10:00:02.300", "REPORT RequestId: "+reqA+"\tDuration: 12.50 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tInit Duration: 100.25 ms"),
		iot("2026-11-29 10:00:03.000", `{"timestamp":"2026-11-29 10:00:03.000","logLevel":"ERROR","traceId":"t2","accountId":"123456789012","status":"Failure","eventType":"Connection.AuthNError","protocol":"MQTT","clientId":"bad-1","sourceIp":"127.0.0.1","sourcePort":50002,"authenticationType":"CUSTOM_AUTH","reason":"CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR","details":"Authorizer returned an error"}`),
		iot("2026-11-29 10:00:04.000", `{"timestamp":"2026-11-29 10:00:04.000","logLevel":"INFO","traceId":"t3","accountId":"123456789012","status":"Success","eventType":"Publish-In","protocol":"MQTT","topicName":"dev/good-1/up","clientId":"good-1","principalId":"p1","sourceIp":"127.0.0.1","sourcePort":50001}`),
		iot("2026-11-29 10:06:00.000", `{"timestamp":"2026-11-29 10:06:00.000","logLevel":"ERROR","traceId":"t4","accountId":"123456789012","status":"Failure","eventType":"Subscribe","protocol":"MQTT","topicName":"secret/#","clientId":"good-1","principalId":"p1","sourceIp":"127.0.0.1","sourcePort":50001,"reason":"AUTHORIZATION_FAILURE","details":"Authorization Failure"}`),
		iot("2026-11-29 10:07:00.000", `{"timestamp":"2026-11-29 10:07:00.000","logLevel":"INFO","traceId":"t5","accountId":"123456789012","status":"Success","eventType":"Disconnect","protocol":"MQTT","clientId":"good-1","principalId":"p1","sourceIp":"127.0.0.1","sourcePort":50001,"disconnectReason":"CLIENT_INITIATED_DISCONNECT"}`),
		fn("2026-11-29 10:07:30.000", "plain text line with user=alice ip=10.0.0.7"),
	}
}

// rows renders a result as one "field=value;..." string per row.
func rows(r *Result) []string {
	var out []string
	for _, row := range r.Rows {
		var cells []string
		for _, c := range row.Cells {
			cells = append(cells, c.Field+"="+c.Value)
		}
		out = append(out, strings.Join(cells, ";"))
	}
	return out
}

func TestQueries(t *testing.T) {
	iotOnly := "filter @log = '" + iotLog + "' | "
	tests := []struct {
		name   string
		query  string
		fields []string // nil: not checked
		want   []string
	}{
		{
			name:   "the troubleshooting guide's query",
			query:  `display clientId, eventType, status, @timestamp | sort @timestamp desc | filter status = "Failure"`,
			fields: []string{"clientId", "eventType", "status", "@timestamp"},
			want: []string{
				"clientId=good-1;eventType=Subscribe;status=Failure;@timestamp=2026-11-29 10:06:00.000",
				"clientId=bad-1;eventType=Connection.AuthNError;status=Failure;@timestamp=2026-11-29 10:00:03.000",
			},
		},
		{
			name:   "default columns",
			query:  `filter eventType = "Disconnect"`,
			fields: []string{"@timestamp", "@message"},
			want:   []string{"@timestamp=2026-11-29 10:07:00.000;@message=" + fixture()[8].Message},
		},
		{name: "fields with alias and arithmetic", query: iotOnly + `fields clientId, sourcePort - 50000 as port | filter ispresent(port) | limit 2`,
			want: []string{"clientId=good-1;port=1", "clientId=bad-1;port=2"}},
		{name: "fields accumulate, display replaces", query: `fields clientId | fields status | display eventType | filter reason = "AUTHORIZATION_FAILURE"`,
			fields: []string{"eventType"}, want: []string{"eventType=Subscribe"}},
		{name: "@logStream and @log", query: `filter @type = "START" | fields @logStream, @log, @requestId`,
			want: []string{"@logStream=" + fnStream + ";@log=" + lambdaLog + ";@requestId=" + reqA}},
		{name: "not equal", query: iotOnly + `filter eventType != "Connect" and clientId = "good-1" | fields eventType`,
			want: []string{"eventType=Publish-In", "eventType=Subscribe", "eventType=Disconnect"}},
		{name: "number comparisons", query: `filter sourcePort > 50001 | fields clientId`, want: []string{"clientId=bad-1"}},
		{name: "<= and >=", query: `filter sourcePort >= 50001 and sourcePort <= 50001 | stats count(*) as n`, want: []string{"n=4"}},
		{name: "< on time", query: `filter @timestamp < 1795946402050 | fields @timestamp`,
			want: []string{"@timestamp=2026-11-29 10:00:01.000", "@timestamp=2026-11-29 10:00:02.000"}},
		{name: "or and parentheses", query: `filter (eventType = "Connect" or eventType = "Disconnect") and not status = "Failure" | fields eventType`,
			want: []string{"eventType=Connect", "eventType=Disconnect"}},
		{name: "not", query: iotOnly + `filter not ispresent(principalId) | fields clientId`, want: []string{"clientId=bad-1"}},
		{name: "like string", query: `filter @message like "token rejected" | fields msg`, want: []string{"msg=token rejected"}},
		{name: "like regex", query: `filter reason like /^CUSTOM_AUTHORIZER_/ | fields reason`, want: []string{"reason=CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR"}},
		{name: "like regex case-insensitive", query: `filter @message like /(?i)USER=ALICE/ | fields @message`, want: []string{"@message=plain text line with user=alice ip=10.0.0.7"}},
		{name: "not like", query: iotOnly + `filter eventType not like "Conn" | stats count(*) as n`, want: []string{"n=3"}},
		{name: "=~", query: `filter topicName =~ /#$/ | fields topicName`, want: []string{"topicName=secret/#"}},
		{name: "in", query: `filter eventType in ["Connect", "Disconnect"] | fields eventType`, want: []string{"eventType=Connect", "eventType=Disconnect"}},
		{name: "not in", query: iotOnly + `filter eventType not in ["Connect", "Disconnect", "Publish-In"] | fields eventType`,
			want: []string{"eventType=Connection.AuthNError", "eventType=Subscribe"}},
		{name: "ispresent", query: `filter ispresent(disconnectReason) | fields disconnectReason`, want: []string{"disconnectReason=CLIENT_INITIATED_DISCONNECT"}},
		{name: "isempty", query: iotOnly + `filter isempty(topicName) | stats count(*) as n`, want: []string{"n=3"}},
		{name: "sort asc", query: iotOnly + `sort sourcePort asc, @timestamp desc | fields sourcePort, eventType | limit 2`,
			want: []string{"sourcePort=50001;eventType=Disconnect", "sourcePort=50001;eventType=Subscribe"}},
		{name: "sort desc", query: iotOnly + `sort sourcePort desc | fields clientId | limit 1`, want: []string{"clientId=bad-1"}},
		{name: "limit", query: `limit 3 | fields @timestamp`, want: []string{"@timestamp=2026-11-29 10:00:01.000", "@timestamp=2026-11-29 10:00:02.000", "@timestamp=2026-11-29 10:00:02.100"}},
		{name: "stats by field", query: iotOnly + `stats count(*) as n, count_distinct(eventType) as kinds by clientId`,
			fields: []string{"clientId", "n", "kinds"}, want: []string{"clientId=good-1;n=4;kinds=4", "clientId=bad-1;n=1;kinds=1"}},
		{name: "stats min max avg sum", query: `filter ispresent(sourcePort) | stats min(sourcePort), max(sourcePort), avg(sourcePort), sum(sourcePort - 50000) as s`,
			want: []string{"min(sourcePort)=50001;max(sourcePort)=50002;avg(sourcePort)=50001.2;s=6"}},
		{name: "stats count(field) counts present values", query: `stats count(reason) as withReason, count() as all`, want: []string{"withReason=2;all=10"}},
		{name: "stats by bin", query: iotOnly + `stats count(*) by bin(5m)`,
			fields: []string{"bin(5m)", "count(*)"}, want: []string{"bin(5m)=2026-11-29 10:00:00.000;count(*)=3", "bin(5m)=2026-11-29 10:05:00.000;count(*)=2"}},
		{name: "stats then sort and filter", query: iotOnly + `stats count(*) as n by eventType | filter n >= 1 | sort eventType desc | limit 2`,
			want: []string{"eventType=Subscribe;n=1", "eventType=Publish-In;n=1"}},
		{name: "REPORT fields", query: `filter @type = "REPORT" | fields @duration, @billedDuration, @memorySize, @maxMemoryUsed, @initDuration`,
			want: []string{"@duration=12.5;@billedDuration=13;@memorySize=128;@maxMemoryUsed=20;@initDuration=100.25"}},
		{name: "stats over REPORT", query: `filter @type = "REPORT" | stats count(*) as invocations, avg(@duration) as avgMs by @log`,
			want: []string{"@log=" + lambdaLog + ";invocations=1;avgMs=12.5"}},
		{name: "parse glob", query: `parse @message "user=* ip=*" as user, ip | filter ispresent(user) | fields user, ip`,
			want: []string{"user=alice;ip=10.0.0.7"}},
		{name: "parse glob on a field", query: `parse topicName "dev/*/up" as device | filter ispresent(device) | fields device`, want: []string{"device=good-1"}},
		{name: "parse regex", query: `parse @message /RequestId: (?<rid>[0-9a-f-]+)\s+Duration: (?<ms>[0-9.]+)/ | filter ms > 10 | fields rid, ms`,
			want: []string{"rid=" + reqA + ";ms=12.50"}},
		{name: "dedup", query: iotOnly + `sort @timestamp desc | dedup clientId | fields clientId, eventType`,
			want: []string{"clientId=good-1;eventType=Disconnect", "clientId=bad-1;eventType=Connection.AuthNError"}},
		{name: "dedup keeps rows without the field", query: `dedup reason | stats count(*) as n`, want: []string{"n=10"}},
		{name: "nested JSON fields", query: `filter auth.result = "deny" | fields auth.token.kind, tags.1, level`,
			want: []string{"auth.token.kind=bearer;tags.1=b;level=warn"}},
		{name: "backquoted field", query: "filter ispresent(`auth.result`) | fields `auth.result` as r", want: []string{"r=deny"}},
		{name: "functions", query: `filter eventType = "Connect" | fields tolower(eventType) as l, toupper(clientId) as u, strlen(clientId) as n, concat(clientId, "/", protocol) as c, coalesce(reason, "none") as r, abs(-2.5) as a, floor(2.5) as f, ceil(2.5) as e, isblank(" ") as b`,
			want: []string{"l=connect;u=GOOD-1;n=6;c=good-1/MQTT;r=none;a=2.5;f=2;e=3;b=1"}},
		{name: "comments and case-insensitive keywords", query: "# failures only\nFILTER status = 'Failure' AND reason LIKE 'AUTHORIZATION' | FIELDS clientId",
			want: []string{"clientId=good-1"}},
		{name: "no match", query: `filter clientId = "nobody"`, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.query)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			res := q.Run(fixture())
			if got := rows(res); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if tt.fields != nil && strings.Join(res.Fields, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields %v, want %v", res.Fields, tt.fields)
			}
		})
	}
}

// TestRecordsMatched: the statistics count the events that passed the filters, whatever limit
// and stats make of them.
func TestRecordsMatched(t *testing.T) {
	for query, want := range map[string]int{
		`filter status = "Failure"`:                   2,
		`filter status = "Failure" | limit 1`:         2,
		`filter ispresent(clientId) | stats count(*)`: 5,
		`fields @message`:                             10,
	} {
		q, err := Parse(query)
		if err != nil {
			t.Fatal(err)
		}
		if res := q.Run(fixture()); res.RecordsMatched != want || res.RecordsScanned != 10 {
			t.Errorf("%s: matched %d, scanned %d; want %d, 10", query, res.RecordsMatched, res.RecordsScanned, want)
		}
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		query    string
		line     int
		column   int
		expected string
	}{
		{`display clientId | sort @timestamp desc | filter status =`, 1, 58, "a field, a value or a function"},
		{`fitler status = "Failure"`, 1, 1, "a command"},
		{`filter status = "Failure`, 1, 17, "a closing \""},
		{"fields a\n| filter x like 3", 2, 17, "a string or /regex/"},
		{`filter x in ["a" "b"]`, 1, 18, `"," or "]"`},
		{`stats count(*) by`, 1, 18, "a field, a value or a function"},
		{`stats foo(x)`, 1, 7, "an aggregate function"},
		{`parse @message "a=* b=*" as a`, 1, 16, "one * for each of the 1 names"},
		{`parse @message /(\d+)/`, 1, 16, "all named"},
		{`filter x like /(/`, 1, 15, "a valid regex"},
		{`limit 0`, 1, 7, "a number of results from 1 to 10000"},
		{`stats count(*) by bin(5 minutes)`, 1, 23, "a period"},
		{`filter nosuch(x)`, 1, 8, "a known function"},
		{`filter ispresent(a, b)`, 1, 8, "ispresent with 1 argument(s)"},
		{`filter a = 1 filter`, 1, 14, `"|" or the end of the query`},
		{`filter a ~ 1`, 1, 10, "a field, value or operator"},
		{"", 1, 1, "a command"},
		{"filter " + strings.Repeat("(", 100) + "a", 1, 72, "nested less deeply"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.query)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a SyntaxError", tt.query, err)
			continue
		}
		if se.Line != tt.line || se.Column != tt.column || !strings.Contains(se.Expected, tt.expected) {
			t.Errorf("Parse(%q): %v; want line %d, column %d, expected %q", tt.query, se, tt.line, tt.column, tt.expected)
		}
	}
	if _, err := Parse(strings.Repeat(" ", MaxQueryLength+1)); err == nil {
		t.Error("a query over the length limit parsed")
	}
}
