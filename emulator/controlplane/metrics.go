package controlplane

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/iotemu/iotemu/lambdarunner"
)

// lambdaNamespace is the namespace of Lambda's metrics.
const lambdaNamespace = "AWS/Lambda"

// lambdaMetric is one of Lambda's invocation metrics: its unit and the value one datapoint
// gives it (ok false: the datapoint does not count for it).
type lambdaMetric struct {
	unit  string
	value func(p lambdarunner.Datapoint) (v float64, ok bool)
}

// lambdaMetrics are the metrics of the console's Monitor tab. AWS: Invocations counts
// invocations that ran (1 each); Errors is 1 for a failed invocation and 0 otherwise (so its
// Average is the error rate); Duration is in milliseconds; Throttles counts throttled
// requests; ConcurrentExecutions is the number of invocations running at the time (read its
// Maximum).
var lambdaMetrics = map[string]lambdaMetric{
	"Invocations": {"Count", func(p lambdarunner.Datapoint) (float64, bool) { return 1, !p.Throttled }},
	"Errors": {"Count", func(p lambdarunner.Datapoint) (float64, bool) {
		if p.Error {
			return 1, !p.Throttled
		}
		return 0, !p.Throttled
	}},
	"Duration": {"Milliseconds", func(p lambdarunner.Datapoint) (float64, bool) {
		return float64(p.Duration.Microseconds()) / 1000, !p.Throttled
	}},
	"Throttles":            {"Count", func(p lambdarunner.Datapoint) (float64, bool) { return 1, p.Throttled }},
	"ConcurrentExecutions": {"Count", func(p lambdarunner.Datapoint) (float64, bool) { return float64(p.Concurrency), !p.Throttled }},
}

// metricsError is a CloudWatch exception with its message.
type metricsError struct {
	ex      metricsException
	message string
}

func (e *metricsError) Error() string { return e.ex.name + ": " + e.message }

func cwErr(ex metricsException, format string, args ...any) error {
	return &metricsError{ex: ex, message: fmt.Sprintf(format, args...)}
}

func (c *cloudWatch) serveMetrics(w http.ResponseWriter, r *http.Request, op string, cd codec) {
	raw, err := readBody(r, w)
	if err != nil {
		cd.writeError(w, cwInvalid, "the request body could not be read: "+err.Error())
		return
	}
	in, err := cd.decode(raw)
	if err != nil {
		cd.writeError(w, cwInvalid, "the request body does not decode: "+err.Error())
		return
	}
	var out map[string]any
	switch op {
	case "GetMetricStatistics":
		out, err = c.getMetricStatistics(in)
	case "GetMetricData":
		out, err = c.getMetricData(in)
	case "ListMetrics":
		out, err = c.listMetrics(in)
	default:
		cd.writeError(w, cwUnknown, op+" is not a CloudWatch operation this emulator serves")
		return
	}
	if me, ok := err.(*metricsError); ok {
		cd.writeError(w, me.ex, me.message)
		return
	}
	cd.write(w, http.StatusOK, out)
}

// metricKey names a metric: namespace, name and the FunctionName dimension ("" for the
// metric across all functions).
type metricKey struct {
	namespace, name, function string
}

// readMetric reads a Metric structure (Namespace, MetricName, Dimensions).
func readMetric(m map[string]any) (metricKey, error) {
	k := metricKey{namespace: asString(m["Namespace"]), name: asString(m["MetricName"])}
	if k.namespace == "" || k.name == "" {
		return k, cwErr(cwMissing, "Namespace and MetricName are required")
	}
	for _, d := range asList(m["Dimensions"]) {
		dm, _ := d.(map[string]any)
		name, value := asString(dm["Name"]), asString(dm["Value"])
		if name != "FunctionName" {
			k.function = "\x00" + name // a dimension Lambda's metrics here do not have: no data
			continue
		}
		k.function = value
	}
	return k, nil
}

// values returns the metric's samples in [start, end), and its unit.
func (c *cloudWatch) values(k metricKey, start, end time.Time) ([]sample, string) {
	def, ok := lambdaMetrics[k.name]
	if k.namespace != lambdaNamespace || !ok {
		return nil, "None"
	}
	var out []sample
	for fn, points := range c.src.FunctionDatapoints() {
		if k.function != "" && k.function != fn {
			continue
		}
		for _, p := range points {
			if p.Time.Before(start) || !p.Time.Before(end) {
				continue
			}
			if v, ok := def.value(p); ok {
				out = append(out, sample{p.Time, v})
			}
		}
	}
	return out, def.unit
}

type sample struct {
	t time.Time
	v float64
}

// bucket groups samples by period, aligned to the epoch, in time order.
func bucket(samples []sample, period int64) (times []time.Time, groups [][]float64) {
	by := map[int64][]float64{}
	for _, s := range samples {
		b := s.t.Unix() / period * period
		by[b] = append(by[b], s.v)
	}
	keys := make([]int64, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		times = append(times, time.Unix(k, 0).UTC())
		groups = append(groups, by[k])
	}
	return times, groups
}

// statistic computes one statistic (SampleCount, Average, Sum, Minimum, Maximum or pNN).
func statistic(name string, vs []float64) (float64, error) {
	switch name {
	case "SampleCount":
		return float64(len(vs)), nil
	case "Sum", "Average":
		var sum float64
		for _, v := range vs {
			sum += v
		}
		if name == "Average" {
			return sum / float64(len(vs)), nil
		}
		return sum, nil
	case "Minimum":
		return slices.Min(vs), nil
	case "Maximum":
		return slices.Max(vs), nil
	}
	if p, err := strconv.ParseFloat(strings.TrimPrefix(name, "p"), 64); err == nil && strings.HasPrefix(name, "p") && p >= 0 && p <= 100 {
		s := slices.Clone(vs)
		sort.Float64s(s)
		return s[int(math.Ceil(p/100*float64(len(s))))-1+boolInt(p == 0)], nil
	}
	return 0, cwErr(cwInvalid, "The statistic %q is not valid", name)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// readRange reads StartTime, EndTime and Period. AWS: the period is 1, 5, 10, 30 or a
// multiple of 60 seconds.
func readRange(in map[string]any, periodKey map[string]any) (start, end time.Time, period int64, err error) {
	start, okS := asTime(in["StartTime"])
	end, okE := asTime(in["EndTime"])
	if !okS || !okE {
		return start, end, 0, cwErr(cwMissing, "StartTime and EndTime are required")
	}
	if !start.Before(end) {
		return start, end, 0, cwErr(cwInvalid, "The parameter StartTime must be less than the parameter EndTime.") // AWS
	}
	p, ok := periodKey["Period"].(float64)
	if !ok {
		return start, end, 0, cwErr(cwMissing, "Period is required")
	}
	period = int64(p)
	if float64(period) != p || period < 1 || period%60 != 0 && !slices.Contains([]int64{1, 5, 10, 30}, period) {
		return start, end, 0, cwErr(cwInvalid, "The parameter Period must be 1, 5, 10, 30 or a multiple of 60.") // AWS
	}
	return start, end, period, nil
}

// maxDatapoints is the most datapoints one request may ask for. AWS: 1,440 for
// GetMetricStatistics.
const maxDatapoints = 1440

// AWS: GetMetricStatistics returns, for each period with data, the requested statistics.
func (c *cloudWatch) getMetricStatistics(in map[string]any) (map[string]any, error) {
	k, err := readMetric(in)
	if err != nil {
		return nil, err
	}
	start, end, period, err := readRange(in, in)
	if err != nil {
		return nil, err
	}
	stats := asStrings(in["Statistics"])
	ext := asStrings(in["ExtendedStatistics"])
	if len(stats) == 0 && len(ext) == 0 {
		return nil, cwErr(cwMissing, "Must specify either Statistics or ExtendedStatistics.") // AWS
	}
	if n := end.Sub(start).Seconds() / float64(period); n > maxDatapoints {
		return nil, cwErr(cwInvalid, "You have requested up to %d datapoints, which exceeds the limit of %d.", int(n), maxDatapoints)
	}
	samples, unit := c.values(k, start, end)
	times, groups := bucket(samples, period)
	points := []map[string]any{}
	for i, t := range times {
		dp := map[string]any{"Timestamp": t, "Unit": unit}
		for _, s := range stats {
			if !slices.Contains([]string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"}, s) {
				return nil, cwErr(cwInvalid, "The parameter Statistics contains %q, which is not a statistic.", s)
			}
			dp[s], _ = statistic(s, groups[i])
		}
		if len(ext) > 0 {
			e := map[string]any{}
			for _, s := range ext {
				if e[s], err = statistic(s, groups[i]); err != nil {
					return nil, err
				}
			}
			dp["ExtendedStatistics"] = e
		}
		points = append(points, dp)
	}
	return map[string]any{"Label": k.name, "Datapoints": points}, nil
}

// AWS: GetMetricData answers each MetricStat query with its timestamps and values, newest
// first unless ScanBy is TimestampAscending. Metric math (Expression) is not supported here.
func (c *cloudWatch) getMetricData(in map[string]any) (map[string]any, error) {
	queries := asList(in["MetricDataQueries"])
	if len(queries) == 0 {
		return nil, cwErr(cwMissing, "MetricDataQueries is required")
	}
	results := []map[string]any{}
	for _, q := range queries {
		qm, _ := q.(map[string]any)
		id := asString(qm["Id"])
		if qm["Expression"] != nil {
			return nil, cwErr(cwInvalid, "query %s: metric math expressions are not supported by iotemu", id)
		}
		ms, _ := qm["MetricStat"].(map[string]any)
		if ms == nil {
			return nil, cwErr(cwMissing, "query %s: MetricStat is required", id)
		}
		metric, _ := ms["Metric"].(map[string]any)
		k, err := readMetric(metric)
		if err != nil {
			return nil, err
		}
		start, end, period, err := readRange(in, ms)
		if err != nil {
			return nil, err
		}
		stat := asString(ms["Stat"])
		samples, _ := c.values(k, start, end)
		times, groups := bucket(samples, period)
		values := make([]float64, len(times))
		for i := range times {
			if values[i], err = statistic(stat, groups[i]); err != nil {
				return nil, err
			}
		}
		if asString(in["ScanBy"]) != "TimestampAscending" {
			slices.Reverse(times)
			slices.Reverse(values)
		}
		if rd, ok := qm["ReturnData"].(bool); ok && !rd {
			continue
		}
		label := asString(qm["Label"])
		if label == "" {
			label = k.name
		}
		if times == nil {
			times = []time.Time{}
		}
		results = append(results, map[string]any{"Id": id, "Label": label, "Timestamps": times, "Values": values, "StatusCode": "Complete"})
	}
	return map[string]any{"MetricDataResults": results, "Messages": []map[string]any{}}, nil
}

// AWS: ListMetrics lists the metrics that have data, filtered by namespace, name and
// dimensions; Lambda's come by FunctionName and across all functions (no dimension).
func (c *cloudWatch) listMetrics(in map[string]any) (map[string]any, error) {
	ns, name := asString(in["Namespace"]), asString(in["MetricName"])
	var filter []map[string]any
	for _, d := range asList(in["Dimensions"]) {
		if dm, ok := d.(map[string]any); ok {
			filter = append(filter, dm)
		}
	}
	out := []map[string]any{}
	if ns != "" && ns != lambdaNamespace {
		return map[string]any{"Metrics": out}, nil
	}
	all := c.src.FunctionDatapoints()
	functions := make([]string, 0, len(all))
	for fn := range all {
		functions = append(functions, fn)
	}
	slices.Sort(functions)
	metricNames := make([]string, 0, len(lambdaMetrics))
	for m := range lambdaMetrics {
		metricNames = append(metricNames, m)
	}
	slices.Sort(metricNames)
	for _, m := range metricNames {
		if name != "" && name != m {
			continue
		}
		seen := false
		for _, fn := range functions {
			if !hasData(all[fn], lambdaMetrics[m]) {
				continue
			}
			seen = true
			if dimsMatch(filter, fn) {
				out = append(out, map[string]any{"Namespace": lambdaNamespace, "MetricName": m,
					"Dimensions": []map[string]any{{"Name": "FunctionName", "Value": fn}}})
			}
		}
		if seen && len(filter) == 0 {
			out = append(out, map[string]any{"Namespace": lambdaNamespace, "MetricName": m, "Dimensions": []map[string]any{}})
		}
	}
	return map[string]any{"Metrics": out}, nil
}

func hasData(points []lambdarunner.Datapoint, m lambdaMetric) bool {
	for _, p := range points {
		if _, ok := m.value(p); ok {
			return true
		}
	}
	return false
}

// dimsMatch reports whether the FunctionName dimension fn passes a ListMetrics filter.
func dimsMatch(filter []map[string]any, fn string) bool {
	for _, f := range filter {
		if asString(f["Name"]) != "FunctionName" {
			return false
		}
		if v, ok := f["Value"].(string); ok && v != fn {
			return false
		}
	}
	return true
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func asStrings(v any) []string {
	var out []string
	for _, x := range asList(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// asTime reads a timestamp: a time (CBOR) or seconds since the epoch (JSON).
func asTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, true
	case float64:
		sec, frac := math.Modf(t)
		return time.Unix(int64(sec), int64(frac*1e9)), true
	}
	return time.Time{}, false
}
