package policy

//lint:file-ignore ST1005 error messages start with the policy key they are about (Effect, Sid, Condition).

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// opKind is the comparison a condition operator makes.
type opKind uint8

const (
	opUnsupported opKind = iota // a real IAM operator iotemu does not implement
	opStringEquals
	opStringEqualsIgnoreCase
	opStringLike
	opBool
	opIPAddress
	opArnLike
	opNull
)

// operator is a base condition operator: its comparison, and whether it is the negated form.
type operator struct {
	kind   opKind
	negate bool
}

// operators holds the IAM condition operators by exact name (operator names are
// case-sensitive; AWS (inferred)). The Numeric, Date and Binary operators are known so
// that they are refused as unsupported rather than as unknown: no key custom
// authentication provides is a number, a date or binary.
var operators = map[string]operator{
	"StringEquals":              {opStringEquals, false},
	"StringNotEquals":           {opStringEquals, true},
	"StringEqualsIgnoreCase":    {opStringEqualsIgnoreCase, false},
	"StringNotEqualsIgnoreCase": {opStringEqualsIgnoreCase, true},
	"StringLike":                {opStringLike, false},
	"StringNotLike":             {opStringLike, true},
	"Bool":                      {opBool, false},
	"IpAddress":                 {opIPAddress, false},
	"NotIpAddress":              {opIPAddress, true},
	// AWS: ArnEquals and ArnLike behave the same: both take '*' and '?'.
	"ArnEquals":                {opArnLike, false},
	"ArnLike":                  {opArnLike, false},
	"ArnNotEquals":             {opArnLike, true},
	"ArnNotLike":               {opArnLike, true},
	"Null":                     {opNull, false},
	"NumericEquals":            {},
	"NumericNotEquals":         {},
	"NumericLessThan":          {},
	"NumericLessThanEquals":    {},
	"NumericGreaterThan":       {},
	"NumericGreaterThanEquals": {},
	"DateEquals":               {},
	"DateNotEquals":            {},
	"DateLessThan":             {},
	"DateLessThanEquals":       {},
	"DateGreaterThan":          {},
	"DateGreaterThanEquals":    {},
	"BinaryEquals":             {},
}

// setQualifier is the ForAllValues:/ForAnyValue: prefix of an operator.
type setQualifier uint8

const (
	noQualifier setQualifier = iota
	forAllValues
	forAnyValue
)

// condition is one key test of a Condition block: operator, key and values.
type condition struct {
	op       string // as written, e.g. "ForAnyValue:StringLike"
	base     operator
	set      setQualifier
	ifExists bool
	key      string
	values   []pattern
}

// parseOperator splits an operator name into qualifier, base operator and IfExists.
// An unknown operator is an error: a condition must never be silently ignored.
func parseOperator(name string) (condition, error) {
	c := condition{op: name}
	rest := name
	if r, ok := strings.CutPrefix(rest, "ForAllValues:"); ok {
		c.set, rest = forAllValues, r
	} else if r, ok := strings.CutPrefix(rest, "ForAnyValue:"); ok {
		c.set, rest = forAnyValue, r
	}
	base, known := operators[rest]
	if !known {
		if r, ok := strings.CutSuffix(rest, "IfExists"); ok && r != "Null" {
			base, known = operators[r]
			rest, c.ifExists = r, known
		}
	}
	switch {
	case !known:
		for op := range operators {
			if strings.EqualFold(op, rest) {
				return c, fmt.Errorf("unknown condition operator %q (operator names are case-sensitive: did you mean %q?)", name, op)
			}
		}
		return c, fmt.Errorf("unknown condition operator %q", name)
	case base.kind == opUnsupported:
		return c, fmt.Errorf("condition operator %q is not supported by iotemu (no custom-authentication key is a number, date or binary)", name)
	}
	c.base = base
	return c, nil
}

// parseConditions reads a Condition block: {operator: {key: value or [values]}}.
func parseConditions(raw any) ([]condition, error) {
	block, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("Condition must be an object of {operator: {key: values}}")
	}
	var conds []condition
	for _, op := range sortedKeys(block) {
		keys, ok := block[op].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("Condition %q must be an object of {key: values}", op)
		}
		proto, err := parseOperator(op)
		if err != nil {
			return nil, fmt.Errorf("Condition: %w", err)
		}
		for _, key := range sortedKeys(keys) {
			vals, err := conditionValues(keys[key])
			if err != nil {
				return nil, fmt.Errorf("Condition %q %q: %w", op, key, err)
			}
			c := proto
			c.key = key
			for _, v := range vals {
				p := parsePattern(v, true)
				if c.base.kind == opIPAddress && !p.hasVariables() {
					if _, ok := parsePrefix(v); !ok {
						return nil, fmt.Errorf("Condition %q %q: %q is not an IP address or CIDR block", op, key, v)
					}
				}
				c.values = append(c.values, p)
			}
			conds = append(conds, c)
		}
	}
	return conds, nil
}

// conditionValues reads a condition's value: a string, boolean or number, or a non-empty
// array of them. Booleans and numbers stand for their JSON text, as in IAM.
func conditionValues(raw any) ([]string, error) {
	list, isList := raw.([]any)
	if !isList {
		list = []any{raw}
	} else if len(list) == 0 {
		return nil, fmt.Errorf("no values")
	}
	vals := make([]string, 0, len(list))
	for _, item := range list {
		switch v := item.(type) {
		case string:
			vals = append(vals, v)
		case bool:
			vals = append(vals, strconv.FormatBool(v))
		case json.Number:
			vals = append(vals, v.String())
		default:
			return nil, fmt.Errorf("values must be strings, booleans or numbers, or an array of them")
		}
	}
	return vals, nil
}

// holds decides the condition for the connection described by ctx.
func (c *condition) holds(ctx *Context) bool {
	vals, present := ctx.values(c.key)
	if c.base.kind == opNull {
		// AWS: Null with "true" holds when the key is absent, with "false" when it is present.
		for _, p := range c.values {
			if v, ok := p.text(ctx); ok && strings.EqualFold(v, "true") != present {
				return true
			}
		}
		return false
	}
	if !present {
		switch {
		case c.ifExists:
			return true // AWS: ...IfExists holds when the key is absent.
		case c.set == forAllValues:
			return true // AWS: ForAllValues holds when the key is absent (no value fails).
		case c.set == forAnyValue:
			return false // AWS: ForAnyValue needs at least one value.
		}
		// AWS: an absent key does not match; a negated operator (StringNotEquals,
		// NotIpAddress, ...) therefore holds.
		return c.base.negate
	}
	tests := c.valueTests(ctx)
	matchesAny := func(v string) bool {
		return slices.ContainsFunc(tests, func(test func(string) bool) bool { return test(v) })
	}
	switch c.set {
	case forAllValues:
		// AWS: every value of the key must pass (for a negated operator: match no value).
		for _, v := range vals {
			if matchesAny(v) == c.base.negate {
				return false
			}
		}
		return true
	case forAnyValue:
		// AWS: at least one value of the key must pass.
		for _, v := range vals {
			if matchesAny(v) != c.base.negate {
				return true
			}
		}
		return false
	}
	// AWS: the values of a condition are ORed; a negated operator holds when none matches.
	return slices.ContainsFunc(vals, matchesAny) != c.base.negate
}

// valueTests substitutes variables in the condition's values and returns one test per value
// (the positive form of the operator). A value whose variable does not resolve matches nothing.
func (c *condition) valueTests(ctx *Context) []func(string) bool {
	var tests []func(string) bool
	for _, p := range c.values {
		switch c.base.kind {
		case opStringLike, opArnLike:
			m := p.resolve(ctx, false)
			arn := c.base.kind == opArnLike
			tests = append(tests, func(v string) bool { return (!arn || isARN(v)) && m.match(v) })
			continue
		}
		want, ok := p.text(ctx)
		if !ok {
			continue
		}
		switch c.base.kind {
		case opStringEquals:
			tests = append(tests, func(v string) bool { return v == want })
		case opStringEqualsIgnoreCase, opBool:
			tests = append(tests, func(v string) bool { return strings.EqualFold(v, want) })
		case opIPAddress:
			if prefix, ok := parsePrefix(want); ok {
				tests = append(tests, func(v string) bool {
					addr, ok := parseAddr(v)
					return ok && prefix.Contains(addr)
				})
			}
		}
	}
	return tests
}

// String renders the condition as written, e.g. `StringEquals iot:ClientId ["a" "b"]`.
func (c *condition) String() string {
	vals := make([]string, len(c.values))
	for i, p := range c.values {
		vals[i] = fmt.Sprintf("%q", p.src)
	}
	return fmt.Sprintf("%s %s [%s]", c.op, c.key, strings.Join(vals, " "))
}

// actual describes the connection's value for the condition's key, for explanations.
func (c *condition) actual(ctx *Context) string {
	vals, ok := ctx.values(c.key)
	switch {
	case !ok:
		return c.key + " is absent for this connection"
	case len(vals) == 1:
		return fmt.Sprintf("%s is %q", c.key, vals[0])
	}
	return fmt.Sprintf("%s is %q", c.key, vals)
}

// parsePrefix reads a CIDR block or a single IP address (a one-address block).
// AWS (inferred): a plain IP in IpAddress/NotIpAddress means that one address.
func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// parseAddr reads an IP address, with or without a port. IPv4-mapped IPv6 addresses
// count as IPv4, so that 10.0.0.0/8 covers ::ffff:10.1.2.3.
func parseAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// isARN reports whether s has the shape of an ARN (arn:partition:service:region:account:resource).
// AWS (inferred): the Arn operators match nothing that is not an ARN.
func isARN(s string) bool {
	return strings.HasPrefix(s, "arn:") && strings.Count(s, ":") >= 5
}
