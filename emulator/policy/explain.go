package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Decision is the answer of Policy.Evaluate, able to explain itself. Compare its fields
// rather than whole Decisions: it also points at the statement that decided.
type Decision struct {
	// Allowed is true when a statement allows the request and none denies it.
	Allowed bool
	// Effect is EffectAllow, EffectDeny (an explicit deny), or "" (implicit deny: nothing matched).
	Effect string
	// Document is the Name of the document whose statement decided, "" if none.
	Document string
	// Statement is the index of that statement in its document, -1 if none.
	Statement int
	// Action and Resource are the request that was evaluated.
	Action, Resource string

	by     *statement // the statement that decided, nil for an implicit deny
	policy *Policy    // the policy evaluated, for the notes of an implicit deny
}

// maxNotes bounds how many statements an implicit-deny explanation comments on.
const maxNotes = 8

// String explains the decision in one line: the statement that allowed or denied, or, for an
// implicit deny, the statements that came close (those that grant the action on other
// resources, or that are not in force because a condition is false for this connection).
func (d Decision) String() string {
	if d.by != nil {
		verdict := "allowed by"
		if !d.Allowed {
			verdict = "denied by"
		}
		s := fmt.Sprintf("%s %s (%s)", verdict, label(d.Document, d.Statement, d.by), d.by.summary(&d.policy.ctx, true))
		if !d.Allowed {
			s += ": an explicit Deny overrides any Allow"
		}
		return s
	}
	s := fmt.Sprintf("denied: no statement allows %s on %s (implicit deny)", d.Action, d.Resource)
	if d.policy != nil {
		if notes := d.policy.notes(d.Action); len(notes) > 0 {
			s += "; " + strings.Join(notes, "; ")
		}
	}
	return s
}

// notes comments on the Allow statements for action that did not match, and on the
// statements for action that are not in force.
func (p *Policy) notes(action string) []string {
	var notes []string
	add := func(note string) {
		if len(notes) < maxNotes {
			notes = append(notes, note)
		} else if len(notes) == maxNotes {
			notes = append(notes, "...")
		}
	}
	bit := actionBit(action)
	base := 0 // the index of the document's first statement among all of them
	for _, doc := range p.docs {
		for _, r := range doc.effect(false) {
			i, st := int(r.index), &doc.statements[r.index]
			if p.off.has(base+i) || !r.covers(st, action, bit) {
				continue
			}
			note := fmt.Sprintf("%s (%s) does not match this resource", label(doc.Name, i, st), st.summary(&p.ctx, true))
			for _, hint := range st.hints(&p.ctx) {
				note += " (" + hint + ")"
			}
			add(note)
		}
		base += len(doc.statements)
	}
	base = 0
	for _, doc := range p.docs {
		for i := range doc.statements {
			st := &doc.statements[i]
			if !p.off.has(base+i) || !st.matchesAction(action) {
				continue
			}
			failed := st.failedCondition(&p.ctx)
			add(fmt.Sprintf("%s (%s) is not in force: condition %s is false (%s)",
				label(doc.Name, i, st), st.summary(&p.ctx, false), failed, failed.actual(&p.ctx)))
		}
		base += len(doc.statements)
	}
	if len(notes) == 0 {
		notes = append(notes, fmt.Sprintf("no statement in force grants %s", action))
	}
	return notes
}

// label names statement index of document doc, e.g. `policyDocuments[0] statement 1 "ReadOwn"`.
func label(doc string, index int, st *statement) string {
	s := fmt.Sprintf("statement %d", index)
	if doc != "" {
		s = doc + " " + s
	}
	if st.sid != "" {
		s += fmt.Sprintf(" %q", st.sid)
	}
	return s
}

// summary renders the statement, e.g. `Allow iot:Publish on arn:...:topic/${iot:ClientId}/*
// (= arn:...:topic/dev1/*)`; the values of the variables are shown for a statement in force.
func (st *statement) summary(ctx *Context, inForce bool) string {
	effect := EffectAllow
	if st.deny {
		effect = EffectDeny
	}
	actions := make([]string, len(st.actions))
	for i, a := range st.actions {
		actions[i] = a.src
	}
	resources := make([]string, len(st.resources))
	for i, r := range st.resources {
		resources[i] = r.src
		if !inForce || !r.hasVariables() {
			continue
		}
		if m := r.resolve(ctx, false); m.kind == matchNone {
			resources[i] += fmt.Sprintf(" (matches nothing: ${%s} does not resolve: %s)", m.missing, ctx.whyUnresolved(m.missing))
		} else {
			resources[i] += " (= " + m.String() + ")"
		}
	}
	s := effect + " "
	if st.notAction {
		s += "any action except "
	}
	s += strings.Join(actions, ", ") + " on "
	if st.notResource {
		s += "any resource except "
	}
	return s + strings.Join(resources, ", ")
}

// hints points at resource ARNs written for another region or account than the connection's.
func (st *statement) hints(ctx *Context) []string {
	var hints []string
	for _, r := range st.resources {
		parts := strings.SplitN(r.src, ":", 6)
		if len(parts) < 6 || parts[0] != "arn" {
			continue
		}
		for _, f := range []struct{ what, written, actual string }{
			{"region", parts[3], ctx.Region},
			{"account", parts[4], ctx.AccountID},
		} {
			if f.actual == "" || f.written == f.actual || strings.ContainsAny(f.written, "*?$") {
				continue
			}
			hint := fmt.Sprintf("an ARN written for %s %s; this connection's %s is %s", f.what, f.written, f.what, f.actual)
			if !slices.Contains(hints, hint) {
				hints = append(hints, hint)
			}
		}
	}
	return hints
}

// escaper writes literal text the way a policy would have to spell it.
var escaper = strings.NewReplacer("${", "${$}{", "*", "${*}", "?", "${?}")

// String renders the matcher as a policy pattern: wildcards as '*' and '?', and literal
// '*', '?' and "${" escaped. A matcher that matches nothing has no such spelling: "".
func (m *matcher) String() string {
	switch m.kind {
	case matchAll:
		return "*"
	case matchExact:
		return escaper.Replace(m.lit)
	case matchPrefix:
		return escaper.Replace(m.lit) + "*"
	case matchSuffix:
		return "*" + escaper.Replace(m.lit)
	case matchGlob:
		var b strings.Builder
		for _, t := range m.toks {
			switch t.kind {
			case anyRun:
				b.WriteByte('*')
			case anyChar:
				b.WriteByte('?')
			default:
				b.WriteString(escaper.Replace(t.text))
			}
		}
		return b.String()
	}
	return ""
}

// TraceData gives the decision's structured form for a decision trace: the action and
// resource evaluated, the effect, and the document and statement index that decided (absent
// for an implicit deny). It implements iotlog.DataExplainer.
func (d Decision) TraceData() map[string]any {
	data := map[string]any{"action": d.Action, "resource": d.Resource, "allowed": d.Allowed, "effect": d.Effect}
	if d.by != nil {
		data["document"], data["statement"] = d.Document, d.Statement
	}
	return data
}
