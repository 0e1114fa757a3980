package controlplane

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"

	"github.com/iotemu/iotemu/lambdarunner"
)

// AWS: Lambda's StatementId is 1-100 characters matching ([a-zA-Z0-9-_.]+).
var statementIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,100}$`)

// accountPattern recognises a principal that is an AWS account ID.
var accountPattern = regexp.MustCompile(`^[0-9]{12}$`)

// policyStatement is a statement as Lambda's GetPolicy and AddPermission show it.
type policyStatement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Principal any                          `json:"Principal"`
	Action    string                       `json:"Action"`
	Resource  string                       `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// policyJSON renders a statement as Lambda does: a service principal as {"Service": ...}, an
// account as {"AWS": "arn:aws:iam::ACCOUNT:root"}, "*" as is.
func policyJSON(functionARN string, st lambdarunner.Statement) policyStatement {
	var principal any
	switch {
	case st.Principal == "*":
		principal = "*"
	case accountPattern.MatchString(st.Principal):
		principal = map[string]string{"AWS": "arn:aws:iam::" + st.Principal + ":root"}
	default:
		principal = map[string]string{"Service": st.Principal}
	}
	effect := st.Effect
	if effect == "" {
		effect = "Allow"
	}
	return policyStatement{Sid: st.Sid, Effect: effect, Principal: principal, Action: st.Action, Resource: functionARN, Condition: st.Condition}
}

// writeLambdaErr answers with Lambda's exception for a Backend error: ErrNotFound stays
// ResourceNotFoundException; a rejected statement is InvalidParameterValueException.
func writeLambdaErr(w http.ResponseWriter, err error) {
	ex, msg := classify(err)
	if ex == ErrInvalid || ex == ErrAlreadyExists || ex == ErrConflict {
		ex = errLambdaInvalid
	}
	writeError(w, ex, msg)
}

// AWS: AddPermission adds one Allow statement; the statement ID must be new.
func (h *Handler) addPermission(w http.ResponseWriter, r *http.Request) {
	function := r.PathValue("name")
	var body struct {
		StatementID   string `json:"StatementId"`
		Action        string `json:"Action"`
		Principal     string `json:"Principal"`
		SourceArn     string `json:"SourceArn"`
		SourceAccount string `json:"SourceAccount"`
	}
	if !readJSON(w, r, &body, errLambdaInvalid) {
		return
	}
	switch {
	case !statementIDPattern.MatchString(body.StatementID):
		writeError(w, errLambdaInvalid, fmt.Sprintf("StatementId %q must be 1-100 characters of [a-zA-Z0-9-_.]", body.StatementID))
		return
	case body.Action == "" || body.Principal == "":
		writeError(w, errLambdaInvalid, "Action and Principal are required")
		return
	}
	st := lambdarunner.Statement{Sid: body.StatementID, Effect: "Allow", Principal: body.Principal, Action: body.Action, Condition: map[string]map[string]string{}}
	if body.SourceArn != "" {
		st.Condition["ArnLike"] = map[string]string{"AWS:SourceArn": body.SourceArn}
	}
	if body.SourceAccount != "" {
		st.Condition["StringEquals"] = map[string]string{"AWS:SourceAccount": body.SourceAccount}
	}
	h.policyMu.Lock()
	defer h.policyMu.Unlock()
	arn, sts, err := h.backend.Statements(function)
	if err != nil {
		writeLambdaErr(w, err)
		return
	}
	if slices.ContainsFunc(sts, func(s lambdarunner.Statement) bool { return s.Sid == st.Sid }) {
		writeError(w, errLambdaConflict, fmt.Sprintf("The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", st.Sid))
		return
	}
	if err := h.backend.SetStatements(function, append(sts, st)); err != nil {
		writeLambdaErr(w, err)
		return
	}
	text, _ := json.Marshal(policyJSON(arn, st))
	writeJSON(w, http.StatusCreated, map[string]string{"Statement": string(text)})
}

// AWS: GetPolicy answers the policy as JSON text and a revision ID; a function without
// statements has no policy (ResourceNotFoundException).
func (h *Handler) getPolicy(w http.ResponseWriter, r *http.Request) {
	arn, sts, err := h.backend.Statements(r.PathValue("name"))
	if err != nil {
		writeLambdaErr(w, err)
		return
	}
	if len(sts) == 0 {
		writeError(w, ErrNotFound, "The resource you requested does not exist.")
		return
	}
	doc := struct {
		Version   string            `json:"Version"`
		ID        string            `json:"Id"`
		Statement []policyStatement `json:"Statement"`
	}{Version: "2012-10-17", ID: "default"}
	for _, st := range sts {
		doc.Statement = append(doc.Statement, policyJSON(arn, st))
	}
	text, _ := json.Marshal(doc)
	sum := sha256.Sum256(text)
	// The revision ID changes with the policy, in the UUID form Lambda uses.
	rev := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	writeJSON(w, http.StatusOK, map[string]string{"Policy": string(text), "RevisionId": rev})
}

// AWS: RemovePermission deletes one statement by ID; an unknown ID is
// ResourceNotFoundException.
func (h *Handler) removePermission(w http.ResponseWriter, r *http.Request) {
	function, sid := r.PathValue("name"), r.PathValue("statementId")
	h.policyMu.Lock()
	defer h.policyMu.Unlock()
	_, sts, err := h.backend.Statements(function)
	if err != nil {
		writeLambdaErr(w, err)
		return
	}
	kept := slices.DeleteFunc(slices.Clone(sts), func(s lambdarunner.Statement) bool { return s.Sid == sid })
	if len(kept) == len(sts) {
		writeError(w, ErrNotFound, "Statement "+sid+" is not found in resource policy.")
		return
	}
	// An empty (non-nil) list: no statement is left, so AWS IoT may no longer invoke it.
	if err := h.backend.SetStatements(function, append([]lambdarunner.Statement{}, kept...)); err != nil {
		writeLambdaErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
