package controlplane

import (
	"net/http"

	"github.com/iotemu/iotemu/emulator/certauth"
)

// policies serves the named policy operations.
type policies struct{ X509Backend }

// policyDocumentBody is the body of CreatePolicy and CreatePolicyVersion.
type policyDocumentBody struct {
	PolicyDocument string `json:"policyDocument"`
}

// targetBody is the body of AttachPolicy and DetachPolicy.
type targetBody struct {
	Target string `json:"target"`
}

func (p policies) create(w http.ResponseWriter, r *http.Request) {
	var b policyDocumentBody
	if !readJSON(w, r, &b, ErrInvalid) {
		return
	}
	pol, err := p.Account().CreatePolicy(r.PathValue("policyName"), b.PolicyDocument)
	if err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"policyName": pol.Name, "policyArn": pol.ARN, "policyDocument": pol.Default().Text, "policyVersionId": pol.DefaultVersionID,
	})
}

func (p policies) get(w http.ResponseWriter, r *http.Request) {
	pol, err := p.Account().Policy(r.PathValue("policyName"))
	if err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"policyName": pol.Name, "policyArn": pol.ARN, "policyDocument": pol.Default().Text, "defaultVersionId": pol.DefaultVersionID,
		"creationDate": epochSeconds(pol.CreationDate), "lastModifiedDate": epochSeconds(pol.LastModifiedDate),
	})
}

func (p policies) delete(w http.ResponseWriter, r *http.Request) {
	if err := p.Account().DeletePolicy(r.PathValue("policyName")); err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (p policies) createVersion(w http.ResponseWriter, r *http.Request) {
	var b policyDocumentBody
	if !readJSON(w, r, &b, ErrInvalid) {
		return
	}
	name := r.PathValue("policyName")
	setDefault := r.URL.Query().Get("setAsDefault") == "true"
	v, err := p.Account().CreatePolicyVersion(name, b.PolicyDocument, setDefault)
	if err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"policyArn": p.Account().PolicyARN(name), "policyDocument": v.Text, "policyVersionId": v.ID, "isDefaultVersion": setDefault,
	})
}

func (p policies) getVersion(w http.ResponseWriter, r *http.Request) {
	pol, err := p.Account().Policy(r.PathValue("policyName"))
	if err != nil {
		writeAccountErr(w, err)
		return
	}
	id := r.PathValue("policyVersionId")
	for _, v := range pol.Versions {
		if v.ID == id {
			writeJSON(w, http.StatusOK, map[string]any{
				"policyArn": pol.ARN, "policyName": pol.Name, "policyDocument": v.Text, "policyVersionId": v.ID,
				"isDefaultVersion": v.ID == pol.DefaultVersionID, "creationDate": epochSeconds(v.CreateDate),
			})
			return
		}
	}
	writeError(w, ErrNotFound, "policy "+pol.Name+" has no version "+id)
}

func (p policies) setDefaultVersion(w http.ResponseWriter, r *http.Request) {
	if err := p.Account().SetDefaultPolicyVersion(r.PathValue("policyName"), r.PathValue("policyVersionId")); err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (p policies) attach(w http.ResponseWriter, r *http.Request) {
	var b targetBody
	if !readJSON(w, r, &b, ErrInvalid) {
		return
	}
	if err := p.Account().AttachPolicy(r.PathValue("policyName"), b.Target); err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (p policies) detach(w http.ResponseWriter, r *http.Request) {
	var b targetBody
	if !readJSON(w, r, &b, ErrInvalid) {
		return
	}
	if err := p.Account().DetachPolicy(r.PathValue("policyName"), b.Target); err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (p policies) listAttached(w http.ResponseWriter, r *http.Request) {
	out := []map[string]string{}
	for _, pol := range p.Account().AttachedPolicies(r.PathValue("target")) {
		out = append(out, map[string]string{"policyName": pol.Name, "policyArn": pol.ARN})
	}
	writeJSON(w, http.StatusOK, map[string]any{"policies": out})
}

// effective answers GetEffectivePolicies for a principal: the default version of every
// policy attached to it.
func (p policies) effective(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Principal string `json:"principal"`
	}
	if !readJSON(w, r, &b, ErrInvalid) {
		return
	}
	out := []map[string]string{}
	for _, pol := range p.Account().AttachedPolicies(b.Principal) {
		out = append(out, map[string]string{"policyName": pol.Name, "policyArn": pol.ARN, "policyDocument": pol.Default().Text})
	}
	writeJSON(w, http.StatusOK, map[string]any{"effectivePolicies": out})
}

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

func (t things) listPrincipals(w http.ResponseWriter, r *http.Request) {
	ps, err := t.Account().ThingPrincipals(r.PathValue("thingName"))
	if err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"principals": ps})
}
