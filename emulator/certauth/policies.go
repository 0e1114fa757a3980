package certauth

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iotemu/iotemu/emulator/policy"
)

// maxPolicyVersions is how many versions a policy keeps. AWS: at most five; a sixth
// CreatePolicyVersion fails with VersionsLimitExceededException.
const maxPolicyVersions = 5

// maxAttachedPolicies is how many policies one target may have. AWS: 10 policies per
// certificate (a quota); an eleventh AttachPolicy fails with LimitExceededException.
const maxAttachedPolicies = 10

// policyName is AWS's pattern for a policy name: 1 to 128 of [\w+=,.@-].
var policyName = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)

// Policy is a named AWS IoT policy.
type Policy struct {
	Name             string
	ARN              string
	DefaultVersionID string
	Versions         []PolicyVersion // oldest first
	CreationDate     time.Time
	LastModifiedDate time.Time
	nextVersion      int
}

// PolicyVersion is one version of a named policy.
type PolicyVersion struct {
	ID         string
	Text       string
	Document   *policy.Document
	CreateDate time.Time
}

// Default returns the default version.
func (p *Policy) Default() PolicyVersion {
	for _, v := range p.Versions {
		if v.ID == p.DefaultVersionID {
			return v
		}
	}
	return PolicyVersion{}
}

// PolicyARN is arn:aws:iot:REGION:ACCOUNT:policy/NAME.
func (r *Registry) PolicyARN(name string) string {
	return "arn:aws:iot:" + r.region + ":" + r.account + ":policy/" + name
}

// parseVersion parses a policy document, or says why AWS would refuse it.
func parseVersion(name, id, text string, now time.Time) (PolicyVersion, error) {
	doc, err := policy.Parse(name+" version "+id, []byte(text))
	if err != nil {
		return PolicyVersion{}, fmt.Errorf("%w: %v", ErrMalformedPolicy, err)
	}
	return PolicyVersion{ID: id, Text: text, Document: doc, CreateDate: now}, nil
}

// CreatePolicy creates a named policy whose first version, "1", is the default.
func (r *Registry) CreatePolicy(name, document string) (Policy, error) {
	if !policyName.MatchString(name) {
		return Policy{}, fmt.Errorf("%w: policy name %q must be 1 to 128 characters of [\\w+=,.@-]", ErrInvalid, name)
	}
	now := r.now()
	v, err := parseVersion(name, "1", document, now)
	if err != nil {
		return Policy{}, err
	}
	p := &Policy{Name: name, ARN: r.PolicyARN(name), DefaultVersionID: "1", Versions: []PolicyVersion{v}, CreationDate: now, LastModifiedDate: now, nextVersion: 2}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.policies[name]; ok {
		return Policy{}, fmt.Errorf("%w: policy %s", ErrAlreadyExists, name)
	}
	r.policies[name] = p
	return p.clone(), nil
}

// CreatePolicyVersion adds a version to a policy, the default one if setAsDefault.
func (r *Registry) CreatePolicyVersion(name, document string, setAsDefault bool) (PolicyVersion, error) {
	defer r.changed() // after the lock is released
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.policies[name]
	if !ok {
		return PolicyVersion{}, fmt.Errorf("%w: policy %s", ErrNotFound, name)
	}
	if len(p.Versions) >= maxPolicyVersions {
		return PolicyVersion{}, fmt.Errorf("%w: policy %s already has %d versions; delete one first", ErrVersionsLimit, name, maxPolicyVersions)
	}
	now := r.now()
	v, err := parseVersion(name, strconv.Itoa(p.nextVersion), document, now)
	if err != nil {
		return PolicyVersion{}, err
	}
	p.nextVersion++
	p.Versions = append(p.Versions, v)
	if setAsDefault {
		p.DefaultVersionID = v.ID
	}
	p.LastModifiedDate = now
	return v, nil
}

// SetDefaultPolicyVersion makes a version the one in force.
func (r *Registry) SetDefaultPolicyVersion(name, versionID string) error {
	defer r.changed() // after the lock is released
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.policies[name]
	if !ok {
		return fmt.Errorf("%w: policy %s", ErrNotFound, name)
	}
	if !slices.ContainsFunc(p.Versions, func(v PolicyVersion) bool { return v.ID == versionID }) {
		return fmt.Errorf("%w: policy %s has no version %s", ErrNotFound, name, versionID)
	}
	p.DefaultVersionID, p.LastModifiedDate = versionID, r.now()
	return nil
}

// Policy returns a copy of a named policy.
func (r *Registry) Policy(name string) (Policy, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.policies[name]
	if !ok {
		return Policy{}, fmt.Errorf("%w: policy %s", ErrNotFound, name)
	}
	return p.clone(), nil
}

// DeletePolicy removes a policy. AWS: refused while it is attached to a target or has
// versions other than the default (DeleteConflictException).
func (r *Registry) DeletePolicy(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.policies[name]
	if !ok {
		return fmt.Errorf("%w: policy %s", ErrNotFound, name)
	}
	if len(r.targets[name]) > 0 {
		return fmt.Errorf("%w: policy %s is attached to %d target(s)", ErrDeleteConflict, name, len(r.targets[name]))
	}
	if len(p.Versions) > 1 {
		return fmt.Errorf("%w: policy %s has versions other than the default; delete them first", ErrDeleteConflict, name)
	}
	delete(r.policies, name)
	delete(r.targets, name)
	return nil
}

// AttachPolicy attaches a policy to a target: a registered certificate's ARN.
func (r *Registry) AttachPolicy(name, target string) error {
	defer r.changed() // after the lock is released
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.policies[name]; !ok {
		return fmt.Errorf("%w: policy %s", ErrNotFound, name)
	}
	if r.certByARN(target) == nil {
		return fmt.Errorf("%w: target %s is not a registered certificate's ARN", ErrNotFound, target)
	}
	if n := len(r.attached(target)); n >= maxAttachedPolicies && !r.targets[name][target] {
		return fmt.Errorf("%w: %s already has %d policies attached", ErrLimitExceeded, target, n)
	}
	if r.targets[name] == nil {
		r.targets[name] = map[string]bool{}
	}
	r.targets[name][target] = true
	return nil
}

// DetachPolicy detaches a policy from a target.
func (r *Registry) DetachPolicy(name, target string) error {
	defer r.changed() // after the lock is released
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.policies[name]; !ok {
		return fmt.Errorf("%w: policy %s", ErrNotFound, name)
	}
	delete(r.targets[name], target)
	return nil
}

// AttachedPolicies returns copies of the policies attached to a target, by name.
func (r *Registry) AttachedPolicies(target string) []Policy {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.attached(target)
}

func (r *Registry) attached(target string) []Policy {
	var out []Policy
	for _, name := range slices.Sorted(maps.Keys(r.targets)) {
		if r.targets[name][target] {
			out = append(out, r.policies[name].clone())
		}
	}
	return out
}

// certByARN returns the certificate an ARN names, or nil. The caller holds r.mu.
func (r *Registry) certByARN(arn string) *Certificate {
	id, ok := strings.CutPrefix(arn, r.CertificateARN(""))
	if !ok {
		return nil
	}
	return r.certs[id]
}

func (p *Policy) clone() Policy {
	c := *p
	c.Versions = slices.Clone(p.Versions)
	return c
}

// DeletePolicyVersion removes a version that is not the default. AWS: the default version
// cannot be deleted (DeleteConflictException); delete the policy instead.
func (r *Registry) DeletePolicyVersion(name, versionID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.policies[name]
	if !ok {
		return fmt.Errorf("%w: policy %s", ErrNotFound, name)
	}
	if versionID == p.DefaultVersionID {
		return fmt.Errorf("%w: version %s is the default version of policy %s", ErrDeleteConflict, versionID, name)
	}
	i := slices.IndexFunc(p.Versions, func(v PolicyVersion) bool { return v.ID == versionID })
	if i < 0 {
		return fmt.Errorf("%w: policy %s has no version %s", ErrNotFound, name, versionID)
	}
	p.Versions = slices.Delete(p.Versions, i, i+1)
	return nil
}

// Policies returns copies of every named policy, by name.
func (r *Registry) Policies() []Policy {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Policy, 0, len(r.policies))
	for _, name := range slices.Sorted(maps.Keys(r.policies)) {
		out = append(out, r.policies[name].clone())
	}
	return out
}

// PolicyTargets returns the targets a policy is attached to, sorted.
func (r *Registry) PolicyTargets(name string) ([]string, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if _, ok := r.policies[name]; !ok {
		return nil, fmt.Errorf("%w: policy %s", ErrNotFound, name)
	}
	return slices.Sorted(maps.Keys(r.targets[name])), nil
}
