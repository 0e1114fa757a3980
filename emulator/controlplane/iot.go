package controlplane

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/iotemu/iotemu/emulator/customauth"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

// authorizerSummary is an entry of ListAuthorizers and the answer of CreateAuthorizer,
// UpdateAuthorizer and SetDefaultAuthorizer.
type authorizerSummary struct {
	AuthorizerName string `json:"authorizerName"`
	AuthorizerArn  string `json:"authorizerArn"`
}

// authorizerDescription is DescribeAuthorizer's AuthorizerDescription.
type authorizerDescription struct {
	AuthorizerName         string            `json:"authorizerName"`
	AuthorizerArn          string            `json:"authorizerArn"`
	AuthorizerFunctionArn  string            `json:"authorizerFunctionArn"`
	TokenKeyName           string            `json:"tokenKeyName,omitempty"`
	TokenSigningPublicKeys map[string]string `json:"tokenSigningPublicKeys,omitempty"`
	Status                 string            `json:"status"`
	// AWS: REST-JSON sends timestamps as epoch seconds, a JSON number.
	CreationDate         epochSeconds `json:"creationDate"`
	LastModifiedDate     epochSeconds `json:"lastModifiedDate"`
	SigningDisabled      bool         `json:"signingDisabled"`
	EnableCachingForHTTP bool         `json:"enableCachingForHttp"`
}

// epochSeconds is a time as REST-JSON sends it: seconds since the epoch, fractional.
type epochSeconds time.Time

// MarshalJSON implements json.Marshaler.
func (t epochSeconds) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, "%.3f", float64(time.Time(t).UnixMilli())/1000), nil
}

// authorizerBody is the body of CreateAuthorizer and UpdateAuthorizer.
type authorizerBody struct {
	AuthorizerFunctionArn  string            `json:"authorizerFunctionArn"`
	TokenKeyName           string            `json:"tokenKeyName"`
	TokenSigningPublicKeys map[string]string `json:"tokenSigningPublicKeys"`
	Status                 string            `json:"status"`
	SigningDisabled        *bool             `json:"signingDisabled"`
	EnableCachingForHTTP   *bool             `json:"enableCachingForHttp"`
}

func (h *Handler) summary(name string) authorizerSummary {
	return authorizerSummary{AuthorizerName: name, AuthorizerArn: h.backend.AuthorizerARN(name)}
}

// statusOf returns an authorizer's status, ACTIVE when unset.
func statusOf(a *customauth.Authorizer) customauth.Status {
	if a.Active() {
		return customauth.StatusActive
	}
	return customauth.StatusInactive
}

func (h *Handler) describe(a *customauth.Authorizer) map[string]authorizerDescription {
	return map[string]authorizerDescription{"authorizerDescription": {
		AuthorizerName:         a.Name,
		AuthorizerArn:          h.backend.AuthorizerARN(a.Name),
		AuthorizerFunctionArn:  a.FunctionARN,
		TokenKeyName:           a.TokenKeyName,
		TokenSigningPublicKeys: a.TokenSigningPublicKeys,
		Status:                 string(statusOf(a)),
		CreationDate:           epochSeconds(a.CreationDate),
		LastModifiedDate:       epochSeconds(a.LastModifiedDate),
		SigningDisabled:        a.SigningDisabled,
		EnableCachingForHTTP:   a.EnableCachingForHTTP,
	}}
}

// status checks a status field. AWS: ACTIVE or INACTIVE.
func status(s string) error {
	switch customauth.Status(s) {
	case "", customauth.StatusActive, customauth.StatusInactive:
		return nil
	}
	return fmt.Errorf("%w: status %q is neither ACTIVE nor INACTIVE", ErrInvalid, s)
}

// AWS: CreateAuthorizer creates an ACTIVE authorizer unless status says otherwise.
func (h *Handler) createAuthorizer(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("authorizerName")
	var body authorizerBody
	if !readJSON(w, r, &body, ErrInvalid) {
		return
	}
	if err := status(body.Status); err != nil {
		writeErr(w, err)
		return
	}
	a := customauth.Authorizer{
		Name:                   name,
		FunctionARN:            body.AuthorizerFunctionArn,
		TokenKeyName:           body.TokenKeyName,
		TokenSigningPublicKeys: body.TokenSigningPublicKeys,
		Status:                 customauth.Status(body.Status),
		SigningDisabled:        body.SigningDisabled != nil && *body.SigningDisabled,
		EnableCachingForHTTP:   body.EnableCachingForHTTP != nil && *body.EnableCachingForHTTP,
	}
	if err := h.backend.CreateAuthorizer(a); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, h.summary(name))
}

func (h *Handler) describeAuthorizer(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("authorizerName")
	a, ok := h.backend.Authorizer(name)
	if !ok {
		writeError(w, ErrNotFound, "authorizer "+name+" does not exist")
		return
	}
	writeJSON(w, http.StatusOK, h.describe(a))
}

// AWS: UpdateAuthorizer changes the fields it is given; signingDisabled is not one of them.
func (h *Handler) updateAuthorizer(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("authorizerName")
	var body authorizerBody
	if !readJSON(w, r, &body, ErrInvalid) {
		return
	}
	if body.SigningDisabled != nil {
		writeError(w, ErrInvalid, "signingDisabled cannot be changed after the authorizer is created")
		return
	}
	if err := status(body.Status); err != nil {
		writeErr(w, err)
		return
	}
	err := h.backend.UpdateAuthorizer(name, AuthorizerUpdate{
		FunctionARN:            body.AuthorizerFunctionArn,
		TokenKeyName:           body.TokenKeyName,
		TokenSigningPublicKeys: body.TokenSigningPublicKeys,
		Status:                 customauth.Status(body.Status),
		EnableCachingForHTTP:   body.EnableCachingForHTTP,
	})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, h.summary(name))
}

func (h *Handler) deleteAuthorizer(w http.ResponseWriter, r *http.Request) {
	if err := h.backend.DeleteAuthorizer(r.PathValue("authorizerName")); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// listAuthorizers answers every authorizer (filtered by ?status=) in one page, sorted by name
// (?isAscendingOrder=false reverses it).
func (h *Handler) listAuthorizers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	want := q.Get("status")
	if err := status(want); err != nil {
		writeErr(w, err)
		return
	}
	all := h.backend.Authorizers()
	slices.SortFunc(all, func(a, b *customauth.Authorizer) int { return strings.Compare(a.Name, b.Name) })
	if q.Get("isAscendingOrder") == "false" {
		slices.Reverse(all)
	}
	out := []authorizerSummary{}
	for _, a := range all {
		if want == "" || statusOf(a) == customauth.Status(want) {
			out = append(out, h.summary(a.Name))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"authorizers": out})
}

func (h *Handler) setDefaultAuthorizer(w http.ResponseWriter, r *http.Request) {
	var body struct {
		AuthorizerName string `json:"authorizerName"`
	}
	if !readJSON(w, r, &body, ErrInvalid) {
		return
	}
	if body.AuthorizerName == "" {
		writeError(w, ErrInvalid, "authorizerName is required")
		return
	}
	if err := h.backend.SetDefaultAuthorizer(body.AuthorizerName); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, h.summary(body.AuthorizerName))
}

func (h *Handler) describeDefaultAuthorizer(w http.ResponseWriter, _ *http.Request) {
	name, ok := h.backend.DefaultAuthorizer()
	var a *customauth.Authorizer
	if ok {
		a, ok = h.backend.Authorizer(name)
	}
	if !ok {
		// AWS: DescribeDefaultAuthorizer fails with ResourceNotFoundException when none is set.
		writeError(w, ErrNotFound, "no default authorizer is set")
		return
	}
	writeJSON(w, http.StatusOK, h.describe(a))
}

func (h *Handler) clearDefaultAuthorizer(w http.ResponseWriter, _ *http.Request) {
	if err := h.backend.SetDefaultAuthorizer(""); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// AWS: iot:Data-ATS is the ATS endpoint, iot:Data (the default) the legacy VeriSign one.
func (h *Handler) describeEndpoint(w http.ResponseWriter, r *http.Request) {
	ats, legacy := h.backend.Endpoints()
	var addr string
	switch t := r.URL.Query().Get("endpointType"); t {
	case "iot:Data-ATS":
		addr = ats
	case "", "iot:Data":
		addr = legacy
	default:
		writeError(w, ErrInvalid, fmt.Sprintf("endpointType %q is not emulated (iot:Data-ATS and iot:Data are)", t))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"endpointAddress": addr})
}

// testInvokeBody is TestInvokeAuthorizer's request.
type testInvokeBody struct {
	Token          string `json:"token"`
	TokenSignature string `json:"tokenSignature"`
	HTTPContext    *struct {
		Headers     map[string]string `json:"headers"`
		QueryString string            `json:"queryString"`
	} `json:"httpContext"`
	MQTTContext *struct {
		ClientID string `json:"clientId"`
		Username string `json:"username"`
		Password []byte `json:"password"` // base64, as the protocol sends blobs
	} `json:"mqttContext"`
	TLSContext *struct {
		ServerName string `json:"serverName"`
	} `json:"tlsContext"`
}

// testInvokeAuthorizer runs the custom authentication pipeline for the named authorizer, with
// the token and signature of the body and the protocol data its contexts describe.
func (h *Handler) testInvokeAuthorizer(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("authorizerName")
	var body testInvokeBody
	if !readJSON(w, r, &body, ErrInvalid) {
		return
	}
	a, ok := h.backend.Authorizer(name)
	if !ok {
		writeError(w, ErrNotFound, "authorizer "+name+" does not exist")
		return
	}
	req := customauth.Request{
		ConnectionID: uuid.NewString(), // the event's connectionMetadata.id, and the trace's ID
		Direct:       []customauth.Param{{Key: customauth.ParamAuthorizerName, Value: name}},
	}
	if a.TokenKeyName != "" {
		req.Direct = append(req.Direct, customauth.Param{Key: a.TokenKeyName, Value: body.Token})
	}
	req.Direct = append(req.Direct, customauth.Param{Key: customauth.ParamSignature, Value: body.TokenSignature})
	// AWS: the event holds exactly what the call provides. The custom-auth tutorial's
	// function relies on it: with only a token and signature, "protocolData" is not defined
	// and the function answers with a Deny policy.
	// AWS (inferred): protocols lists the protocol of each context given, in the order of a
	// device's event (tls, http, mqtt), and is empty when none is.
	if c := body.TLSContext; c != nil {
		req.Protocols = append(req.Protocols, customauth.ProtocolTLS)
		req.ServerName = c.ServerName
	}
	if c := body.HTTPContext; c != nil {
		req.Protocols = append(req.Protocols, customauth.ProtocolHTTP)
		req.Headers, req.QueryString = c.Headers, strings.TrimPrefix(c.QueryString, "?")
	}
	if c := body.MQTTContext; c != nil {
		req.Protocols = append(req.Protocols, customauth.ProtocolMQTT)
		req.ClientID = c.ClientID
		req.HasUsername, req.Username = c.Username != "", c.Username
		req.HasPassword, req.Password = c.Password != nil, c.Password
	}
	res, err := (&customauth.Authenticator{Registry: h.backend, ShowSecrets: h.backend.ShowSecrets()}).Authenticate(r.Context(), req)
	var f *customauth.Failure
	switch {
	case res != nil:
		h.backend.TestInvoked(req.ConnectionID, res.Steps)
	case errors.As(err, &f):
		h.backend.TestInvoked(req.ConnectionID, f.Steps)
	}
	switch {
	case errors.As(err, &f) && f.Reason == customauth.ReasonNotAuthenticated:
		writeJSON(w, http.StatusOK, map[string]any{"isAuthenticated": false, "policyDocuments": []string{}})
		return
	case errors.As(err, &f) && f.Reason == customauth.ReasonLambdaExecutionError:
		writeError(w, errInvalidResponse, f.Error())
		return
	case errors.As(err, &f) && f.Reason == customauth.ReasonAuthorizerNotFound:
		writeError(w, ErrInvalid, f.Error())
		return
	case err != nil && (f == nil || f.Reason == customauth.ReasonInternalServerError):
		writeError(w, errInternal, err.Error())
		return
	case err != nil:
		// AWS (inferred): a missing token or signature, or one that does not verify.
		writeError(w, ErrInvalid, err.Error())
		return
	}
	docs := res.PolicyDocuments
	if docs == nil {
		docs = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"isAuthenticated":          true,
		"principalId":              res.PrincipalID,
		"policyDocuments":          docs,
		"refreshAfterInSeconds":    int(res.RefreshAfter / time.Second),
		"disconnectAfterInSeconds": int(res.DisconnectAfter / time.Second),
	})
}

// readJSON decodes a request body (an empty body is {}); on failure it answers with invalid
// and returns false.
func readJSON(w http.ResponseWriter, r *http.Request, v any, invalid *Exception) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, invalid, "the request body is not valid JSON: "+err.Error())
		return false
	}
	return true
}

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeError answers with an AWS error: the exception name in x-amzn-ErrorType, its status
// and {"message": ...}.
func writeError(w http.ResponseWriter, ex *Exception, message string) {
	w.Header().Set("x-amzn-ErrorType", ex.Name)
	writeJSON(w, ex.Status, map[string]string{"message": message})
}

// writeErr answers with the exception a Backend error maps to.
func writeErr(w http.ResponseWriter, err error) {
	ex, msg := classify(err)
	writeError(w, ex, msg)
}
