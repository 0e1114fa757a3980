package lambdarunner

import (
	"errors"
	"fmt"
	"strings"

	"github.com/iotemu/iotemu/emulator/policy"
)

// IoTPrincipal is the service principal AWS IoT invokes authorizer functions as.
const IoTPrincipal = "iot.amazonaws.com"

// ActionInvoke is the action a caller needs on a function.
const ActionInvoke = "lambda:InvokeFunction"

// Statement is one statement of a function's resource-based policy, as Lambda's AddPermission
// creates it and GetPolicy shows it.
type Statement struct {
	Sid string
	// Effect is "Allow" (default) or "Deny".
	Effect string
	// Principal is a service principal such as iot.amazonaws.com, an account ID, or "*".
	Principal string
	// Action is lambda:InvokeFunction, lambda:*, or *.
	Action string
	// Condition maps an operator (ArnLike, ArnEquals, StringEquals, StringLike) to condition
	// keys (AWS:SourceArn, AWS:SourceAccount) and their values.
	Condition map[string]map[string]string
}

// ResourcePolicy is a function's resource-based policy: who may invoke it.
type ResourcePolicy struct {
	Statements []Statement
}

// Caller is who asks to invoke a function.
type Caller struct {
	Principal     string // e.g. iot.amazonaws.com
	SourceARN     string // e.g. the authorizer's ARN
	SourceAccount string
}

// ErrNotPermitted is returned when the function's policy does not let the caller invoke it.
var ErrNotPermitted = errors.New("the function's resource-based policy does not allow the caller to invoke it")

// IoTStatement is the statement `aws lambda add-permission --principal iot.amazonaws.com
// --source-arn AUTHORIZER_ARN` adds: AWS IoT may invoke the function for that authorizer.
func IoTStatement(sid, authorizerARN string) Statement {
	return Statement{
		Sid:       sid,
		Effect:    "Allow",
		Principal: IoTPrincipal,
		Action:    ActionInvoke,
		Condition: map[string]map[string]string{"ArnLike": {"AWS:SourceArn": authorizerARN}},
	}
}

// Validate reports statements with an unknown effect, operator or condition key.
func (p *ResourcePolicy) Validate() error {
	var errs []error
	for i, st := range p.Statements {
		if st.Effect != "" && st.Effect != "Allow" && st.Effect != "Deny" {
			errs = append(errs, fmt.Errorf("statement %d: effect %q is not Allow or Deny", i, st.Effect))
		}
		for op, kv := range st.Condition {
			if _, ok := conditionOps[op]; !ok {
				errs = append(errs, fmt.Errorf("statement %d: condition operator %q is not one of ArnLike, ArnEquals, StringEquals, StringLike", i, op))
			}
			for k := range kv {
				if !strings.EqualFold(k, "AWS:SourceArn") && !strings.EqualFold(k, "AWS:SourceAccount") {
					errs = append(errs, fmt.Errorf("statement %d: condition key %q is not AWS:SourceArn or AWS:SourceAccount", i, k))
				}
			}
		}
	}
	return errors.Join(errs...)
}

var conditionOps = map[string]func(pattern, value string) bool{
	"ArnLike":      policy.Like,
	"StringLike":   policy.Like,
	"ArnEquals":    func(p, v string) bool { return p == v },
	"StringEquals": func(p, v string) bool { return p == v },
}

// Check reports whether c may invoke the function: some Allow statement matches and no Deny
// statement does. The error says why not, for the decision trace.
func (p *ResourcePolicy) Check(c Caller) error {
	if p == nil || len(p.Statements) == 0 {
		return fmt.Errorf("%w: the function has no resource-based policy, so %s cannot invoke it (add a permission for principal %s, action %s)", ErrNotPermitted, c.Principal, IoTPrincipal, ActionInvoke)
	}
	allowed := false
	for _, st := range p.Statements {
		if !st.matches(c) {
			continue
		}
		if st.Effect == "Deny" {
			return fmt.Errorf("%w: statement %q denies %s", ErrNotPermitted, st.Sid, c.Principal)
		}
		allowed = true
	}
	if !allowed {
		return fmt.Errorf("%w: no statement allows principal %s action %s with source ARN %s and source account %s", ErrNotPermitted, c.Principal, ActionInvoke, c.SourceARN, c.SourceAccount)
	}
	return nil
}

func (st Statement) matches(c Caller) bool {
	if st.Principal != "*" && st.Principal != c.Principal && st.Principal != c.SourceAccount {
		return false
	}
	if a := st.Action; a != "*" && !strings.EqualFold(a, "lambda:*") && !strings.EqualFold(a, ActionInvoke) {
		return false
	}
	for op, kv := range st.Condition {
		match := conditionOps[op]
		for k, want := range kv {
			var got string
			switch {
			case strings.EqualFold(k, "AWS:SourceArn"):
				got = c.SourceARN
			case strings.EqualFold(k, "AWS:SourceAccount"):
				got = c.SourceAccount
			}
			if match == nil || got == "" || !match(want, got) {
				return false
			}
		}
	}
	return true
}
