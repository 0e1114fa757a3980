package certauth

import "time"

// RegisteredTopic is where AWS IoT announces a certificate that just-in-time registration
// registered: $aws/events/certificates/registered/<caCertificateId>.
func RegisteredTopic(caID string) string {
	return "$aws/events/certificates/registered/" + caID
}

// RegisteredEvent is the message published on RegisteredTopic.
// AWS: certificateId, caCertificateId, timestamp, certificateStatus (PENDING_ACTIVATION),
// awsAccountId and certificateRegistrationTimestamp.
// AWS (inferred): both timestamps are epoch milliseconds.
type RegisteredEvent struct {
	CertificateID                    string `json:"certificateId"`
	CACertificateID                  string `json:"caCertificateId"`
	Timestamp                        int64  `json:"timestamp"`
	CertificateStatus                Status `json:"certificateStatus"`
	AWSAccountID                     string `json:"awsAccountId"`
	CertificateRegistrationTimestamp int64  `json:"certificateRegistrationTimestamp"`
}

// NewRegisteredEvent returns the announcement of a certificate registered at connect.
func NewRegisteredEvent(c Certificate, account string, now time.Time) RegisteredEvent {
	return RegisteredEvent{
		CertificateID:                    c.ID,
		CACertificateID:                  c.CACertificateID,
		Timestamp:                        now.UnixMilli(),
		CertificateStatus:                c.Status,
		AWSAccountID:                     account,
		CertificateRegistrationTimestamp: c.CreationDate.UnixMilli(),
	}
}
