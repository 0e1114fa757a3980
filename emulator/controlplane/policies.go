package controlplane

import "net/http"

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

func (p policies) list(w http.ResponseWriter, _ *http.Request) {
	out := []map[string]string{}
	for _, pol := range p.Account().Policies() {
		out = append(out, map[string]string{"policyName": pol.Name, "policyArn": pol.ARN})
	}
	writeJSON(w, http.StatusOK, map[string]any{"policies": out})
}

func (p policies) listVersions(w http.ResponseWriter, r *http.Request) {
	pol, err := p.Account().Policy(r.PathValue("policyName"))
	if err != nil {
		writeAccountErr(w, err)
		return
	}
	out := []map[string]any{}
	for _, v := range pol.Versions {
		out = append(out, map[string]any{"versionId": v.ID, "isDefaultVersion": v.ID == pol.DefaultVersionID, "createDate": epochSeconds(v.CreateDate)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"policyVersions": out})
}

func (p policies) deleteVersion(w http.ResponseWriter, r *http.Request) {
	if err := p.Account().DeletePolicyVersion(r.PathValue("policyName"), r.PathValue("policyVersionId")); err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (p policies) listTargets(w http.ResponseWriter, r *http.Request) {
	targets, err := p.Account().PolicyTargets(r.PathValue("policyName"))
	if err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"targets": targets})
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
