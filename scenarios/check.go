package scenarios

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// What the schema cannot say: that names refer to something defined, and that the parts of a
// scenario fit together. Checked per scenario, after its variant is applied.

// reference is a name a step or definition uses, of one kind.
type reference struct {
	kind string // refClient, refFunction, refAuthorizer or refKey
	ref  ref
}

// The kinds of names.
const (
	refClient     = "client"
	refFunction   = "function"
	refAuthorizer = "authorizer"
	refKey        = "key"
)

// stepChecker is implemented by actions with more to check than their references.
type stepChecker interface {
	check(sc *Scenario, p *problems, at pos)
}

// check records the scenario's problems and compiles its static functions.
func (sc *Scenario) check(p *problems, inVariant bool) {
	note := ""
	if inVariant {
		note = " (variant " + sc.Name[strings.LastIndex(sc.Name, "/")+1:] + ")"
	}
	var refs []reference
	for _, name := range slices.Sorted(maps.Keys(sc.setup.Authorizers)) {
		a := sc.setup.Authorizers[name]
		refs = append(refs, reference{refFunction, a.Function})
		for _, k := range a.SigningKeys {
			refs = append(refs, reference{refKey, k})
		}
		if !a.SigningDisabled && (a.TokenKeyName == "" || len(a.SigningKeys) == 0) {
			p.add(a.at, "authorizer %s: with signing enabled (the default) it needs tokenKeyName and signingKeys; or set signingDisabled: true", name)
		}
	}
	if d := sc.setup.DefaultAuthorizer; d != nil && d.name != "" {
		refs = append(refs, reference{refAuthorizer, *d})
	}
	refs = append(refs, sc.setup.x509Refs()...)
	for _, name := range slices.Sorted(maps.Keys(sc.clients)) {
		refs = append(refs, sc.clients[name].check(p, name)...)
	}
	sc.static = map[string][]staticAnswer{}
	for _, name := range slices.Sorted(maps.Keys(sc.setup.Functions)) {
		if f := sc.setup.Functions[name]; f.check(p, name) {
			sc.static[name] = compileAnswers(p, f)
		}
	}
	if len(sc.steps) == 0 {
		p.add(pos{1, 1}, "no steps%s: give the file or each variant steps", note)
	}
	for _, st := range sc.steps {
		a := st.action()
		refs = append(refs, a.refs()...)
		if c, ok := a.(stepChecker); ok {
			c.check(sc, p, st.at)
		}
	}
	for _, r := range refs {
		if defined := sc.names(r.kind); !slices.Contains(defined, r.ref.name) {
			msg := fmt.Sprintf("%s %q is not defined%s", r.kind, r.ref.name, note)
			if len(defined) > 0 {
				msg += "; defined: " + strings.Join(defined, ", ") + suggestion(r.ref.name, defined)
			}
			p.add(r.ref.at, "%s", msg)
		}
	}
}

// names lists the defined names of a kind.
func (sc *Scenario) names(kind string) []string {
	if names, ok := sc.setup.x509Names(kind); ok {
		return names
	}
	switch kind {
	case refClient:
		return slices.Sorted(maps.Keys(sc.clients))
	case refFunction:
		return slices.Sorted(maps.Keys(sc.setup.Functions))
	case refAuthorizer:
		return slices.Sorted(maps.Keys(sc.setup.Authorizers))
	}
	return slices.Sorted(maps.Keys(sc.setup.Keys))
}

// check records a client's problems and returns its references.
func (c *client) check(p *problems, name string) []reference {
	switch {
	case c.CredentialsIn == "username" && c.Transport != "wss":
		p.add(c.at, "client %s: credentialsIn username is for wss clients; mqtt clients always use the username", name)
	case c.CredentialsIn != "" && c.Transport != "wss" && c.Transport != "https":
		p.add(c.at, "client %s: credentialsIn is for wss and https clients", name)
	}
	var refs []reference
	if c.SignWith != nil {
		refs = append(refs, reference{refKey, *c.SignWith})
	}
	if c.Certificate != nil {
		refs = append(refs, reference{refCertificate, *c.Certificate})
	}
	return refs
}

// check records a function's problems and reports whether it is a static function.
func (f *function) check(p *problems, name string) bool {
	static := f.Kind == "" || f.Kind == "static"
	inline := answerFields(&f.answer)
	switch {
	case !static && (len(inline) > 0 || f.Responses != nil):
		p.add(f.at, "function %s: response, responseRaw, error, sleep and responses are for kind static", name)
	case f.Kind != "executable" && (f.Path != "" || f.Args != nil || f.Environment != nil):
		p.add(f.at, "function %s: path, args and environment are for kind executable", name)
	case f.Kind != "remote" && (f.URL != "" || f.RemoteName != ""):
		p.add(f.at, "function %s: url and remoteName are for kind remote", name)
	case f.Kind == "executable" && f.Path == "":
		p.add(f.at, "function %s: kind executable needs path", name)
	case f.Kind == "remote" && f.URL == "":
		p.add(f.at, "function %s: kind remote needs url", name)
	case static && f.Responses != nil && (len(inline) > 0 || f.Sleep != 0):
		p.add(f.at, "function %s: give either responses or one answer (response, responseRaw or error), not both", name)
	case static && f.Responses == nil && len(inline) != 1:
		p.add(f.at, "function %s: a static function needs exactly one of response, responseRaw or error (or a list of responses)", name)
	case static:
		for i, a := range f.Responses {
			if len(answerFields(a)) != 1 {
				p.add(f.at, "function %s: responses[%d] needs exactly one of response, responseRaw or error", name, i)
			}
		}
	}
	return static
}

// answerFields names the answer's set fields among response, responseRaw and error.
func answerFields(a *answer) []string {
	var set []string
	if a.Response.Kind != 0 {
		set = append(set, "response")
	}
	if a.ResponseRaw != nil {
		set = append(set, "responseRaw")
	}
	if a.Error != nil {
		set = append(set, "error")
	}
	return set
}
