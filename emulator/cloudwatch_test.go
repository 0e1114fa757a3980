package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/iotemu/iotemu/emulator"
)

// guideQuery is the troubleshooting guide's Logs Insights query, verbatim.
const guideQuery = `display clientId, eventType, status, @timestamp | sort @timestamp desc | filter status = "Failure"`

// failOnBoom allows openPolicy for the good token, fails the invocation for "boom" (a
// function error) and refuses anything else.
func failOnBoom(ctx context.Context, req events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
	if req.Token == "boom" {
		return events.IoTCoreCustomAuthorizerResponse{}, errors.New("boom")
	}
	return allow(openPolicy...)(ctx, req)
}

// cloudWatchClients starts an emulator with the control plane on, connects an accepted
// device (good-1), a refused one (bad-1) and one whose authorizer invocation fails (boom-1),
// and returns aws-sdk-go-v2's CloudWatch Logs and CloudWatch clients pointed at it.
func cloudWatchClients(t *testing.T) (*emulator.Emulator, *cloudwatchlogs.Client, *cloudwatch.Client) {
	t.Helper()
	cfg := config(failOnBoom)
	cfg.Listen.API = "127.0.0.1:0"
	emu := start(t, cfg)
	if c, err := newDevice(t, emu, "good-1").connectV3(t); err != nil {
		t.Fatal(err)
	} else {
		c.Disconnect(0)
	}
	bad := newDevice(t, emu, "bad-1")
	bad.username = username(t, "wrong")
	if _, err := bad.connectV3(t); err == nil {
		t.Fatal("a device with a refused token connected")
	}
	boom := newDevice(t, emu, "boom-1")
	boom.username = username(t, "boom")
	if _, err := boom.connectV3(t); err == nil {
		t.Fatal("a device whose authorizer failed connected")
	}
	waitEvent(t, emu, "Disconnect", "Success", "clientId=good-1")
	base := aws.String("http://" + emu.APIAddr().String())
	creds := credentials.NewStaticCredentialsProvider("x", "y", "")
	return emu,
		cloudwatchlogs.New(cloudwatchlogs.Options{Region: region, BaseEndpoint: base, Credentials: creds}),
		cloudwatch.New(cloudwatch.Options{Region: region, BaseEndpoint: base, Credentials: creds})
}

// TestLogsInsightsGuideQuery runs the guide's query through StartQuery and GetQueryResults:
// the refused devices' rows, newest first, and only failures.
func TestLogsInsightsGuideQuery(t *testing.T) {
	emu, logs, _ := cloudWatchClients(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	now := time.Now()
	started, err := logs.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{
		LogGroupName: aws.String("AWSIotLogsV2"),
		QueryString:  aws.String(guideQuery),
		StartTime:    aws.Int64(now.Add(-time.Hour).Unix()),
		EndTime:      aws.Int64(now.Add(time.Hour).Unix()),
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := logs.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: started.QueryId})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != logtypes.QueryStatusComplete {
		t.Errorf("status %s", res.Status)
	}
	var clients []string
	for _, row := range res.Results {
		fields := map[string]string{}
		for _, f := range row {
			fields[aws.ToString(f.Field)] = aws.ToString(f.Value)
		}
		if fields["status"] != "Failure" || fields["@ptr"] == "" || fields["@timestamp"] == "" {
			t.Errorf("row %v", fields)
		}
		clients = append(clients, fields["clientId"])
	}
	if got := strings.Join(clients, ","); got != "boom-1,bad-1" {
		t.Errorf("clients %s, want boom-1,bad-1 (newest first)\n%s", got, dumpLog(emu))
	}
	if res.Statistics.RecordsMatched != 2 || res.Statistics.RecordsScanned < 4 {
		t.Errorf("statistics %+v", *res.Statistics)
	}

	// The query has ended: StopQuery has nothing to stop; DescribeQueries lists it.
	if stopped, err := logs.StopQuery(ctx, &cloudwatchlogs.StopQueryInput{QueryId: started.QueryId}); err != nil || stopped.Success {
		t.Errorf("StopQuery: %+v, %v", stopped, err)
	}
	described, err := logs.DescribeQueries(ctx, &cloudwatchlogs.DescribeQueriesInput{})
	if err != nil || len(described.Queries) != 1 || aws.ToString(described.Queries[0].QueryString) != guideQuery {
		t.Errorf("DescribeQueries: %+v, %v", described, err)
	}

	// The Go API gives the same rows.
	direct, err := emu.Query(guideQuery)
	if err != nil {
		t.Fatal(err)
	}
	if len(direct.Rows) != 2 {
		t.Errorf("emu.Query: %d rows", len(direct.Rows))
	}

	// A malformed query is MalformedQueryException, pointing at the offending text.
	_, err = logs.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{
		LogGroupName: aws.String("AWSIotLogsV2"), QueryString: aws.String("filter status = | limit 1"),
		StartTime: aws.Int64(0), EndTime: aws.Int64(now.Unix()),
	})
	var malformed *logtypes.MalformedQueryException
	if !errors.As(err, &malformed) || malformed.QueryCompileError == nil || aws.ToInt32(malformed.QueryCompileError.Location.StartCharOffset) != 16 {
		t.Errorf("malformed query: %v", err)
	}
	_, err = logs.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{
		LogGroupName: aws.String("/aws/lambda/nope"), QueryString: aws.String("fields @message"),
		StartTime: aws.Int64(0), EndTime: aws.Int64(now.Unix()),
	})
	var notFound *logtypes.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("unknown group: %v", err)
	}
}

// TestLogsAPI reads the log groups, streams and events with aws-sdk-go-v2.
func TestLogsAPI(t *testing.T) {
	_, logs, _ := cloudWatchClients(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	groups, err := logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups.LogGroups {
		names = append(names, aws.ToString(g.LogGroupName))
	}
	if got := strings.Join(names, ","); got != "AWSIotLogsV2,/aws/lambda/auth-fn" {
		t.Errorf("log groups %s", got)
	}

	fnGroup := aws.String("/aws/lambda/auth-fn")
	streams, err := logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: fnGroup})
	if err != nil || len(streams.LogStreams) != 1 {
		t.Fatalf("streams %v, %v", streams, err)
	}
	stream := streams.LogStreams[0].LogStreamName
	if !strings.Contains(aws.ToString(stream), "/[$LATEST]") {
		t.Errorf("stream name %s", aws.ToString(stream))
	}
	got, err := logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: fnGroup, LogStreamName: stream, StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var starts, reports int
	for _, e := range got.Events {
		switch m := aws.ToString(e.Message); {
		case strings.HasPrefix(m, "START RequestId: "):
			starts++
		case strings.HasPrefix(m, "REPORT RequestId: "):
			reports++
		}
	}
	if starts != 3 || reports != 3 {
		t.Errorf("%d START and %d REPORT lines, want 3 each", starts, reports)
	}
	next, err := logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: fnGroup, LogStreamName: stream, NextToken: got.NextForwardToken})
	if err != nil || len(next.Events) != 0 || aws.ToString(next.NextForwardToken) != aws.ToString(got.NextForwardToken) {
		t.Errorf("at the end: %d events, token %s, %v", len(next.Events), aws.ToString(next.NextForwardToken), err)
	}

	filtered, err := logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String("AWSIotLogsV2"), FilterPattern: aws.String(`{ $.status = "Failure" && $.clientId = "bad-1" }`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(filtered.Events) != 1 || !strings.Contains(aws.ToString(filtered.Events[0].Message), `"clientId":"bad-1"`) {
		t.Errorf("JSON pattern: %d events", len(filtered.Events))
	}
	terms, err := logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String("AWSIotLogsV2"), FilterPattern: aws.String(`Failure -bad-1`),
	})
	if err != nil || len(terms.Events) != 1 || !strings.Contains(aws.ToString(terms.Events[0].Message), "boom-1") {
		t.Errorf("term pattern: %v, %v", terms, err)
	}
}

// TestLambdaMetrics reads AWS/Lambda's metrics with aws-sdk-go-v2's CloudWatch client (RPC v2
// CBOR) and over JSON 1.0 (the aws CLI's protocol, sent here by hand as botocore sends it):
// three invocations of the authorizer, one of them an error.
func TestLambdaMetrics(t *testing.T) {
	emu, _, cw := cloudWatchClients(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	now := time.Now()
	dims := []cwtypes.Dimension{{Name: aws.String("FunctionName"), Value: aws.String("auth-fn")}}
	sum := func(metric string) float64 {
		t.Helper()
		out, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
			Namespace: aws.String("AWS/Lambda"), MetricName: aws.String(metric), Dimensions: dims,
			StartTime: aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now.Add(time.Hour)),
			Period: aws.Int32(3600), Statistics: []cwtypes.Statistic{cwtypes.StatisticSum, cwtypes.StatisticMaximum},
		})
		if err != nil {
			t.Fatal(err)
		}
		var total float64
		for _, dp := range out.Datapoints {
			total += aws.ToFloat64(dp.Sum)
		}
		return total
	}
	if got := sum("Invocations"); got != 3 {
		t.Errorf("Invocations %v, want 3", got)
	}
	if got := sum("Errors"); got != 1 {
		t.Errorf("Errors %v, want 1", got)
	}
	if got := sum("Throttles"); got != 0 {
		t.Errorf("Throttles %v, want 0", got)
	}

	data, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now.Add(time.Hour)),
		MetricDataQueries: []cwtypes.MetricDataQuery{{
			Id: aws.String("d"),
			MetricStat: &cwtypes.MetricStat{Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Lambda"), MetricName: aws.String("Duration"), Dimensions: dims},
				Period: aws.Int32(60), Stat: aws.String("Maximum")},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := data.MetricDataResults; len(r) != 1 || len(r[0].Values) == 0 || len(r[0].Values) != len(r[0].Timestamps) || r[0].Values[0] <= 0 {
		t.Errorf("GetMetricData %+v", r)
	}

	list, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/Lambda"), Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("FunctionName")}}})
	if err != nil {
		t.Fatal(err)
	}
	var metrics []string
	for _, m := range list.Metrics {
		metrics = append(metrics, aws.ToString(m.MetricName))
	}
	if got := strings.Join(metrics, ","); got != "ConcurrentExecutions,Duration,Errors,Invocations" {
		t.Errorf("ListMetrics %s", got)
	}

	_, err = cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("AWS/Lambda"), MetricName: aws.String("Invocations"),
		StartTime: aws.Time(now), EndTime: aws.Time(now.Add(time.Hour)), Period: aws.Int32(7), Statistics: []cwtypes.Statistic{cwtypes.StatisticSum},
	})
	var invalid *cwtypes.InvalidParameterValueException
	if !errors.As(err, &invalid) || invalid.ErrorCode() != "InvalidParameterValue" {
		t.Errorf("period 7: %v", err)
	}

	// JSON 1.0, as the aws CLI sends it.
	body, _ := json.Marshal(map[string]any{"Namespace": "AWS/Lambda", "MetricName": "Invocations",
		"Dimensions": []map[string]string{{"Name": "FunctionName", "Value": "auth-fn"}},
		"StartTime":  now.Add(-time.Hour).Unix(), "EndTime": now.Add(time.Hour).Unix(), "Period": 3600, "Statistics": []string{"SampleCount"}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+emu.APIAddr().String()+"/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801.GetMetricStatistics")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("x-amzn-query-mode", "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Datapoints []struct{ SampleCount float64 }
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.0" {
		t.Errorf("JSON 1.0 answered as %s", ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || len(out.Datapoints) != 1 || out.Datapoints[0].SampleCount != 3 {
		t.Errorf("JSON 1.0: %d %+v %v", resp.StatusCode, out, err)
	}
}
