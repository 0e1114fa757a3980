package policy

import "strings"

// Like reports whether s matches an IAM wildcard pattern as StringLike and ArnLike do: '*'
// matches any run of characters, '?' exactly one, everything else itself, case-sensitively.
// Other IAM policies (such as a Lambda function's resource-based policy) use it.
func Like(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s // no wildcard: the usual ArnLike on one authorizer's ARN, at every connect
	}
	m := parsePattern(pattern, false).resolve(nil, false)
	return m.match(s)
}
