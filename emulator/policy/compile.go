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

// knownActions are the actions a compiled statement precomputes its answer for; bit i of
// compiled.actionBits stands for knownActions[i].
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

// Policy is a set of documents compiled for one connection: variables substituted,
// conditions decided, patterns turned into matchers. It is immutable and safe for
// concurrent use.
type Policy struct {
	ctx     Context
	stmts   []compiled // the statements in force: Deny first, then Allow, each in document order
	skipped []compiled // statements whose condition is false for this connection
}

// compiled is one statement compiled for a connection.
type compiled struct {
	doc        *Document
	index      int // in doc
	st         *statement
	actionBits uint8      // which knownActions the statement covers (NotAction applied)
	resources  []matcher  // st.resources with variables substituted
	failed     *condition // for a skipped statement: the condition that is false
}

// Compile compiles documents for the connection described by ctx. All documents are
// evaluated together. Nil documents are ignored.
func Compile(docs []*Document, ctx Context) *Policy {
	ctx.ConnectAttributes = slices.Clone(ctx.ConnectAttributes)
	ctx.Variables = maps.Clone(ctx.Variables)
	p := &Policy{ctx: ctx}
	n := 0
	for _, d := range docs {
		if d != nil {
			n += len(d.statements)
		}
	}
	p.stmts = make([]compiled, 0, n)
	allows := make([]compiled, 0, n)
	for _, d := range docs {
		if d == nil {
			continue
		}
		for i := range d.statements {
			st := &d.statements[i]
			c := compiled{doc: d, index: i, st: st}
			// AWS: a statement applies only when all its conditions hold; they depend only
			// on the connection, so they are decided here, once.
			if c.failed = st.failedCondition(&p.ctx); c.failed != nil {
				p.skipped = append(p.skipped, c)
				continue
			}
			for bit, a := range knownActions {
				if st.coversAction(a) {
					c.actionBits |= 1 << bit
				}
			}
			c.resources = st.resourceMatch // compiled at Parse: no variables
			if c.resources == nil {
				c.resources = make([]matcher, len(st.resources))
				for i, r := range st.resources {
					c.resources[i] = r.resolve(&p.ctx, false)
				}
			}
			if st.deny {
				p.stmts = append(p.stmts, c)
			} else {
				allows = append(allows, c)
			}
		}
	}
	p.stmts = append(p.stmts, allows...)
	return p
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
	// statement that matches decides.
	for i := range p.stmts {
		c := &p.stmts[i]
		if !c.coversAction(action, bit) || !c.coversResource(resource) {
			continue
		}
		d.by, d.Document, d.Statement = c, c.doc.Name, c.index
		d.Effect, d.Allowed = EffectAllow, true
		if c.st.deny {
			d.Effect, d.Allowed = EffectDeny, false
		}
		return d
	}
	// AWS: nothing matched: implicit deny.
	return d
}

// coversAction reports whether the statement applies to action; bit is actionBit(action).
func (c *compiled) coversAction(action string, bit uint8) bool {
	if bit != 0 {
		return c.actionBits&bit != 0
	}
	return c.st.coversAction(action)
}

// coversResource reports whether the statement applies to resource.
func (c *compiled) coversResource(resource string) bool {
	for i := range c.resources {
		if c.resources[i].match(resource) {
			return !c.st.notResource
		}
	}
	// AWS: NotResource applies to every resource its patterns do not match.
	return c.st.notResource
}

// coversAction reports whether the statement applies to action.
func (st *statement) coversAction(action string) bool {
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
