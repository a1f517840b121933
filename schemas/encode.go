package schemas

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendEventJSON appends ev encoded exactly as encoding/json's Marshal
// would encode it (same field order, omitempty rules, string escaping,
// sorted attribute keys and RFC 3339 times), without reflection. Every
// canonical event crosses the bus once per stage, so this is on the hot
// path; a test and a fuzz target hold it byte-equal to json.Marshal.
func AppendEventJSON(b []byte, ev *AgentEvent) []byte {
	b = append(b, `{"event_id":`...)
	b = AppendJSONString(b, ev.EventID)
	b = append(b, `,"time":`...)
	b = appendJSONTime(b, ev.Time)
	b = append(b, `,"source":`...)
	b = AppendJSONString(b, ev.Source)
	b = append(b, `,"agent_id":`...)
	b = AppendJSONString(b, ev.AgentID)
	b = optString(b, `,"agent_instance":`, ev.AgentInstance)
	b = optString(b, `,"principal":`, ev.Principal)
	b = optString(b, `,"credential_id":`, ev.CredentialID)
	b = optString(b, `,"credential_type":`, ev.CredentialType)
	if ev.CredentialIssuedAt != nil {
		b = append(b, `,"credential_issued_at":`...)
		b = appendJSONTime(b, *ev.CredentialIssuedAt)
	}
	if ev.CredentialExpiresAt != nil {
		b = append(b, `,"credential_expires_at":`...)
		b = appendJSONTime(b, *ev.CredentialExpiresAt)
	}
	b = optString(b, `,"on_behalf_of":`, ev.OnBehalfOf)
	if len(ev.DelegationChain) > 0 {
		b = append(b, `,"delegation_chain":[`...)
		for i, hop := range ev.DelegationChain {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, hop)
		}
		b = append(b, ']')
	}
	b = append(b, `,"action":`...)
	b = AppendJSONString(b, ev.Action)
	b = append(b, `,"system":`...)
	b = AppendJSONString(b, ev.System)
	b = optString(b, `,"resource":`, ev.Resource)
	b = optString(b, `,"resource_type":`, ev.ResourceType)
	b = append(b, `,"outcome":`...)
	b = AppendJSONString(b, ev.Outcome)
	b = optString(b, `,"error_code":`, ev.ErrorCode)
	b = optString(b, `,"src_ip":`, ev.SrcIP)
	b = optString(b, `,"user_agent":`, ev.UserAgent)
	if ev.Bytes != 0 {
		b = append(b, `,"bytes":`...)
		b = strconv.AppendInt(b, ev.Bytes, 10)
	}
	if ev.Records != 0 {
		b = append(b, `,"records":`...)
		b = strconv.AppendInt(b, ev.Records, 10)
	}
	if len(ev.Attributes) > 0 {
		b = append(b, `,"attributes":{`...)
		// A stack array covers the usual handful of attributes without
		// allocating.
		var kb [8]string
		keys := kb[:0]
		for k := range ev.Attributes {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, k)
			b = append(b, ':')
			b = AppendJSONString(b, ev.Attributes[k])
		}
		b = append(b, '}')
	}
	if ev.Unattributed {
		b = append(b, `,"unattributed":true`...)
	}
	b = optString(b, `,"principal_kind":`, ev.PrincipalKind)
	return append(b, '}')
}

func optString(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, key...)
	return AppendJSONString(b, v)
}

// appendJSONTime writes t as time.Time.MarshalJSON does. Years outside
// 0-9999 cannot be marshalled by encoding/json either; Validate rejects
// them long before, so here they are written as null.
func appendJSONTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s quoted as encoding/json does with HTML escaping on:
// control characters, quote, backslash, <, > and & are escaped, invalid
// UTF-8 becomes U+FFFD, and U+2028/U+2029 are escaped.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
