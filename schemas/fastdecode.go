package schemas

import (
	"encoding/binary"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

type scanner struct {
	b   []byte
	s   string // the same bytes as one string: fields are substrings of it
	pos int
}

func (d *scanner) ws() {
	for d.pos < len(d.b) {
		switch d.b[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *scanner) byte(c byte) bool {
	d.ws()
	if d.pos < len(d.b) && d.b[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

// str reads a string without escapes, control or non-ASCII bytes.
func (d *scanner) str() (string, bool) {
	if !d.byte('"') {
		return "", false
	}
	start := d.pos
	b := d.b
	i := d.pos
	// Eight bytes at a time while none of them needs a look.
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		if special(x) {
			break
		}
		i += 8
	}
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			d.pos = i + 1
			return d.s[start:i], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", false
		}
	}
	return "", false
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special reports whether any byte of x is a quote, a backslash, a
// control byte or non-ASCII (classic SWAR byte tests).
func special(x uint64) bool {
	q := x ^ (lsb * '"')
	bs := x ^ (lsb * '\\')
	return (x&msb)|((q-lsb)&^q&msb)|((bs-lsb)&^bs&msb)|((x-lsb*0x20)&^x&msb) != 0
}

func (d *scanner) null() bool {
	d.ws()
	if strings.HasPrefix(d.s[d.pos:], "null") {
		d.pos += 4
		return true
	}
	return false
}

func (d *scanner) int64() (int64, bool) {
	d.ws()
	start := d.pos
	if d.pos < len(d.b) && d.b[d.pos] == '-' {
		d.pos++
	}
	if d.pos+1 < len(d.b) && d.b[d.pos] == '0' && d.b[d.pos+1] >= '0' && d.b[d.pos+1] <= '9' {
		return 0, false // a leading zero is not JSON
	}
	for d.pos < len(d.b) && d.b[d.pos] >= '0' && d.b[d.pos] <= '9' {
		d.pos++
	}
	if d.pos < len(d.b) {
		switch d.b[d.pos] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	v, err := strconv.ParseInt(d.s[start:d.pos], 10, 64)
	return v, err == nil
}

func (d *scanner) time() (time.Time, bool) {
	s, ok := d.str()
	if !ok {
		return time.Time{}, false
	}
	if t, ok := ParseUTC(s); ok {
		return t, true
	}
	var t time.Time
	if err := t.UnmarshalText(unsafe.Slice(unsafe.StringData(s), len(s))); err != nil {
		return time.Time{}, false
	}
	return t, true
}

// ParseUTC parses the common "2006-01-02T15:04:05[.fraction]Z" form
// without the general parser's cost or an allocation; anything else
// returns false and the caller uses time.Parse. Ingest's parsers share it.
func ParseUTC(s string) (time.Time, bool) {
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	h, ok4 := num(11, 13)
	mi, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	ns := 0
	if rest := s[19 : len(s)-1]; rest != "" {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return time.Time{}, false
		}
		f, ok := num(20, len(s)-1)
		if !ok {
			return time.Time{}, false
		}
		for i := len(rest) - 1; i < 9; i++ {
			f *= 10
		}
		ns = f
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC), true
}

func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// FastUnmarshalEvent decodes the common shape of a canonical event (known
// keys spelt exactly, strings without escapes or non-ASCII bytes) with one
// allocation for all strings, which are substrings of one copy of data.
// It reports false for anything else, leaving ev in an unspecified state;
// the caller then uses the standard decoder, so unusual input and every
// error get encoding/json's handling. It does not validate.
func FastUnmarshalEvent(data []byte, ev *AgentEvent) bool {
	d := scanner{b: data, s: string(data)}
	if !d.byte('{') {
		return false
	}
	if d.byte('}') {
		return d.end()
	}
	for {
		key, ok := d.str()
		if !ok || !d.byte(':') {
			return false
		}
		if !d.field(key, ev) {
			return false
		}
		if d.byte(',') {
			continue
		}
		if d.byte('}') {
			return d.end()
		}
		return false
	}
}

func (d *scanner) end() bool {
	d.ws()
	return d.pos == len(d.b)
}

func (d *scanner) field(key string, ev *AgentEvent) bool {
	var sp *string
	switch key {
	case "event_id":
		sp = &ev.EventID
	case "source":
		sp = &ev.Source
	case "agent_id":
		sp = &ev.AgentID
	case "agent_instance":
		sp = &ev.AgentInstance
	case "principal":
		sp = &ev.Principal
	case "credential_id":
		sp = &ev.CredentialID
	case "credential_type":
		sp = &ev.CredentialType
	case "on_behalf_of":
		sp = &ev.OnBehalfOf
	case "action":
		sp = &ev.Action
	case "system":
		sp = &ev.System
	case "resource":
		sp = &ev.Resource
	case "resource_type":
		sp = &ev.ResourceType
	case "outcome":
		sp = &ev.Outcome
	case "error_code":
		sp = &ev.ErrorCode
	case "src_ip":
		sp = &ev.SrcIP
	case "user_agent":
		sp = &ev.UserAgent
	case "time":
		t, ok := d.time()
		ev.Time = t
		return ok
	case "credential_issued_at", "credential_expires_at":
		if d.null() {
			return false // the standard decoder's null handling, to be exact
		}
		t, ok := d.time()
		if !ok {
			return false
		}
		if key == "credential_issued_at" {
			ev.CredentialIssuedAt = &t
		} else {
			ev.CredentialExpiresAt = &t
		}
		return true
	case "bytes":
		v, ok := d.int64()
		ev.Bytes = v
		return ok
	case "records":
		v, ok := d.int64()
		ev.Records = v
		return ok
	case "unattributed":
		d.ws()
		switch {
		case strings.HasPrefix(d.s[d.pos:], "true"):
			ev.Unattributed, d.pos = true, d.pos+4
		case strings.HasPrefix(d.s[d.pos:], "false"):
			ev.Unattributed, d.pos = false, d.pos+5
		default:
			return false
		}
		return true
	case "delegation_chain":
		if !d.byte('[') {
			return false
		}
		if ev.DelegationChain == nil {
			ev.DelegationChain = make([]string, 0, 2) // [] is empty, not absent
		}
		ev.DelegationChain = ev.DelegationChain[:0]
		if d.byte(']') {
			return true
		}
		for {
			s, ok := d.str()
			if !ok {
				return false
			}
			ev.DelegationChain = append(ev.DelegationChain, s)
			if d.byte(',') {
				continue
			}
			return d.byte(']')
		}
	case "attributes":
		if !d.byte('{') {
			return false
		}
		if ev.Attributes == nil {
			ev.Attributes = map[string]string{}
		}
		if d.byte('}') {
			return true
		}
		for {
			k, ok := d.str()
			if !ok || !d.byte(':') {
				return false
			}
			v, ok := d.str()
			if !ok {
				return false
			}
			ev.Attributes[k] = v
			if d.byte(',') {
				continue
			}
			return d.byte('}')
		}
	default:
		return false // unknown or differently spelt: the standard decoder decides
	}
	s, ok := d.str()
	*sp = s
	return ok
}
