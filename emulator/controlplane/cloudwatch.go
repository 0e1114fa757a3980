package controlplane

import (
	"net/http"
	"strings"
	"time"

	"github.com/iotemu/iotemu/emulator/insights"
	"github.com/iotemu/iotemu/lambdarunner"
)

// CloudWatch is the emulator's logs and Lambda metrics, as CloudWatch Logs and CloudWatch
// serve them. When the Backend given to New also implements CloudWatch, the handler serves:
//
//	CloudWatch Logs (JSON 1.1, X-Amz-Target Logs_20140328.*): StartQuery, GetQueryResults,
//	StopQuery, DescribeQueries, DescribeLogGroups, DescribeLogStreams, GetLogEvents,
//	FilterLogEvents
//	CloudWatch (RPC v2 CBOR, as aws-sdk-go-v2 sends it, and JSON 1.0, as the aws CLI does):
//	GetMetricStatistics, GetMetricData, ListMetrics for AWS/Lambda's Invocations, Errors,
//	Duration, Throttles and ConcurrentExecutions by FunctionName
type CloudWatch interface {
	// LogGroups returns the names of the log groups: AWSIotLogsV2 and /aws/lambda/NAME for
	// each function.
	LogGroups() []string
	// LogEvents returns the events of the named groups (every group when none is named),
	// oldest first. Each event's Log is "ACCOUNT:GROUP".
	LogEvents(groups ...string) []insights.Event
	// FunctionDatapoints returns each function's invocation datapoints, by function name.
	FunctionDatapoints() map[string][]lambdarunner.Datapoint
	// Now is the emulator's time (when a query was created).
	Now() time.Time
	// RegionAccount returns the region and account ID, for ARNs.
	RegionAccount() (region, accountID string)
}

// cloudWatch serves the CloudWatch Logs and CloudWatch operations over a CloudWatch.
type cloudWatch struct {
	src     CloudWatch
	region  string
	account string
	queries *queryStore
}

// Target prefixes and paths of the protocols the CloudWatch operations come in.
const (
	logsTarget    = "Logs_20140328."                                    // AWS: CloudWatch Logs, JSON 1.1
	metricsTarget = "GraniteServiceVersion20100801."                    // AWS: CloudWatch, JSON 1.0 (the aws CLI)
	metricsPath   = "/service/GraniteServiceVersion20100801/operation/" // AWS: CloudWatch, RPC v2 CBOR
)

func newCloudWatch(b Backend) *cloudWatch {
	src, ok := b.(CloudWatch)
	if !ok {
		return nil
	}
	region, account := src.RegionAccount()
	return &cloudWatch{src: src, region: region, account: account, queries: &queryStore{}}
}

// route returns the handler of a CloudWatch request, or nil when r is not one.
func (c *cloudWatch) route(r *http.Request) http.HandlerFunc {
	if c == nil || r.Method != http.MethodPost {
		return nil
	}
	target := r.Header.Get("X-Amz-Target")
	switch {
	case strings.HasPrefix(target, logsTarget):
		op := strings.TrimPrefix(target, logsTarget)
		return func(w http.ResponseWriter, r *http.Request) { c.serveLogs(w, r, op) }
	case strings.HasPrefix(target, metricsTarget):
		op := strings.TrimPrefix(target, metricsTarget)
		return func(w http.ResponseWriter, r *http.Request) { c.serveMetrics(w, r, op, jsonCodec{}) }
	case strings.HasPrefix(r.URL.Path, metricsPath):
		op := strings.TrimPrefix(r.URL.Path, metricsPath)
		return func(w http.ResponseWriter, r *http.Request) { c.serveMetrics(w, r, op, cborCodec{}) }
	}
	return nil
}
