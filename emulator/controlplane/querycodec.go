package controlplane

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// AWS: CloudWatch's query protocol (the aws CLI v2 and older SDKs): POST / with a
// form-encoded body naming the operation (Action) and the API version; XML responses in
// the API's namespace.
const (
	queryVersion   = "2010-08-01"
	queryNamespace = "http://monitoring.amazonaws.com/doc/2010-08-01/"
	formType       = "application/x-www-form-urlencoded"
)

// isQuery reports whether r is a request in CloudWatch's query protocol.
func isQuery(r *http.Request) bool {
	return r.URL.Path == "/" && strings.HasPrefix(r.Header.Get("Content-Type"), formType)
}

// maxQueryIndex bounds a list index (NAME.member.N) of a query request. AWS: no CloudWatch
// list of these operations holds more than 500 members (MetricDataQueries).
const maxQueryIndex = 500

// queryScalars are the request members, by name, that are not strings: the query protocol
// sends every scalar as text, and the operations read them typed, as the other protocols
// decode them. AWS: timestamps in ISO 8601.
var queryScalars = map[string]func(string) (any, error){
	"Period":     func(s string) (any, error) { return strconv.ParseFloat(s, 64) },
	"StartTime":  func(s string) (any, error) { return time.Parse(time.RFC3339Nano, s) },
	"EndTime":    func(s string) (any, error) { return time.Parse(time.RFC3339Nano, s) },
	"ReturnData": func(s string) (any, error) { return strconv.ParseBool(s) },
}

// queryMaps are the response members that are map shapes (entry/key/value in XML) rather
// than structures.
var queryMaps = map[string]bool{"ExtendedStatistics": true}

// queryCodec is AWS's query protocol for CloudWatch. Lists come as NAME.member.N (N from 1),
// structure members as NAME.MEMBER; responses are XML, OPResponse/OPResult.
type queryCodec struct{}

func (queryCodec) decode(body []byte) (map[string]any, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("the form does not parse: %w", err)
	}
	if v := form.Get("Version"); v != queryVersion {
		return nil, fmt.Errorf("Version is %q; CloudWatch's is %s", v, queryVersion)
	}
	root := map[string]any{}
	for key, values := range form {
		if err := queryPut(root, strings.Split(key, "."), values[0]); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	}
	return queryLists(root).(map[string]any), nil
}

// queryPut stores value under path in the tree; a list is a map of its 1-based indexes under
// "member" until queryLists turns it into a list.
func queryPut(node map[string]any, path []string, value string) error {
	name := path[0]
	if len(path) == 1 {
		switch node[name].(type) {
		case nil:
		case map[string]any: // the form's keys come in map order: say the same either way
			return fmt.Errorf("%s is both a value and a structure", name)
		default:
			return fmt.Errorf("given twice")
		}
		v := any(value)
		if parse, ok := queryScalars[name]; ok {
			var err error
			if v, err = parse(value); err != nil {
				return err
			}
		}
		node[name] = v
		return nil
	}
	if name == "member" {
		if i, err := strconv.Atoi(path[1]); err != nil || i < 1 || i > maxQueryIndex {
			return fmt.Errorf("index %q is not between 1 and %d", path[1], maxQueryIndex)
		}
	}
	child, ok := node[name].(map[string]any)
	if !ok {
		if _, taken := node[name]; taken {
			return fmt.Errorf("%s is both a value and a structure", name)
		}
		child = map[string]any{}
		node[name] = child
	}
	return queryPut(child, path[1:], value)
}

// queryLists turns each map holding only "member" into the list of its members, in index
// order. (An empty list comes as NAME= and stays a string, which the operations read as no
// list.)
func queryLists(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	for k, x := range m {
		m[k] = queryLists(x)
	}
	members, ok := m["member"].(map[string]any)
	if len(m) != 1 || !ok {
		return m
	}
	keys := make([]int, 0, len(members))
	for k := range members {
		i, _ := strconv.Atoi(k)
		keys = append(keys, i)
	}
	slices.Sort(keys)
	list := make([]any, len(keys))
	for i, k := range keys {
		list[i] = members[strconv.Itoa(k)]
	}
	return list
}

func (queryCodec) write(w http.ResponseWriter, op string, status int, v map[string]any) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<%sResponse xmlns=%q>", op, queryNamespace)
	writeXML(&b, op+"Result", v)
	fmt.Fprintf(&b, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>", uuid.NewString(), op)
	writeXMLBody(w, status, b.Bytes())
}

// AWS: a query error is an ErrorResponse naming the fault (Sender), the query error code and
// the message.
func (queryCodec) writeError(w http.ResponseWriter, ex metricsException, message string) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<ErrorResponse xmlns=%q><Error><Type>Sender</Type>", queryNamespace)
	writeXML(&b, "Code", ex.queryCode)
	writeXML(&b, "Message", message)
	fmt.Fprintf(&b, "</Error><RequestId>%s</RequestId></ErrorResponse>", uuid.NewString())
	writeXMLBody(w, ex.status, b.Bytes())
}

func writeXMLBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeXML writes v as the element name: structures by member (in name order), lists as
// member elements, map shapes as entry/key/value, times in ISO 8601; nothing for a value
// JSON would leave null.
func writeXML(b *bytes.Buffer, name string, v any) {
	var text string
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		fmt.Fprintf(b, "<%s>", name)
		for _, k := range keys {
			if queryMaps[name] {
				fmt.Fprintf(b, "<entry><key>%s</key>", xmlText(k))
				writeXML(b, "value", t[k])
				b.WriteString("</entry>")
				continue
			}
			writeXML(b, k, t[k])
		}
		fmt.Fprintf(b, "</%s>", name)
		return
	case string:
		text = t
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return
		}
		text = strconv.FormatFloat(t, 'f', -1, 64)
	case int:
		text = strconv.Itoa(t)
	case bool:
		text = strconv.FormatBool(t)
	case time.Time:
		text = t.UTC().Format(time.RFC3339Nano)
	default:
		l, ok := eachOf(v, func(x any) any { return x })
		if !ok {
			return
		}
		fmt.Fprintf(b, "<%s>", name)
		for _, x := range l {
			writeXML(b, "member", x)
		}
		fmt.Fprintf(b, "</%s>", name)
		return
	}
	fmt.Fprintf(b, "<%s>%s</%s>", name, xmlText(text), name)
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
