// Package customauth reproduces AWS IoT Core custom authentication up to the point where the
// returned policies take over.
//
// An Authenticator takes what the transport knows about one attempt (a Request: protocols, SNI,
// the MQTT username, password and client ID, the HTTP headers and query string), chooses the
// authorizer, reads the token and its signature, verifies the signature with the authorizer's
// public keys, builds the exact event AWS IoT sends, invokes the authorizer function through a
// lambdarunner.Invoker with AWS's 5 second deadline, and validates the answer with AWS's rules.
//
// It neither parses IAM policies (the policy documents are handed on as JSON text) nor logs:
// every decision is returned as a Step, and a failed attempt is a *Failure whose Reason is the
// reason AWS IoT writes to its Connection.AuthNError log event.
//
// Behaviour stated by AWS is tagged "AWS:" in comments; behaviour inferred from evidence is
// tagged "AWS (inferred):", so that it can be found and changed in one place.
package customauth
