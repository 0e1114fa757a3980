// Package policy is the AWS IoT policy language: it parses the policy documents an
// authorizer returns, compiles them for one connection and decides each request.
//
// The life of a policy:
//
//   - Parse reads one JSON document (IAM grammar: Version, Statement, Effect, Action or
//     NotAction, Resource or NotResource, Condition) and refuses anything it does not
//     understand, unknown condition operators included, with an error naming the statement.
//     It turns each pattern into a matcher, which the connections given the document share.
//   - Compile takes every document of a connection together with its Context (client ID,
//     domain name, source IP, connect attributes) and decides the conditions (they depend
//     only on the connection). The policy keeps little more than the Context: a resource's
//     policy variables take the connection's values as it is matched.
//   - Policy.Evaluate decides one action on one resource ARN without allocating: an explicit
//     Deny wins, else an Allow, else the implicit deny. Its Decision explains itself.
//
// Matching follows AWS IoT: '*' is any run of characters, '/' included, '?' is exactly one
// character, MQTT's '+' and '#' are plain characters, and resources are case-sensitive.
// ${*}, ${?} and ${$} stand for the literal characters, and a substituted variable is always
// literal text. Action names are matched case-insensitively.
//
// Lines implementing behaviour AWS documents carry a "// AWS:" comment; behaviour inferred
// from the evidence carries "// AWS (inferred):".
package policy
