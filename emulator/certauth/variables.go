package certauth

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"time"
)

// nameAttributes maps the attribute OIDs of a distinguished name to the names AWS's
// iot:Certificate.Subject.* and iot:Certificate.Issuer.* variables use.
var nameAttributes = []struct {
	oid  asn1.ObjectIdentifier
	name string
}{
	{asn1.ObjectIdentifier{2, 5, 4, 6}, "Country"},
	{asn1.ObjectIdentifier{2, 5, 4, 10}, "Organization"},
	{asn1.ObjectIdentifier{2, 5, 4, 11}, "OrganizationalUnit"},
	{asn1.ObjectIdentifier{2, 5, 4, 46}, "DistinguishedNameQualifier"},
	{asn1.ObjectIdentifier{2, 5, 4, 8}, "State"},
	{asn1.ObjectIdentifier{2, 5, 4, 3}, "CommonName"},
	{asn1.ObjectIdentifier{2, 5, 4, 5}, "SerialNumber"},
	{asn1.ObjectIdentifier{2, 5, 4, 7}, "Locality"},
	{asn1.ObjectIdentifier{2, 5, 4, 12}, "Title"},
	{asn1.ObjectIdentifier{2, 5, 4, 4}, "Surname"},
	{asn1.ObjectIdentifier{2, 5, 4, 42}, "GivenName"},
	{asn1.ObjectIdentifier{2, 5, 4, 43}, "Initials"},
	{asn1.ObjectIdentifier{2, 5, 4, 65}, "Pseudonym"},
	{asn1.ObjectIdentifier{2, 5, 4, 44}, "GenerationQualifier"},
}

// certificateVariables returns the iot:Certificate.* policy variables of a certificate, keyed
// in lower case as policy.Context.Variables wants them.
// AWS: iot:Certificate.Subject.<attribute>, iot:Certificate.Issuer.<attribute>,
// iot:Certificate.SubjectAlternativeName.<kind>, iot:Certificate.SerialNumber,
// iot:Certificate.Validity.NotBefore and .NotAfter.
// AWS (inferred): an attribute with several values resolves to its first; the serial number
// is written in decimal and the validity dates in RFC 3339.
func certificateVariables(c *x509.Certificate) map[string]string {
	vars := map[string]string{}
	put := func(name, value string) {
		if value != "" {
			vars[strings.ToLower(name)] = value
		}
	}
	nameVariables(put, "iot:Certificate.Subject.", c.Subject)
	nameVariables(put, "iot:Certificate.Issuer.", c.Issuer)
	const san = "iot:Certificate.SubjectAlternativeName."
	if len(c.EmailAddresses) > 0 {
		put(san+"RFC822Name", c.EmailAddresses[0])
	}
	if len(c.DNSNames) > 0 {
		put(san+"DNSName", c.DNSNames[0])
	}
	if len(c.URIs) > 0 {
		put(san+"UniformResourceIdentifier", c.URIs[0].String())
	}
	if len(c.IPAddresses) > 0 {
		put(san+"IPAddress", c.IPAddresses[0].String())
	}
	put("iot:Certificate.SerialNumber", c.SerialNumber.String())
	put("iot:Certificate.Validity.NotBefore", c.NotBefore.UTC().Format(time.RFC3339))
	put("iot:Certificate.Validity.NotAfter", c.NotAfter.UTC().Format(time.RFC3339))
	return vars
}

func nameVariables(put func(name, value string), prefix string, n pkix.Name) {
	for _, a := range nameAttributes {
		for _, atv := range n.Names {
			if atv.Type.Equal(a.oid) {
				if s, ok := atv.Value.(string); ok {
					put(prefix+a.name, s)
					break
				}
			}
		}
	}
}

// thingVariables adds the iot:Connection.Thing.* variables of a thing attached to the
// connection's certificate.
// AWS: ThingName, ThingTypeName, Attributes[name] and IsAttached.
func thingVariables(vars map[string]string, t *Thing) {
	vars["iot:connection.thing.thingname"] = t.Name
	vars["iot:connection.thing.isattached"] = "true"
	if t.TypeName != "" {
		vars["iot:connection.thing.thingtypename"] = t.TypeName
	}
	for k, v := range t.Attributes {
		vars["iot:connection.thing.attributes["+strings.ToLower(k)+"]"] = v
	}
}
