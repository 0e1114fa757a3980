package policy

import "strings"

// Context holds everything known about one connection. Compile decides conditions from it,
// and Evaluate takes the values of policy variables from it. An empty string means the value
// is not known: its key is absent, as in a request context without it.
type Context struct {
	// Region and AccountID are the connection's region and AWS account. No variable stands
	// for them; explanations use them to point at ARNs written for another region or account.
	Region, AccountID string
	// ClientID is the MQTT client ID: ${iot:ClientId} and the iot:ClientId condition key.
	ClientID string
	// DomainName is the domain the device connected to: ${iot:DomainName} and iot:DomainName.
	DomainName string
	// SourceIP is the device's address, as an IP or IP:port: ${aws:SourceIp} and the
	// aws:SourceIp key of IpAddress/NotIpAddress conditions.
	SourceIP string
	// ConnectAttributes is the multi-valued key iot:ConnectAttributes, e.g.
	// "PersistentConnect", "LastWill". Empty means absent.
	ConnectAttributes []string
	// Variables holds the policy variables of an X.509 connection (iot:Certificate.* and,
	// when the client ID names a thing attached to the certificate, iot:Connection.Thing.*),
	// keyed by name in lower case; they serve as condition keys too. Nil for custom
	// authentication.
	Variables map[string]string
}

// values returns the value(s) of a condition key; ok is false when the key is absent.
// AWS: condition key names are case-insensitive (IAM).
func (c *Context) values(key string) (vals []string, ok bool) {
	switch strings.ToLower(key) {
	case "iot:connectattributes":
		return c.ConnectAttributes, len(c.ConnectAttributes) > 0
	case "iot:clientid", "iot:domainname", "aws:sourceip":
		v, ok := c.variable(key)
		if !ok {
			return nil, false
		}
		return []string{v}, true
	}
	if v, ok := c.Variables[strings.ToLower(key)]; ok {
		return []string{v}, true
	}
	// AWS (inferred): any other key, thing and certificate keys included, is absent for a
	// custom-authentication connection.
	return nil, false
}

// variable returns the value of a policy variable; ok is false when it does not resolve.
// AWS: ${iot:ClientId}, ${iot:DomainName} and ${aws:SourceIp} resolve for custom
// authentication. Multi-valued keys (iot:ConnectAttributes) cannot be variables (IAM).
func (c *Context) variable(name string) (string, bool) {
	var v string
	switch { // EqualFold, not ToLower: conditions resolve variables at every connect
	case strings.EqualFold(name, "iot:ClientId"):
		v = c.ClientID
	case strings.EqualFold(name, "iot:DomainName"):
		v = c.DomainName
	case strings.EqualFold(name, "aws:SourceIp"):
		v = c.SourceIP
	default:
		v = c.Variables[strings.ToLower(name)]
	}
	return v, v != ""
}

// value returns the value of the variable token t, as variable does, without comparing
// names: "" when it does not resolve.
func (c *Context) value(t *token) string {
	if c == nil {
		return ""
	}
	switch t.v {
	case varClientID:
		return c.ClientID
	case varDomainName:
		return c.DomainName
	case varSourceIP:
		return c.SourceIP
	}
	return c.Variables[t.key]
}

// text returns the text of a literal token, or the value of a variable token.
func (c *Context) text(t *token) string {
	if t.kind != variable {
		return t.text
	}
	return c.value(t)
}

// whyUnresolved explains why a variable did not resolve, for explanations.
func (c *Context) whyUnresolved(name string) string {
	lower := strings.ToLower(name)
	switch {
	case c.Variables != nil && strings.HasPrefix(lower, "iot:connection.thing."):
		// AWS: thing variables resolve only when the client ID names a thing attached to the
		// certificate.
		return "the client ID does not name a thing attached to this certificate"
	case c.Variables != nil && strings.HasPrefix(lower, "iot:certificate."):
		return "the certificate has no such field"
	case strings.HasPrefix(lower, "iot:connection.thing."), strings.HasPrefix(lower, "iot:certificate."):
		// AWS (inferred): thing and certificate variables do not resolve for custom authentication.
		return "thing and certificate variables do not resolve for custom authentication"
	case lower == "iot:clientid", lower == "iot:domainname", lower == "aws:sourceip":
		return "its value is not known for this connection"
	}
	return "it is not a policy variable custom authentication provides"
}
