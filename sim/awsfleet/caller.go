package awsfleet

import (
	"math/rand/v2"
	"time"
)

// Label says why a record exists when it is not ordinary benign traffic.
// Labels are kept beside the records (labels.jsonl), never inside them.
type Label struct {
	Kind string `json:"label"` // LabelAttack or LabelDrift
	ID   string `json:"id"`    // attack or drift id
}

// Label kinds.
const (
	LabelAttack = "attack"
	LabelDrift  = "drift"
)

// caller is who makes a run of calls and from where: the identity CloudTrail
// shows, the source addresses (public through NAT, or private through a VPC
// endpoint), the client, and the label its records carry.
type caller struct {
	id Identity
	// ip is the public address calls leave from (NAT gateway, home,
	// attacker); privIP the private one seen through VPC endpoints.
	ip, privIP string
	// vpce maps a service (eventSource prefix) to the VPC endpoint its
	// calls go through; other services go out through ip.
	vpce map[string]string
	ua   string
	// console marks calls the AWS console makes for a signed-in person.
	console bool
	label   Label
	r       *rand.Rand
	// region is where the caller's calls go unless a call says otherwise.
	region string
}

// with returns a copy carrying label.
func (c *caller) with(l Label) *caller {
	d := *c
	d.label = l
	return &d
}

// via returns the caller as AWS shows it when service svcHost (such as
// "athena.amazonaws.com") calls another service on its behalf: the same
// identity with invokedBy set, the service as source and client, no TLS
// details.
func (c *caller) via(svcHost string) *caller {
	d := *c
	d.id.InvokedBy = svcHost
	d.ip, d.privIP, d.vpce, d.ua, d.console = svcHost, "", nil, svcHost, false
	return &d
}

// session is one set of temporary credentials for a role: what AssumeRole
// returned and what every call signed with it shows.
type session struct {
	roleName    string
	roleID      string // AROA...
	name        string // role session name
	key         string // ASIA...
	created     time.Time
	duration    time.Duration
	ec2Delivery bool // instance-profile credentials (sessionContext.ec2RoleDelivery)
	mfa         bool
}

func (s *session) roleARN() string { return "arn:aws:iam::" + Account + ":role/" + s.roleName }

func (s *session) principalARN() string {
	return "arn:aws:sts::" + Account + ":assumed-role/" + s.roleName + "/" + s.name
}

// identity is the userIdentity of a call signed with the session.
func (s *session) identity() Identity {
	mfa := "false"
	if s.mfa {
		mfa = "true"
	}
	sc := &SessionContext{
		SessionIssuer: SessionIssuer{Type: "Role", PrincipalID: s.roleID, ARN: s.issuerARN(), AccountID: Account, UserName: s.roleName},
		Attributes:    SessionAttributes{CreationDate: ctStamp(s.created), MFAAuthenticated: mfa},
	}
	if s.ec2Delivery {
		sc.EC2RoleDelivery = "2.0"
	}
	return Identity{Type: "AssumedRole", PrincipalID: s.roleID + ":" + s.name, ARN: s.principalARN(),
		AccountID: Account, AccessKeyID: s.key, SessionContext: sc}
}

// issuerARN is the role ARN with its path: service-linked and SSO roles
// live under a path that the assumed-role ARN leaves out.
func (s *session) issuerARN() string {
	if p := rolePath(s.roleName); p != "" {
		return "arn:aws:iam::" + Account + ":role/" + p + s.roleName
	}
	return s.roleARN()
}

// rolePath is the IAM path of the roles that have one.
func rolePath(role string) string {
	switch {
	case len(role) > 15 && role[:15] == "AWSReservedSSO_":
		return "aws-reserved/sso.amazonaws.com/"
	case role == "AWSServiceRoleForConfig":
		return "aws-service-role/config.amazonaws.com/"
	case role == "AWSServiceRoleForAccessAnalyzer":
		return "aws-service-role/access-analyzer.amazonaws.com/"
	case role == "AWSServiceRoleForAutoScaling":
		return "aws-service-role/autoscaling.amazonaws.com/"
	}
	return ""
}

// roleID is a role's stable unique id (AROA + 17 characters).
func roleID(role string) string { return "AROA" + stableString(upperAlnum, 17, "role", role) }

// sessionKey is the access key id of one session.
func sessionKey(seed int64, labels ...string) string {
	return "ASIA" + stableString(upperAlnum, 16, append([]string{"key", itoa(seed)}, labels...)...)
}
