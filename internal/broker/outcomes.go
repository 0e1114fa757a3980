package broker

import "github.com/mochi-mqtt/server/v2/packets"

// Case is a situation in which AWS IoT refuses something a device asked for.
type Case int

// The refusal cases whose visible outcome depends on the MQTT version.
const (
	ConnectRefused    Case = iota // authentication failed, or iot:Connect denied
	ClientIDInvalid               // client ID over 128 bytes
	PublishDenied                 // iot:Publish or iot:RetainPublish denied
	SubscribeDenied               // iot:Subscribe denied for a filter
	PublishQoS2                   // a PUBLISH with QoS 2
	SubscribeQoS2                 // a SUBSCRIBE that requests QoS 2 for a filter
	TopicInvalid                  // a topic or filter over AWS's length or level limits
	SubscriptionQuota             // over 8 filters in a SUBSCRIBE or 50 subscriptions
	RefreshFailed                 // the authorizer refused or failed at a refresh
	ConnectionExpired             // disconnectAfterInSeconds elapsed
)

// Action is what the device sees.
type Action int

// What the emulator does in each case.
const (
	Close        Action = iota // close the connection without any MQTT packet
	Connack                    // send CONNACK with Code, then close
	Disconnect                 // send DISCONNECT with Code (MQTT 5), then close
	AckCode                    // answer with Code in the PUBACK/SUBACK entry; the connection stays
	DropSilently               // drop the packet; the connection stays
)

// Outcome is one cell of the table: an action and, where it sends one, the reason code.
type Outcome struct {
	Action Action
	Code   packets.Code
}

// Outcomes is every choice of what a device sees on a refusal, by case and MQTT version
// (index 0 for 3.1.1, 1 for 5). Change a behaviour here and nowhere else.
var Outcomes = map[Case][2]Outcome{
	// AWS (inferred): 3.1.1 clients see the socket closed without CONNACK (SDKs report an
	// "unexpected hang-up"); MQTT 5 clients get CONNACK 0x87 Not authorized.
	ConnectRefused: {{Action: Close}, {Action: Connack, Code: packets.ErrNotAuthorized}},
	// AWS (inferred): an over-long client ID is refused as invalid.
	ClientIDInvalid: {{Action: Connack, Code: packets.Err3ClientIdentifierNotValid}, {Action: Connack, Code: packets.ErrClientIdentifierNotValid}},
	// AWS (inferred): a 3.1.1 publish that is not allowed closes the connection (AUTH_ERROR);
	// MQTT 5 answers PUBACK 0x87 for QoS 1 and drops QoS 0, keeping the connection.
	PublishDenied: {{Action: Close}, {Action: AckCode, Code: packets.ErrNotAuthorized}},
	// AWS (inferred): a 3.1.1 subscribe that is not allowed closes the connection; MQTT 5
	// answers SUBACK 0x87 for that filter.
	SubscribeDenied: {{Action: Close}, {Action: AckCode, Code: packets.ErrNotAuthorized}},
	// AWS: QoS 2 is not supported and never acknowledged. AWS (inferred): the connection is
	// closed, as MQTT 5 requires for a QoS above Maximum QoS.
	PublishQoS2: {{Action: Close}, {Action: Disconnect, Code: packets.ErrQosNotSupported}},
	// AWS: "The AWS IoT Core message broker doesn't send a PUBACK or SUBACK when QoS 2 is
	// requested." AWS (inferred): the connection is closed, as for a QoS 2 PUBLISH.
	SubscribeQoS2: {{Action: Close}, {Action: Disconnect, Code: packets.ErrQosNotSupported}},
	// AWS (inferred): a topic over 256 bytes or 7 levels of '/' closes the connection.
	TopicInvalid: {{Action: Close}, {Action: Disconnect, Code: packets.ErrTopicNameInvalid}},
	// AWS (inferred): a SUBSCRIBE over AWS's subscription limits closes a 3.1.1 connection;
	// MQTT 5 gets SUBACK 0x97 Quota exceeded for the filters over the limit.
	SubscriptionQuota: {{Action: Close}, {Action: AckCode, Code: packets.ErrQuotaExceeded}},
	// AWS (inferred): a failed refresh closes the connection (AUTH_ERROR); MQTT 5 clients are
	// told Not authorized.
	RefreshFailed: {{Action: Close}, {Action: Disconnect, Code: packets.ErrNotAuthorized}},
	// AWS (inferred): at disconnectAfterInSeconds (CUSTOMAUTH_TTL_EXPIRATION) MQTT 5 clients get
	// DISCONNECT 0xA0 Maximum connect time.
	ConnectionExpired: {{Action: Close}, {Action: Disconnect, Code: packets.ErrMaxConnectTime}},
}

// outcome returns the table's cell for a case and protocol version.
func outcome(c Case, protocolVersion byte) Outcome {
	o := Outcomes[c]
	if protocolVersion >= 5 {
		return o[1]
	}
	return o[0]
}
