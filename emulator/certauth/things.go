package certauth

import (
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/google/uuid"
)

// thingName is AWS's pattern for a thing name: 1 to 128 of [a-zA-Z0-9:_-].
var thingName = regexp.MustCompile(`^[a-zA-Z0-9:_-]{1,128}$`)

// Thing is a registered thing.
type Thing struct {
	Name       string
	ARN        string
	ID         string
	TypeName   string
	Attributes map[string]string
	Version    int64
	principals map[string]bool // principal ARNs
}

// ThingUpdate is the body of UpdateThing; nil fields are left as they are.
type ThingUpdate struct {
	TypeName        *string
	RemoveType      bool
	Attributes      map[string]string
	Merge           bool // AWS: merge adds and changes attributes; an empty value removes one
	ExpectedVersion *int64
}

// ThingARN is arn:aws:iot:REGION:ACCOUNT:thing/NAME.
func (r *Registry) ThingARN(name string) string {
	return "arn:aws:iot:" + r.region + ":" + r.account + ":thing/" + name
}

// CreateThing creates a thing with a type name and attributes.
func (r *Registry) CreateThing(name, typeName string, attrs map[string]string) (Thing, error) {
	if !thingName.MatchString(name) {
		return Thing{}, fmt.Errorf("%w: thing name %q must be 1 to 128 characters of [a-zA-Z0-9:_-]", ErrInvalid, name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.things[name]; ok {
		// AWS: creating a thing again with the same type and attributes is idempotent.
		if t.TypeName == typeName && maps.Equal(t.Attributes, attrs) {
			return t.clone(), nil
		}
		return Thing{}, fmt.Errorf("%w: thing %s exists with other settings", ErrAlreadyExists, name)
	}
	t := &Thing{Name: name, ARN: r.ThingARN(name), ID: uuid.NewString(), TypeName: typeName, Attributes: maps.Clone(attrs), Version: 1, principals: map[string]bool{}}
	if t.Attributes == nil {
		t.Attributes = map[string]string{}
	}
	r.things[name] = t
	return t.clone(), nil
}

// Thing returns a copy of a thing.
func (r *Registry) Thing(name string) (Thing, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.things[name]
	if !ok {
		return Thing{}, fmt.Errorf("%w: thing %s", ErrNotFound, name)
	}
	return t.clone(), nil
}

// UpdateThing changes a thing's type and attributes.
func (r *Registry) UpdateThing(name string, u ThingUpdate) error {
	defer r.changed() // after the lock is released
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.things[name]
	if !ok {
		return fmt.Errorf("%w: thing %s", ErrNotFound, name)
	}
	if u.ExpectedVersion != nil && *u.ExpectedVersion != t.Version {
		return fmt.Errorf("%w: thing %s is at version %d, not %d", ErrVersionConflict, name, t.Version, *u.ExpectedVersion)
	}
	if u.RemoveType {
		t.TypeName = ""
	} else if u.TypeName != nil {
		t.TypeName = *u.TypeName
	}
	if u.Attributes != nil {
		if !u.Merge {
			t.Attributes = map[string]string{}
		}
		for k, v := range u.Attributes {
			if v == "" {
				delete(t.Attributes, k)
			} else {
				t.Attributes[k] = v
			}
		}
	}
	t.Version++
	return nil
}

// DeleteThing removes a thing. AWS (inferred): refused while principals are attached.
func (r *Registry) DeleteThing(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.things[name]
	if !ok {
		return nil // AWS: deleting a thing that does not exist succeeds
	}
	if len(t.principals) > 0 {
		return fmt.Errorf("%w: thing %s has principals attached", ErrInvalid, name)
	}
	delete(r.things, name)
	return nil
}

// AttachThingPrincipal attaches a principal (a certificate's ARN) to a thing.
func (r *Registry) AttachThingPrincipal(name, principal string) error {
	defer r.changed() // after the lock is released
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.things[name]
	if !ok {
		return fmt.Errorf("%w: thing %s", ErrNotFound, name)
	}
	if r.certByARN(principal) == nil {
		return fmt.Errorf("%w: principal %s is not a registered certificate's ARN", ErrNotFound, principal)
	}
	t.principals[principal] = true
	return nil
}

// DetachThingPrincipal detaches a principal from a thing.
func (r *Registry) DetachThingPrincipal(name, principal string) error {
	defer r.changed() // after the lock is released
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.things[name]
	if !ok {
		return fmt.Errorf("%w: thing %s", ErrNotFound, name)
	}
	delete(t.principals, principal)
	return nil
}

// ThingPrincipals returns the principals attached to a thing, sorted.
func (r *Registry) ThingPrincipals(name string) ([]string, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.things[name]
	if !ok {
		return nil, fmt.Errorf("%w: thing %s", ErrNotFound, name)
	}
	return slices.Sorted(maps.Keys(t.principals)), nil
}

func (t *Thing) clone() Thing {
	c := *t
	c.Attributes = maps.Clone(t.Attributes)
	c.principals = nil
	return c
}

// Things returns copies of every thing, by name.
func (r *Registry) Things() []Thing {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Thing, 0, len(r.things))
	for _, name := range slices.Sorted(maps.Keys(r.things)) {
		out = append(out, r.things[name].clone())
	}
	return out
}

// PrincipalThings returns the names of the things a principal is attached to, sorted.
func (r *Registry) PrincipalThings(principal string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for _, name := range slices.Sorted(maps.Keys(r.things)) {
		if r.things[name].principals[principal] {
			out = append(out, name)
		}
	}
	return out
}
