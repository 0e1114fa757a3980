package controlplane

import (
	"net/http"

	"github.com/iotemu/iotemu/emulator/certauth"
)

// things serves the thing operations.
type things struct{ X509Backend }

// thingBody is the body of CreateThing and UpdateThing.
type thingBody struct {
	ThingTypeName    *string `json:"thingTypeName"`
	RemoveThingType  bool    `json:"removeThingType"`
	ExpectedVersion  *int64  `json:"expectedVersion"`
	AttributePayload *struct {
		Attributes map[string]string `json:"attributes"`
		Merge      bool              `json:"merge"`
	} `json:"attributePayload"`
}

func (t things) create(w http.ResponseWriter, r *http.Request) {
	var b thingBody
	if !readJSON(w, r, &b, ErrInvalid) {
		return
	}
	var typeName string
	if b.ThingTypeName != nil {
		typeName = *b.ThingTypeName
	}
	var attrs map[string]string
	if b.AttributePayload != nil {
		attrs = b.AttributePayload.Attributes
	}
	th, err := t.Account().CreateThing(r.PathValue("thingName"), typeName, attrs)
	if err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"thingName": th.Name, "thingArn": th.ARN, "thingId": th.ID})
}

func (t things) describe(w http.ResponseWriter, r *http.Request) {
	th, err := t.Account().Thing(r.PathValue("thingName"))
	if err != nil {
		writeAccountErr(w, err)
		return
	}
	out := map[string]any{
		"defaultClientId": th.Name, // AWS: the thing name is the default client ID
		"thingName":       th.Name, "thingId": th.ID, "thingArn": th.ARN, "attributes": th.Attributes, "version": th.Version,
	}
	if th.TypeName != "" {
		out["thingTypeName"] = th.TypeName
	}
	writeJSON(w, http.StatusOK, out)
}

func (t things) update(w http.ResponseWriter, r *http.Request) {
	var b thingBody
	if !readJSON(w, r, &b, ErrInvalid) {
		return
	}
	u := certauth.ThingUpdate{TypeName: b.ThingTypeName, RemoveType: b.RemoveThingType, ExpectedVersion: b.ExpectedVersion}
	if b.AttributePayload != nil {
		u.Attributes, u.Merge = b.AttributePayload.Attributes, b.AttributePayload.Merge
		if u.Attributes == nil {
			u.Attributes = map[string]string{}
		}
	}
	if err := t.Account().UpdateThing(r.PathValue("thingName"), u); err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (t things) delete(w http.ResponseWriter, r *http.Request) {
	if err := t.Account().DeleteThing(r.PathValue("thingName")); err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// principalHeader carries the principal of AttachThingPrincipal and DetachThingPrincipal.
const principalHeader = "X-Amzn-Principal"

func (t things) attachPrincipal(w http.ResponseWriter, r *http.Request) {
	if err := t.Account().AttachThingPrincipal(r.PathValue("thingName"), r.Header.Get(principalHeader)); err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (t things) detachPrincipal(w http.ResponseWriter, r *http.Request) {
	if err := t.Account().DetachThingPrincipal(r.PathValue("thingName"), r.Header.Get(principalHeader)); err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (t things) list(w http.ResponseWriter, _ *http.Request) {
	out := []map[string]any{}
	for _, th := range t.Account().Things() {
		e := map[string]any{"thingName": th.Name, "thingArn": th.ARN, "attributes": th.Attributes, "version": th.Version}
		if th.TypeName != "" {
			e["thingTypeName"] = th.TypeName
		}
		out = append(out, e)
	}
	writeJSON(w, http.StatusOK, map[string]any{"things": out})
}

func (t things) listPrincipalThings(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"things": nonNil(t.Account().PrincipalThings(r.Header.Get(principalHeader)))})
}

// nonNil returns s, or an empty slice for nil, so that JSON says [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (t things) listPrincipals(w http.ResponseWriter, r *http.Request) {
	ps, err := t.Account().ThingPrincipals(r.PathValue("thingName"))
	if err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"principals": ps})
}
