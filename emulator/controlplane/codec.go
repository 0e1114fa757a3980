package controlplane

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// codec reads and writes the bodies of one of CloudWatch's protocols. Requests are decoded to
// generic values (map[string]any, []any, string, float64, bool, time.Time) and responses are
// built from the same.
type codec interface {
	decode(body []byte) (map[string]any, error)
	write(w http.ResponseWriter, status int, v map[string]any)
	// writeError answers with an exception: its name, its awsQueryCompatible code and fault.
	writeError(w http.ResponseWriter, ex metricsException, message string)
}

// metricsException is a CloudWatch exception. AWS: CloudWatch is awsQueryCompatible: the
// x-amzn-query-error header carries the query protocol's code and fault.
type metricsException struct {
	name, queryCode string
	status          int
}

var (
	cwInvalid = metricsException{"InvalidParameterValueException", "InvalidParameterValue", http.StatusBadRequest}
	cwMissing = metricsException{"MissingRequiredParameterException", "MissingParameter", http.StatusBadRequest}
	cwUnknown = metricsException{"UnknownOperationException", "InvalidAction", http.StatusBadRequest}
)

func readBody(r *http.Request, w http.ResponseWriter) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
}

// cborCodec is Smithy RPC v2 CBOR, the protocol aws-sdk-go-v2's CloudWatch client uses.
// AWS: POST /service/GraniteServiceVersion20100801/operation/NAME, application/cbor, the
// smithy-protocol: rpc-v2-cbor header, timestamps as tag 1 (seconds since the epoch).
type cborCodec struct{}

func (cborCodec) decode(body []byte) (map[string]any, error) {
	if len(body) == 0 {
		return map[string]any{}, nil
	}
	v, err := cbor.Decode(body)
	if err != nil {
		return nil, err
	}
	m, ok := fromCBOR(v).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the body is not a CBOR map")
	}
	return m, nil
}

func (cborCodec) write(w http.ResponseWriter, status int, v map[string]any) {
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("smithy-protocol", "rpc-v2-cbor")
	w.WriteHeader(status)
	_, _ = w.Write(cbor.Encode(toCBOR(v)))
}

func (c cborCodec) writeError(w http.ResponseWriter, ex metricsException, message string) {
	w.Header().Set("x-amzn-query-error", ex.queryCode+";Sender")
	c.write(w, ex.status, map[string]any{"__type": ex.name, "message": message})
}

func fromCBOR(v cbor.Value) any {
	switch t := v.(type) {
	case cbor.Map:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = fromCBOR(x)
		}
		return m
	case cbor.List:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = fromCBOR(x)
		}
		return l
	case cbor.String:
		return string(t)
	case cbor.Uint:
		return float64(t)
	case cbor.NegInt:
		return -float64(t)
	case cbor.Float32:
		return float64(t)
	case cbor.Float64:
		return float64(t)
	case cbor.Bool:
		return bool(t)
	case *cbor.Tag:
		if tm, err := cbor.AsTime(t); err == nil {
			return tm
		}
	}
	return nil
}

func toCBOR(v any) cbor.Value {
	switch t := v.(type) {
	case map[string]any:
		m := make(cbor.Map, len(t))
		for k, x := range t {
			m[k] = toCBOR(x)
		}
		return m
	case string:
		return cbor.String(t)
	case float64:
		return cbor.Float64(t)
	case int:
		if t < 0 {
			return cbor.NegInt(uint64(-t))
		}
		return cbor.Uint(uint64(t))
	case bool:
		return cbor.Bool(t)
	case time.Time:
		return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(t.UnixMilli()) / 1000)}
	}
	if l, ok := eachOf(v, toCBOR); ok {
		return cbor.List(l)
	}
	return &cbor.Nil{}
}

// eachOf applies f to each element of v when v is a slice (of any element type).
func eachOf[T any](v any, f func(any) T) ([]T, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		return nil, false
	}
	out := make([]T, rv.Len())
	for i := range out {
		out[i] = f(rv.Index(i).Interface())
	}
	return out, true
}

// jsonCodec is AWS JSON 1.0 with awsQueryCompatible, the protocol the aws CLI uses for
// CloudWatch (botocore sends X-Amz-Target GraniteServiceVersion20100801.NAME and
// x-amzn-query-mode: true); timestamps are seconds since the epoch.
type jsonCodec struct{}

func (jsonCodec) decode(body []byte) (map[string]any, error) {
	m := map[string]any{}
	if len(body) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func (jsonCodec) write(w http.ResponseWriter, status int, v map[string]any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	writeJSON(w, status, toJSON(v))
}

func (c jsonCodec) writeError(w http.ResponseWriter, ex metricsException, message string) {
	w.Header().Set("x-amzn-query-error", ex.queryCode+";Sender")
	c.write(w, ex.status, map[string]any{"__type": ex.name, "message": message})
}

// toJSON turns times into seconds since the epoch, as JSON 1.0 writes them.
func toJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = toJSON(x)
		}
		return m
	case time.Time:
		return float64(t.UnixMilli()) / 1000
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return nil
		}
		return t
	case string:
		return t
	}
	if l, ok := eachOf(v, toJSON); ok {
		return l
	}
	return v
}
