package detect

import (
	"net/netip"

	"github.com/agentwatch/agentwatch/schemas"
)

// DecodeEvent decodes and validates one canonical event with exactly the
// result of schemas.DecodeEvent, several times faster: a scanner handles
// the common shape (known keys spelt exactly, strings without escapes or
// non-ASCII bytes, valid content) with one allocation for all strings, and
// anything else (including every error) goes to schemas.DecodeEvent, so
// error messages and edge cases are the standard decoder's.
func DecodeEvent(data []byte) (schemas.AgentEvent, error) {
	var ev schemas.AgentEvent
	if len(data) <= schemas.MaxEventBytes && schemas.FastUnmarshalEvent(data, &ev) && fastValid(&ev) {
		return ev, nil
	}
	return schemas.DecodeEvent(data)
}

// fastValid reports whether schemas.(*AgentEvent).Validate would accept
// ev, without its allocations; any doubt returns false and the slow path
// produces the exact error.
func fastValid(ev *schemas.AgentEvent) bool {
	if blank(ev.EventID) || blank(ev.AgentID) || blank(ev.Action) || blank(ev.System) || blank(ev.Source) {
		return false
	}
	if ev.Time.IsZero() {
		return false
	}
	if y := ev.Time.Year(); y < 2000 || y > 2200 {
		return false
	}
	for _, v := range [...]string{ev.EventID, ev.Source, ev.AgentID, ev.AgentInstance, ev.Principal, ev.CredentialID,
		ev.OnBehalfOf, ev.Action, ev.System, ev.Resource, ev.ResourceType, ev.ErrorCode, ev.UserAgent} {
		if len(v) > schemas.MaxFieldLen {
			return false
		}
	}
	switch ev.Outcome {
	case schemas.OutcomeSuccess, schemas.OutcomeFailure, schemas.OutcomeDenied, schemas.OutcomeUnknown:
	default:
		return false
	}
	switch ev.CredentialType {
	case "", schemas.CredStaticKey, schemas.CredSTSSession, schemas.CredOAuthToken, schemas.CredJWT, schemas.CredMTLS, schemas.CredPassword, schemas.CredUnknown:
	default:
		return false
	}
	if ev.CredentialIssuedAt != nil && ev.CredentialExpiresAt != nil && ev.CredentialExpiresAt.Before(*ev.CredentialIssuedAt) {
		return false
	}
	if ev.SrcIP != "" {
		if _, err := netip.ParseAddr(ev.SrcIP); err != nil {
			return false
		}
	}
	if ev.Bytes < 0 || ev.Records < 0 || len(ev.DelegationChain) > schemas.MaxDelegationHops || len(ev.Attributes) > schemas.MaxAttributes {
		return false
	}
	for _, hop := range ev.DelegationChain {
		if hop == "" {
			return false
		}
	}
	for k, v := range ev.Attributes {
		if len(k)+len(v) > schemas.MaxFieldLen {
			return false
		}
	}
	return true
}

// blank is strings.TrimSpace(s) == "" for ASCII input (the fast path
// never sees other bytes).
func blank(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r', '\v', '\f':
		default:
			return false
		}
	}
	return true
}
