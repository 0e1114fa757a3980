package emulator

// Inferred holds the switches for the points where AWS's documentation is silent or
// conflicts. The zero value is iotemu's default reading of each; README.md's table "Where
// AWS's docs are silent or conflict" gives the sources on each side. (What a device sees on a
// refusal, by MQTT version, is the other table of choices: internal/broker/outcomes.go.)
type Inferred struct {
	// AcceptHostWithoutSNI accepts an HTTPS or WSS connection that sends no SNI when its HTTP
	// Host header names a data endpoint.
	// AWS (inferred): default false, refused. The protocols page says a connection without SNI
	// is refused; the custom-authentication page says the endpoint is found from "either a
	// hostname header ... or SNI".
	AcceptHostWithoutSNI bool `yaml:"acceptHostWithoutSNI"`
	// IgnoreHostWithSNI accepts an HTTPS or WSS request whose SNI names a data endpoint
	// whatever its Host header names.
	// AWS (inferred): default false, such a request is refused like a wrong SNI. No page says
	// whether the Host is checked once the SNI matched.
	IgnoreHostWithSNI bool `yaml:"ignoreHostWithSNI"`
	// QuietWrongSNI refuses an SNI (or Host) that names no endpoint of the account without
	// logging a Connection.AuthNError event (the decision trace still says why).
	// AWS (inferred): default false, the event is logged with reason SNI_MISUSED. Only a
	// third-party source reports that entry for another account's endpoint; AWS's pages
	// list SNI_MISUSED without saying when.
	QuietWrongSNI bool `yaml:"quietWrongSNI"`
}
