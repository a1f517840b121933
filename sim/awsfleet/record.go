package awsfleet

import (
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"time"
)

// Record is one CloudTrail record with the members AWS writes, in the shape
// of the real records in ../shared/data/real/aws-cloudtrail. Members that
// AWS writes as null (requestParameters, responseElements) stay null when
// nil; optional members are left out when empty, as AWS leaves them out.
type Record struct {
	EventVersion        string         `json:"eventVersion"`
	UserIdentity        Identity       `json:"userIdentity"`
	EventTime           string         `json:"eventTime"`
	EventSource         string         `json:"eventSource"`
	EventName           string         `json:"eventName"`
	AWSRegion           string         `json:"awsRegion"`
	SourceIPAddress     string         `json:"sourceIPAddress"`
	UserAgent           string         `json:"userAgent"`
	ErrorCode           string         `json:"errorCode,omitempty"`
	ErrorMessage        string         `json:"errorMessage,omitempty"`
	RequestParameters   map[string]any `json:"requestParameters"`
	ResponseElements    map[string]any `json:"responseElements"`
	AdditionalEventData map[string]any `json:"additionalEventData,omitempty"`
	RequestID           string         `json:"requestID"`
	EventID             string         `json:"eventID"`
	ReadOnly            bool           `json:"readOnly"`
	Resources           []Resource     `json:"resources,omitempty"`
	EventType           string         `json:"eventType"`
	ManagementEvent     bool           `json:"managementEvent"`
	RecipientAccountID  string         `json:"recipientAccountId"`
	SharedEventID       string         `json:"sharedEventID,omitempty"`
	VPCEndpointID       string         `json:"vpcEndpointId,omitempty"`
	EventCategory       string         `json:"eventCategory"`
	TLSDetails          *TLSDetails    `json:"tlsDetails,omitempty"`
	// SessionCredentialFromConsole is "true" on calls the AWS console made.
	SessionCredentialFromConsole string `json:"sessionCredentialFromConsole,omitempty"`

	// time is EventTime parsed, for ordering; not written.
	time time.Time
}

// Identity is userIdentity.
type Identity struct {
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId,omitempty"`
	ARN            string          `json:"arn,omitempty"`
	AccountID      string          `json:"accountId,omitempty"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	UserName       string          `json:"userName,omitempty"`
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
	InvokedBy      string          `json:"invokedBy,omitempty"`
}

// SessionContext is userIdentity.sessionContext.
type SessionContext struct {
	SessionIssuer       SessionIssuer     `json:"sessionIssuer"`
	WebIDFederationData struct{}          `json:"webIdFederationData"`
	Attributes          SessionAttributes `json:"attributes"`
	SourceIdentity      string            `json:"sourceIdentity,omitempty"`
	EC2RoleDelivery     string            `json:"ec2RoleDelivery,omitempty"`
}

// SessionIssuer is sessionContext.sessionIssuer; empty for an IAM user's
// session token.
type SessionIssuer struct {
	Type        string `json:"type,omitempty"`
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	UserName    string `json:"userName,omitempty"`
}

// SessionAttributes is sessionContext.attributes.
type SessionAttributes struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

// Resource is one element of resources. S3 list calls name an object
// prefix (ARNPrefix) instead of an ARN.
type Resource struct {
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type,omitempty"`
	ARN       string `json:"ARN,omitempty"`
	ARNPrefix string `json:"ARNPrefix,omitempty"`
}

// TLSDetails is tlsDetails; AWS leaves it out of calls one AWS service
// makes for another.
type TLSDetails struct {
	TLSVersion               string `json:"tlsVersion"`
	CipherSuite              string `json:"cipherSuite"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader"`
}

// CloudTrail's time format: seconds, UTC, "Z".
const ctTime = "2006-01-02T15:04:05Z"

func ctStamp(t time.Time) string { return t.UTC().Format(ctTime) }

// expirationStamp is how STS responseElements spell an expiry.
func expirationStamp(t time.Time) string { return t.UTC().Format("Jan 2, 2006, 3:04:05 PM") }

// newUUID draws a version-4 UUID from r.
func newUUID(r *rand.Rand) string {
	a, b := r.Uint64(), r.Uint64()
	a = a&^0xf000 | 0x4000           // version 4
	b = b&^(0xc000<<48) | 0x8000<<48 // variant 10
	var u [36]byte
	hexInto(u[0:8], a>>32, 8)
	u[8] = '-'
	hexInto(u[9:13], a>>16, 4)
	u[13] = '-'
	hexInto(u[14:18], a, 4)
	u[18] = '-'
	hexInto(u[19:23], b>>48, 4)
	u[23] = '-'
	hexInto(u[24:36], b, 12)
	return string(u[:])
}

// hexInto writes the low n hex digits of v into dst.
func hexInto(dst []byte, v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		dst[i] = lowerHex[v&0xf]
		v >>= 4
	}
}

const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	lowerHex   = "0123456789abcdef"
	upperHex   = "0123456789ABCDEF"
)

// randString draws n characters of alphabet from r.
func randString(r *rand.Rand, alphabet string, n int) string {
	var b strings.Builder
	b.Grow(n)
	for range n {
		b.WriteByte(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

// stableString derives n characters of alphabet from labels alone, for
// ids that must not depend on how many random draws came before (a role's
// id, a pod's name).
func stableString(alphabet string, n int, labels ...string) string {
	r := rand.New(rand.NewPCG(hash64(labels...), 0x5eed))
	return randString(r, alphabet, n)
}

// s3RequestID is the 16-character request id S3 writes.
func s3RequestID(r *rand.Rand) string { return randString(r, upperHex, 16) }

// amzID2 is S3's extended request id (x-amz-id-2).
func amzID2(r *rand.Rand) string {
	b := make([]byte, 57)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return base64.StdEncoding.EncodeToString(b)
}

// sessionToken is a stand-in for an STS session token: the same alphabet
// and a realistic length, never a usable token.
func sessionToken(r *rand.Rand) string {
	b := make([]byte, 330)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return "IQoJb3JpZ2luX2VjE" + base64.StdEncoding.EncodeToString(b)
}
