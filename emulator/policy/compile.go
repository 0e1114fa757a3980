package policy

import (
	"maps"
	"slices"
)

// Action names AWS IoT checks on the data plane.
const (
	// Connect is checked on ClientARN at CONNECT.
	Connect = "iot:Connect"
	// Publish is checked on TopicARN for every PUBLISH.
	Publish = "iot:Publish"
	// RetainPublish is checked on TopicARN, besides Publish, for a PUBLISH with RETAIN set.
	RetainPublish = "iot:RetainPublish"
	// Subscribe is checked on TopicFilterARN for every filter of a SUBSCRIBE.
	Subscribe = "iot:Subscribe"
	// Receive is checked on TopicARN for every message delivered to the client.
	Receive = "iot:Receive"
)

// Effects a statement can have, as Decision.Effect reports them.
const (
	// EffectAllow is the Effect of a statement that allows.
	EffectAllow = "Allow"
	// EffectDeny is the Effect of a statement that denies; an explicit deny beats any allow.
	EffectDeny = "Deny"
)

// knownActions are the actions whose answer Parse precomputes for each statement; bit i of
// stmtRef.actionBits stands for knownActions[i].
var knownActions = [...]string{Connect, Publish, RetainPublish, Subscribe, Receive}

// actionBit returns the bit of a known action (matched case-insensitively), or 0.
func actionBit(action string) uint8 {
	for i, a := range knownActions {
		if len(a) == len(action) && equal(a, action, true) {
			return 1 << i
		}
	}
	return 0
}

// Policy is a set of documents compiled for one connection: conditions decided, and the
// connection's values for the variables. It is immutable and safe for concurrent use.
//
// The documents' statements are compiled once, at Parse, and shared by every connection they
// are given to: a resource's variables take their values from the Context as it is matched,
// so a connection keeps little more than its Context.
type Policy struct {
	ctx  Context
	docs []*Document
	// off marks the statements whose condition is false for this connection (bit i for the
	// i-th statement, counting through the documents in order); nil when none is, as usual.
	off *bitset
}

// bitset is a set of small integers; nil is the empty set.
type bitset []uint64

func (b *bitset) has(i int) bool { return b != nil && i>>6 < len(*b) && (*b)[i>>6]&(1<<(i&63)) != 0 }

// add puts i into the set, which must be large enough.
func (b *bitset) add(i int) { (*b)[i>>6] |= 1 << (i & 63) }

// Compile compiles documents for the connection described by ctx. All documents are
// evaluated together. Nil documents are ignored.
func Compile(docs []*Document, ctx Context) *Policy {
	ctx.ConnectAttributes = slices.Clone(ctx.ConnectAttributes)
	ctx.Variables = maps.Clone(ctx.Variables)
	p := &Policy{ctx: ctx}
	n, total := 0, 0
	for _, d := range docs {
		if d != nil {
			n++
			total += len(d.statements)
		}
	}
	p.docs = make([]*Document, 0, n)
	i := 0
	for _, d := range docs {
		if d == nil {
			continue
		}
		p.docs = append(p.docs, d)
		for j := range d.statements {
			// AWS: a statement applies only when all its conditions hold; they depend only
			// on the connection, so they are decided here, once.
			if d.statements[j].failedCondition(&p.ctx) != nil {
				if p.off == nil {
					off := make(bitset, (total+63)/64)
					p.off = &off
				}
				p.off.add(i + j)
			}
		}
		i += len(d.statements)
	}
	return p
}

// Texts returns the texts of the policy's documents, in order.
func (p *Policy) Texts() []string {
	if p == nil {
		return nil
	}
	texts := make([]string, len(p.docs))
	for i, d := range p.docs {
		texts[i] = d.text
	}
	return texts
}

// Evaluate decides whether the connection may perform action on resource (an ARN, see
// ClientARN, TopicARN, TopicFilterARN). It does not allocate. A nil Policy denies everything.
func (p *Policy) Evaluate(action, resource string) Decision {
	d := Decision{Action: action, Resource: resource, Statement: -1, policy: p}
	if p == nil {
		return d
	}
	bit := actionBit(action)
	// AWS: an explicit Deny wins over any Allow; Deny statements come first, so the first
	// statement that matches decides. A document's order puts its own Deny statements first;
	// with more than one document, a pass over their Deny statements comes first.
	passes := 1
	if len(p.docs) > 1 {
		passes = 2
	}
	for pass := range passes {
		base := 0 // the index of the document's first statement among all of them
		for _, doc := range p.docs {
			refs := doc.order
			if passes > 1 {
				refs = doc.effect(pass == 0)
			}
			for i := range refs {
				r := &refs[i]
				if !r.covers(&doc.statements[r.index], action, bit) || !r.coversResource(resource, &p.ctx) || p.off.has(base+int(r.index)) {
					continue
				}
				st := &doc.statements[r.index]
				d.by, d.Document, d.Statement = st, doc.Name, int(r.index)
				d.Effect, d.Allowed = EffectAllow, true
				if st.deny {
					d.Effect, d.Allowed = EffectDeny, false
				}
				return d
			}
			base += len(doc.statements)
		}
	}
	// AWS: nothing matched: implicit deny.
	return d
}

// coversResource reports whether the statement applies to resource for the connection
// described by ctx.
func (r *stmtRef) coversResource(resource string, ctx *Context) bool {
	for i := range r.resources {
		if r.resources[i].matchIn(resource, ctx) {
			return !r.notResource
		}
	}
	// AWS: NotResource applies to every resource its patterns do not match.
	return r.notResource
}

// matchesAction reports whether the statement applies to action, matching its patterns.
func (st *statement) matchesAction(action string) bool {
	for i := range st.actionMatch {
		if st.actionMatch[i].match(action) {
			return !st.notAction
		}
	}
	// AWS: NotAction applies to every action its patterns do not match.
	return st.notAction
}

// failedCondition returns the first condition of the statement that is false for ctx, or nil.
// AWS: the conditions of a statement are ANDed.
func (st *statement) failedCondition(ctx *Context) *condition {
	for i := range st.conditions {
		if !st.conditions[i].holds(ctx) {
			return &st.conditions[i]
		}
	}
	return nil
}
