package scenarios

import (
	"slices"
	"strconv"
	"strings"

	"github.com/iotemu/iotemu/emulator"
)

// What a library file declares as the side its case comes from (the file's cause field).
const (
	// CauseDevice: the device, the gateway or the account's setup (SNI, ALPN, port, signature,
	// token parameter, authorizer name, status, default authorizer, permissions). Any correct
	// authorizer function must pass these cases.
	CauseDevice = "device"
	// CauseFunction: the authorizer function's answer (garbage, throws, slow, invalid fields,
	// policies). iotemu check covers these with its own event and answer checks.
	CauseFunction = "function"
	// CauseCertificate: an X.509 device and the account's certificates, CA certificates,
	// policies and things. No authorizer takes part, so iotemu check does not run these.
	CauseCertificate = "certificate"
)

// SubstitutedFunction is the function name a Substitute replaces: the library's "authorizer".
const SubstitutedFunction = "authorizer"

// Substitute runs scenarios against a user's own authorizer and the credentials of a device it
// accepts, in place of the scenario's built-in function and made-up credentials. Only cases
// whose expectations hold for any correct authorizer should run this way: those with
// Cause CauseDevice.
type Substitute struct {
	// Function is the user's function (its Kind and that kind's fields); the scenario keeps
	// the name and the permissions of the function it replaces.
	Function emulator.Function
	// TokenKeyName and Token: every authorizer's tokenKeyName becomes TokenKeyName (a client
	// that sends the token under another name keeps doing so), every client's token Token.
	TokenKeyName, Token string
	// User is the MQTT username before '?'; Password, when not nil, the MQTT password.
	User     string
	Password *string
	// ClientID, when not empty, is every client's ID (expected events follow).
	ClientID string
	// PublishTopic is a topic the device may publish to, over MQTT and HTTPS; the accepted
	// publish steps of library cases (files that declare a cause) use it. Empty: those steps
	// are left out.
	PublishTopic string
}

// substituted returns sc as it runs with sub: the same steps and expectations, with the user's
// credentials in every client.
func (sc *Scenario) substituted(sub *Substitute) *Scenario {
	out := *sc
	out.setup.Authorizers = map[string]*authorizer{}
	oldKeys := map[string]bool{}
	for name, a := range sc.setup.Authorizers {
		c := *a
		if sub.TokenKeyName != "" && c.TokenKeyName != "" {
			oldKeys[c.TokenKeyName] = true
			c.TokenKeyName = sub.TokenKeyName
		}
		out.setup.Authorizers[name] = &c
	}
	ids := map[string]string{} // a client's ID in the file → its ID now
	out.clients = map[string]*client{}
	for name, cl := range sc.clients {
		c := *cl
		if c.Token != nil {
			c.Token = &sub.Token
		}
		if rest, ok := strings.CutPrefix(deref(c.SignedValue), deref(cl.Token)); ok && c.SignedValue != nil {
			// A device that signs the token plus something (a newline) keeps doing so.
			v := sub.Token + rest
			c.SignedValue = &v
		}
		if oldKeys[c.TokenKeyName] || c.Token != nil && c.TokenKeyName == "" && sub.TokenKeyName != "" {
			c.TokenKeyName = sub.TokenKeyName
		}
		if c.Username == "" && c.RawUsername == nil {
			c.Username = sub.User
		}
		if c.Password == nil {
			c.Password = sub.Password
		}
		if sub.ClientID != "" {
			old := name // a client's default ID
			if cl.ClientID != nil {
				old = *cl.ClientID
			}
			ids[old] = sub.ClientID
			c.ClientID = &sub.ClientID
		}
		out.clients[name] = &c
	}
	out.steps = nil
	topics := map[string]bool{} // the publish steps' topics in the file
	for _, st := range sc.steps {
		switch {
		case st.Publish != nil && sc.Cause != "" && st.Publish.Expect.result() == "accepted":
			// A library case's made-up topic; a refused publish is refused before any policy.
			topics[st.Publish.Topic] = true
			if sub.PublishTopic == "" {
				continue
			}
			p := *st.Publish
			p.Topic = sub.PublishTopic
			st = &step{Publish: &p, at: st.at}
		case st.ExpectEvent != nil:
			e := *st.ExpectEvent
			e.fields = make([]field, len(st.ExpectEvent.fields))
			for i, f := range st.ExpectEvent.fields {
				switch {
				case f.name == "clientId" && ids[f.value] != "":
					f.value = ids[f.value]
				case f.name == "topicName" && topics[f.value]:
					f.value = sub.PublishTopic
				}
				e.fields[i] = f
			}
			if slices.Contains(e.fields, field{"topicName", ""}) {
				continue // about a publish step left out
			}
			st = &step{ExpectEvent: &e, at: st.at}
		case st.ExpectTrace != nil:
			e := *st.ExpectTrace
			for old := range oldKeys {
				e.Contains = strings.ReplaceAll(e.Contains, strconv.Quote(old), strconv.Quote(sub.TokenKeyName))
			}
			if id := ids[e.ClientID]; id != "" {
				e.ClientID = id
			}
			st = &step{ExpectTrace: &e, at: st.at}
		}
		out.steps = append(out.steps, st)
	}
	return &out
}

// deref returns *s, or "" when s is nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
