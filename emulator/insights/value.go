package insights

import (
	"cmp"
	"math"
	"strconv"
	"strings"
	"time"
)

// TimeLayout is how Logs Insights shows a timestamp in its results (@timestamp, bin(...)).
// AWS: results show timestamps as "2024-05-01 12:00:00.000", in UTC.
const TimeLayout = "2006-01-02 15:04:05.000"

type kind uint8

const (
	kindNull kind = iota
	kindString
	kindNumber
	kindTime // num holds milliseconds since the epoch
	kindBool
)

// value is a field or expression value: absent (null), a string, a number, a time or a
// boolean (the result of a comparison).
type value struct {
	kind kind
	str  string
	num  float64
}

var null = value{}

func str(s string) value        { return value{kind: kindString, str: s} }
func num(f float64) value       { return value{kind: kindNumber, num: f} }
func timeMillis(ms int64) value { return value{kind: kindTime, num: float64(ms)} }

func boolean(b bool) value {
	if b {
		return value{kind: kindBool, num: 1}
	}
	return value{kind: kindBool}
}

// number returns v as a number: numbers and times as they are, strings when they parse.
func (v value) number() (float64, bool) {
	switch v.kind {
	case kindNumber, kindTime, kindBool:
		return v.num, true
	case kindString:
		f, err := strconv.ParseFloat(strings.TrimSpace(v.str), 64)
		return f, err == nil
	}
	return 0, false
}

// truthy is how filter reads a value: a true comparison, a non-zero number, a non-empty string.
func (v value) truthy() bool {
	switch v.kind {
	case kindBool, kindNumber, kindTime:
		return v.num != 0
	case kindString:
		return v.str != ""
	}
	return false
}

// String renders v as results show it; null is "".
func (v value) String() string {
	switch v.kind {
	case kindString:
		return v.str
	case kindNumber:
		return formatNumber(v.num)
	case kindTime:
		return time.UnixMilli(int64(v.num)).UTC().Format(TimeLayout)
	case kindBool:
		if v.num != 0 {
			return "1"
		}
		return "0"
	}
	return ""
}

func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// compare orders a and b: numerically when both are numbers (or one is a number and the other
// a numeric string), as text otherwise. ok is false when either is null.
func compare(a, b value) (c int, ok bool) {
	if a.kind == kindNull || b.kind == kindNull {
		return 0, false
	}
	if a.kind != kindString || b.kind != kindString {
		x, okx := a.number()
		y, oky := b.number()
		if okx && oky {
			return cmp.Compare(x, y), true
		}
	}
	return strings.Compare(a.String(), b.String()), true
}

// sortCompare orders values for sort, ascending: nulls, then values that are not numbers in
// natural order, then numbers. AWS: "All non-number values come before all number values";
// text compares in chunks, runs of digits by length then value, other runs by Unicode.
func sortCompare(a, b value) int {
	switch {
	case a.kind == kindNull && b.kind == kindNull:
		return 0
	case a.kind == kindNull:
		return -1
	case b.kind == kindNull:
		return 1
	}
	x, okx := a.number()
	y, oky := b.number()
	switch {
	case okx && oky:
		return cmp.Compare(x, y)
	case okx:
		return 1
	case oky:
		return -1
	}
	return naturalCompare(a.String(), b.String())
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// chunk returns the leading run of digits, or of non-digits, of s.
func chunk(s string) string {
	d := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == d {
		i++
	}
	return s[:i]
}

func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		ca, cb := chunk(a), chunk(b)
		if isDigit(ca[0]) && isDigit(cb[0]) {
			x, y := strings.TrimLeft(ca, "0"), strings.TrimLeft(cb, "0")
			if c := cmp.Compare(len(x), len(y)); c != 0 {
				return c
			}
			if c := strings.Compare(x, y); c != 0 {
				return c
			}
		} else if c := strings.Compare(ca, cb); c != 0 {
			return c
		}
		a, b = a[len(ca):], b[len(cb):]
	}
	return cmp.Compare(len(a), len(b))
}
