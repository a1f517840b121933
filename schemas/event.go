// Package schemas holds the canonical types every stage exchanges: the
// AgentEvent that ingest produces, the Alert that detection raises, the row
// types the store persists, and the JSON Schema and SQL DDL that describe
// them (embedded with go:embed so the binary carries its own contracts).
package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Credential types. A credential is described, never carried: the secret
// itself must not reach an AgentEvent.
const (
	CredStaticKey  = "static_key"  // long-lived API key or access key (AWS AKIA...)
	CredSTSSession = "sts_session" // temporary cloud session (AWS ASIA..., GCP short-lived token)
	CredOAuthToken = "oauth_token" // OAuth 2.0 access token, often delegated from a user
	CredJWT        = "jwt"         // bearer JWT (Kubernetes service-account token, OIDC ID token)
	CredMTLS       = "mtls_cert"   // client certificate
	CredPassword   = "password"    // interactive password session
	CredUnknown    = "unknown"
)

// CredentialTypes lists every valid credential_type value.
var CredentialTypes = []string{CredStaticKey, CredSTSSession, CredOAuthToken, CredJWT, CredMTLS, CredPassword, CredUnknown}

// Outcomes. A call refused by an authorisation check is "denied", which the
// detectors treat differently from a "failure" (an error while acting).
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	OutcomeDenied  = "denied"
	OutcomeUnknown = "unknown"
)

// Outcomes lists every valid outcome value.
var Outcomes = []string{OutcomeSuccess, OutcomeFailure, OutcomeDenied, OutcomeUnknown}

// Limits enforced by Validate. A record beyond them goes to the dead-letter
// topic rather than into the store.
const (
	MaxEventBytes     = 256 << 10 // encoded size of one canonical event
	MaxFieldLen       = 4096      // any single string field
	MaxAttributes     = 64
	MaxDelegationHops = 16
)

// AgentEvent is one access by an agent, normalised from any supported
// audit-log format. It is the value on the agentwatch.events topic (JSON,
// key = AgentID) and one row of the events table.
type AgentEvent struct {
	EventID             string            `json:"event_id"`
	Time                time.Time         `json:"time"`
	Source              string            `json:"source"`
	AgentID             string            `json:"agent_id"`
	AgentInstance       string            `json:"agent_instance,omitempty"`
	Principal           string            `json:"principal,omitempty"`
	CredentialID        string            `json:"credential_id,omitempty"`
	CredentialType      string            `json:"credential_type,omitempty"`
	CredentialIssuedAt  *time.Time        `json:"credential_issued_at,omitempty"`
	CredentialExpiresAt *time.Time        `json:"credential_expires_at,omitempty"`
	OnBehalfOf          string            `json:"on_behalf_of,omitempty"`
	DelegationChain     []string          `json:"delegation_chain,omitempty"`
	Action              string            `json:"action"`
	System              string            `json:"system"`
	Resource            string            `json:"resource,omitempty"`
	ResourceType        string            `json:"resource_type,omitempty"`
	Outcome             string            `json:"outcome"`
	ErrorCode           string            `json:"error_code,omitempty"`
	SrcIP               string            `json:"src_ip,omitempty"`
	UserAgent           string            `json:"user_agent,omitempty"`
	Bytes               int64             `json:"bytes,omitempty"`
	Records             int64             `json:"records,omitempty"`
	Attributes          map[string]string `json:"attributes,omitempty"`
	// Unattributed is true when no attribution rule mapped the record to an
	// agent; AgentID then holds the principal the source showed.
	Unattributed bool `json:"unattributed,omitempty"`
	// PrincipalKind says what the principal is when it is known not to be
	// an agent: "infrastructure" (a machine identity, such as a node that
	// assumes the agents' roles) or "human", from the inventory's
	// principals list or an attribution rule; "" for agents and unknown
	// principals.
	PrincipalKind string `json:"principal_kind,omitempty"`
}

// Principal kinds: principals known not to be agents.
const (
	PrincipalInfrastructure = "infrastructure"
	PrincipalHuman          = "human"
)

// PrincipalKinds lists every valid non-empty principal_kind value.
var PrincipalKinds = []string{PrincipalInfrastructure, PrincipalHuman}

// FieldError names the field that failed validation and why. Paths use the
// JSON names ("time", "delegation_chain[2]", "attributes.k").
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// ValidationError collects every field problem of one record.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Error()
	}
	return "invalid event: " + strings.Join(parts, "; ")
}

func (e *ValidationError) add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// Validate checks the event against the canonical schema and returns a
// *ValidationError naming every offending field, or nil.
func (ev *AgentEvent) Validate() error {
	// Field errors are collected only when there are some, so a valid
	// event is checked without allocating.
	var fe []FieldError
	add := func(field, format string, args ...any) {
		fe = append(fe, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	req := func(field, v string) {
		if strings.TrimSpace(v) == "" {
			add(field, "is required")
		}
	}
	req("event_id", ev.EventID)
	req("agent_id", ev.AgentID)
	req("action", ev.Action)
	req("system", ev.System)
	req("source", ev.Source)
	if ev.Time.IsZero() {
		add("time", "is required")
	} else if !yearInRange(ev.Time) {
		add("time", "year %d is out of range", ev.Time.Year())
	}
	// The longest field first: the names are needed only when one is too
	// long, and Validate runs on every event.
	if max(len(ev.EventID), len(ev.Source), len(ev.AgentID), len(ev.AgentInstance), len(ev.Principal),
		len(ev.CredentialID), len(ev.OnBehalfOf), len(ev.Action), len(ev.System), len(ev.Resource),
		len(ev.ResourceType), len(ev.ErrorCode), len(ev.UserAgent)) > MaxFieldLen {
		fields := [...]struct{ name, v string }{
			{"event_id", ev.EventID}, {"source", ev.Source}, {"agent_id", ev.AgentID}, {"agent_instance", ev.AgentInstance},
			{"principal", ev.Principal}, {"credential_id", ev.CredentialID}, {"on_behalf_of", ev.OnBehalfOf},
			{"action", ev.Action}, {"system", ev.System}, {"resource", ev.Resource}, {"resource_type", ev.ResourceType},
			{"error_code", ev.ErrorCode}, {"user_agent", ev.UserAgent},
		}
		for _, f := range fields {
			if len(f.v) > MaxFieldLen {
				add(f.name, "is %d bytes, longer than %d", len(f.v), MaxFieldLen)
			}
		}
	}
	if ev.Outcome == "" {
		add("outcome", "is required (one of %s)", strings.Join(Outcomes, ", "))
	} else if !validOutcome(ev.Outcome) {
		add("outcome", "%q is not one of %s", ev.Outcome, strings.Join(Outcomes, ", "))
	}
	if ev.CredentialType != "" && !validCredentialType(ev.CredentialType) {
		add("credential_type", "%q is not one of %s", ev.CredentialType, strings.Join(CredentialTypes, ", "))
	}
	if ev.CredentialIssuedAt != nil && ev.CredentialExpiresAt != nil && ev.CredentialExpiresAt.Before(*ev.CredentialIssuedAt) {
		add("credential_expires_at", "is before credential_issued_at")
	}
	if ev.PrincipalKind != "" && ev.PrincipalKind != PrincipalInfrastructure && ev.PrincipalKind != PrincipalHuman {
		add("principal_kind", "%q is not one of %s", ev.PrincipalKind, strings.Join(PrincipalKinds, ", "))
	}
	if ev.SrcIP != "" && !plainIPv4(ev.SrcIP) {
		if _, err := netip.ParseAddr(ev.SrcIP); err != nil {
			add("src_ip", "%q is not an IP address", ev.SrcIP)
		}
	}
	if ev.Bytes < 0 {
		add("bytes", "must not be negative")
	}
	if ev.Records < 0 {
		add("records", "must not be negative")
	}
	if len(ev.DelegationChain) > MaxDelegationHops {
		add("delegation_chain", "has %d hops, more than %d", len(ev.DelegationChain), MaxDelegationHops)
	}
	for i, hop := range ev.DelegationChain {
		if hop == "" {
			add(fmt.Sprintf("delegation_chain[%d]", i), "is empty")
		}
	}
	if len(ev.Attributes) > MaxAttributes {
		add("attributes", "has %d keys, more than %d", len(ev.Attributes), MaxAttributes)
	}
	for k, v := range ev.Attributes {
		if len(k)+len(v) > MaxFieldLen {
			add("attributes."+k, "is longer than %d bytes", MaxFieldLen)
		}
	}
	if len(fe) == 0 {
		return nil
	}
	sortFieldErrors(fe)
	return &ValidationError{Fields: fe}
}

// DecodeEvent parses one canonical JSON event strictly (unknown fields are
// an error, so a misspelt field is reported rather than silently lost) and
// validates it.
func DecodeEvent(data []byte) (AgentEvent, error) {
	var ev AgentEvent
	if err := UnmarshalEvent(data, &ev); err != nil {
		return ev, err
	}
	return ev, ev.Validate()
}

// UnmarshalEvent parses one canonical JSON event strictly without
// validating it (ingest attributes an event before it validates), with a
// fresh Decoder: the common shape takes the fast scanner; anything else,
// and every error, goes through encoding/json, so results and messages
// are the standard decoder's either way (tests and a fuzz target hold the
// two equal). Whatever ev held before is overwritten.
func UnmarshalEvent(data []byte, ev *AgentEvent) error {
	var d Decoder
	return d.Unmarshal(data, ev)
}

// errTooLarge is the error for an event over MaxEventBytes.
func errTooLarge(n int) error {
	return &ValidationError{Fields: []FieldError{{Field: "(record)", Reason: fmt.Sprintf("is %d bytes, larger than %d", n, MaxEventBytes)}}}
}

// unmarshalStandard is the encoding/json path of UnmarshalEvent.
func unmarshalStandard(data []byte, ev *AgentEvent) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(ev); err != nil {
		return fmt.Errorf("decode canonical event: %w", err)
	}
	// dec.More would miss a stray '}' or ']': it reports whether an array
	// or object goes on, not whether the input does.
	if len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) > 0 {
		return fmt.Errorf("decode canonical event: trailing data after the JSON object")
	}
	return nil
}

// Network returns the /24 (IPv4) or /48 (IPv6) prefix of SrcIP, or "" when
// there is none. Baselines learn networks, not single addresses, so that a
// pod moving within its subnet is not news.
func (ev *AgentEvent) Network() string {
	return NetworkOf(ev.SrcIP)
}

// NetworkOf returns the /24 or /48 prefix of ip as text, or "".
func NetworkOf(ip string) string {
	if ip == "" {
		return ""
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// yearInRange reports whether t's year (in its own location) is 2000 to
// 2200; a UTC time is checked without working out its date.
func yearInRange(t time.Time) bool {
	if t.Location() == time.UTC {
		const from, to = 946684800, 7289654400 // 2000-01-01, 2201-01-01 UTC
		s := t.Unix()
		return s >= from && s < to
	}
	y := t.Year()
	return y >= 2000 && y <= 2200
}

// validOutcome is slices.Contains(Outcomes, v) as a switch, which
// Validate runs on every event about 20 ns faster;
// TestValidSwitchesMatchLists holds the two equal.
func validOutcome(v string) bool {
	switch v {
	case OutcomeSuccess, OutcomeFailure, OutcomeDenied, OutcomeUnknown:
		return true
	}
	return false
}

// validCredentialType is slices.Contains(CredentialTypes, v) as a switch
// (see validOutcome).
func validCredentialType(v string) bool {
	switch v {
	case CredStaticKey, CredSTSSession, CredOAuthToken, CredJWT, CredMTLS, CredPassword, CredUnknown:
		return true
	}
	return false
}

// plainIPv4 reports whether s is a dotted-quad IPv4 address of the plain
// kind (four decimal octets of at most 255, without leading zeros), which
// netip.ParseAddr accepts, without its cost. false means "ask
// netip.ParseAddr", not "invalid".
func plainIPv4(s string) bool {
	if len(s) < 7 || len(s) > 15 {
		return false
	}
	fields, v, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || v > 255 || fields == 4 {
				return false
			}
			fields++
			v, digits = 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || (digits == 1 && v == 0) { // a leading zero
			return false
		}
		v = v*10 + int(c-'0')
		digits++
	}
	return fields == 4
}
