package controlplane

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestQueryDecode: the query protocol's form becomes the values the operations read (lists
// in index order, typed scalars); malformed forms are refused with what is wrong.
func TestQueryDecode(t *testing.T) {
	in, err := queryCodec{}.decode([]byte("Action=GetMetricData&Version=2010-08-01&StartTime=2026-11-29T17%3A00%3A00Z&EndTime=2026-11-29T18%3A00%3A00.5Z" +
		"&MetricDataQueries.member.2.Id=b&MetricDataQueries.member.1.Id=a&MetricDataQueries.member.1.ReturnData=false" +
		"&MetricDataQueries.member.1.MetricStat.Period=60&MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name=FunctionName"))
	if err != nil {
		t.Fatal(err)
	}
	qs := asList(in["MetricDataQueries"])
	if len(qs) != 2 || qs[0].(map[string]any)["Id"] != "a" || qs[1].(map[string]any)["Id"] != "b" || qs[0].(map[string]any)["ReturnData"] != false {
		t.Errorf("MetricDataQueries %v", qs)
	}
	ms := qs[0].(map[string]any)["MetricStat"].(map[string]any)
	dims := asList(ms["Metric"].(map[string]any)["Dimensions"])
	if ms["Period"] != 60.0 || len(dims) != 1 || dims[0].(map[string]any)["Name"] != "FunctionName" {
		t.Errorf("MetricStat %v", ms)
	}
	if end, _ := asTime(in["EndTime"]); !end.Equal(time.Date(2026, 11, 29, 18, 0, 0, 5e8, time.UTC)) {
		t.Errorf("EndTime %v", in["EndTime"])
	}
	for form, want := range map[string]string{
		"Action=ListMetrics&Version=2011-01-01":                                   `Version is "2011-01-01"`,
		"Action=ListMetrics&Version=2010-08-01&Period=soon":                       `Period: strconv.ParseFloat`,
		"Action=ListMetrics&Version=2010-08-01&Dimensions.member.501.Name=x":      `index "501" is not between 1 and 500`,
		"Action=ListMetrics&Version=2010-08-01&Dimensions.member.0.Name=x":        `index "0"`,
		"Action=ListMetrics&Version=2010-08-01&Namespace=a&Namespace.member.1=b":  `both a value and a structure`,
		"Action=ListMetrics&Version=2010-08-01&StartTime=2026-11-29+17%3A00%3A00": `StartTime: parsing time`,
	} {
		if _, err := (queryCodec{}).decode([]byte(form)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", form, err, want)
		}
	}
}

// TestQueryWrite: answers and errors in CloudWatch's XML.
func TestQueryWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	queryCodec{}.write(rec, "GetMetricStatistics", 200, map[string]any{"Label": "a<b", "Datapoints": []map[string]any{{
		"Timestamp": time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC), "Sum": 2.0, "ExtendedStatistics": map[string]any{"p99": 1.5},
	}}})
	body := rec.Body.String()
	for _, want := range []string{
		`<GetMetricStatisticsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><GetMetricStatisticsResult>`,
		`<Datapoints><member><ExtendedStatistics><entry><key>p99</key><value>1.5</value></entry></ExtendedStatistics><Sum>2</Sum><Timestamp>2026-11-29T18:00:00Z</Timestamp></member></Datapoints><Label>a&lt;b</Label>`,
		`</GetMetricStatisticsResult><ResponseMetadata><RequestId>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("answer lacks %s:\n%s", want, body)
		}
	}
	rec = httptest.NewRecorder()
	queryCodec{}.writeError(rec, cwInvalid, "bad period")
	if body := rec.Body.String(); rec.Code != 400 || !strings.Contains(body, `<Error><Type>Sender</Type><Code>InvalidParameterValue</Code><Message>bad period</Message></Error>`) {
		t.Errorf("error %d:\n%s", rec.Code, body)
	}
}
