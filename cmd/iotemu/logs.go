package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/iotemu/iotemu/emulator/insights"
)

// defaultAPI is the control plane of the default configuration.
const defaultAPI = "http://127.0.0.1:9082"

const logsUsage = `usage: iotemu logs query [flags] '<Logs Insights query>'
       iotemu logs tail [flags]

query runs a CloudWatch Logs Insights query on a running emulator (StartQuery and
GetQueryResults on its control plane) and prints the rows as a table, or --json.
tail prints the log events of a group (FilterLogEvents), and with -follow keeps printing new ones.
`

// logs reads a running emulator's CloudWatch log groups through its control plane.
func logs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, logsUsage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "query":
		return logsQuery(ctx, args[1:], stdout, stderr)
	case "tail":
		return logsTail(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, logsUsage)
	return fmt.Errorf("logs: unknown command %q", args[0])
}

// logsClient is the CloudWatch Logs client of the control plane at endpoint. The control
// plane does not check credentials: any will do.
func logsClient(endpoint, region string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("iotemu", "iotemu", ""),
	})
}

// groupFlags collects repeated -group flags.
type groupFlags []string

func (g *groupFlags) String() string     { return strings.Join(*g, ",") }
func (g *groupFlags) Set(v string) error { *g = append(*g, v); return nil }

func logsQuery(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("logs query", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", defaultAPI, "the emulator's control plane `URL`")
	region := fs.String("region", "us-east-1", "the emulator's region")
	since := fs.Duration("since", 24*time.Hour, "query events from this long ago")
	asJSON := fs.Bool("json", false, "print the rows as a JSON array of objects")
	var groups groupFlags
	fs.Var(&groups, "group", "a log `group` to query (repeatable; default: every group)")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		fs.Usage()
		return errors.New("logs query: give the query as one argument")
	}
	client := logsClient(*endpoint, *region)
	if len(groups) == 0 {
		out, err := client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
		if err != nil {
			return fmt.Errorf("logs query: %w", err)
		}
		for _, g := range out.LogGroups {
			groups = append(groups, aws.ToString(g.LogGroupName))
		}
	}
	now := time.Now()
	started, err := client.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{
		LogGroupNames: groups, QueryString: aws.String(rest[0]),
		StartTime: aws.Int64(now.Add(-*since).Unix()), EndTime: aws.Int64(now.Unix() + 1),
	})
	if err != nil {
		return fmt.Errorf("logs query: %w", err)
	}
	res, err := client.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: started.QueryId})
	if err != nil {
		return fmt.Errorf("logs query: %w", err)
	}
	table := &insights.Result{}
	for _, row := range res.Results {
		var r insights.Row
		at := 0 // where a field not seen before goes: after the row's previous field
		for _, f := range row {
			name := aws.ToString(f.Field)
			if name == "@ptr" {
				continue
			}
			// A row has only the fields with a value: the columns are the fields of all rows,
			// in the order the rows give them.
			if i := slices.Index(table.Fields, name); i >= 0 {
				at = i + 1
			} else {
				table.Fields = slices.Insert(table.Fields, at, name)
				at++
			}
			r.Cells = append(r.Cells, insights.Cell{Field: name, Value: aws.ToString(f.Value)})
		}
		table.Rows = append(table.Rows, r)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(table.Records())
	}
	if err := table.WriteTable(stdout); err != nil {
		return err
	}
	if s := res.Statistics; s != nil {
		fmt.Fprintf(stdout, "\nrows: %d; records matched: %.0f, scanned: %.0f\n", len(table.Rows), s.RecordsMatched, s.RecordsScanned)
	}
	return nil
}

func logsTail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("logs tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", defaultAPI, "the emulator's control plane `URL`")
	region := fs.String("region", "us-east-1", "the emulator's region")
	group := fs.String("group", "AWSIotLogsV2", "the log `group` (AWSIotLogsV2 or /aws/lambda/NAME)")
	since := fs.Duration("since", 10*time.Minute, "print events from this long ago")
	follow := fs.Bool("follow", false, "keep printing new events until interrupted")
	pattern := fs.String("filter-pattern", "", "a CloudWatch Logs filter `pattern`")
	asJSON := fs.Bool("json", false, "print each event as a JSON object")
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	client := logsClient(*endpoint, *region)
	start := time.Now().Add(-*since).UnixMilli()
	seen := map[string]bool{}
	for {
		in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: group, StartTime: aws.Int64(start)}
		if *pattern != "" {
			in.FilterPattern = pattern
		}
		pages := cloudwatchlogs.NewFilterLogEventsPaginator(client, in)
		newest := start
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("logs tail: %w", err)
			}
			for _, e := range page.Events {
				id := aws.ToString(e.EventId)
				if seen[id] {
					continue
				}
				seen[id] = true
				ts := aws.ToInt64(e.Timestamp)
				newest = max(newest, ts)
				if err := printEvent(stdout, *asJSON, ts, aws.ToString(e.LogStreamName), aws.ToString(e.Message)); err != nil {
					return err
				}
			}
		}
		if !*follow {
			return nil
		}
		// Events at the newest millisecond may still arrive: ask again from it, and skip the
		// ones already printed (bounded: only that millisecond's IDs are kept).
		if newest > start {
			seen = keepFrom(seen, newest)
			start = newest
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// keepFrom keeps the IDs of events at or after ms (event IDs start with their time).
func keepFrom(seen map[string]bool, ms int64) map[string]bool {
	prefix := fmt.Sprint(ms)
	out := map[string]bool{}
	for id := range seen {
		if strings.HasPrefix(id, prefix) {
			out[id] = true
		}
	}
	return out
}

// printEvent prints one event as aws logs tail does (time, stream, message) or as JSON.
func printEvent(w io.Writer, asJSON bool, ms int64, stream, message string) error {
	t := time.UnixMilli(ms).UTC()
	if asJSON {
		return json.NewEncoder(w).Encode(map[string]any{"timestamp": t.Format(time.RFC3339Nano), "logStreamName": stream, "message": message})
	}
	_, err := fmt.Fprintf(w, "%s %s %s\n", t.Format("2006-01-02T15:04:05.000000-07:00"), stream, strings.TrimRight(message, "\n"))
	return err
}
