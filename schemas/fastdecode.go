package schemas

import (
	"encoding/binary"
	"strconv"
	"time"
	"unsafe"
)

// scanner reads one event from b; dec records where its strings are and
// cuts them when the whole event has scanned (Decoder.finish).
type scanner struct {
	b   []byte
	pos int
	dec *Decoder
}

// view is b[i:j] as a string without a copy: only for values that are not
// kept (keys, times being parsed).
func (d *scanner) view(i, j int) string {
	if i >= j {
		return ""
	}
	return unsafe.String(&d.b[i], j-i)
}

func (d *scanner) ws() {
	// Every byte JSON allows as whitespace is at most ' ': one comparison
	// settles the usual case, compact JSON.
	for d.pos < len(d.b) && d.b[d.pos] <= ' ' {
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

// key reads an object key; it is only compared, never kept.
func (d *scanner) key() (string, bool) {
	i, j, ok := d.span()
	if !ok {
		return "", false
	}
	return d.view(i, j), true
}

// span reads a string without escapes, control or non-ASCII bytes and
// returns where its contents are in b.
func (d *scanner) span() (int, int, bool) {
	if !d.byte('"') {
		return 0, 0, false
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
			return start, i, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return 0, 0, false
		}
	}
	return 0, 0, false
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
	return d.word("null")
}

// word consumes w (a JSON literal) if it comes next.
func (d *scanner) word(w string) bool {
	d.ws()
	if len(d.b)-d.pos >= len(w) && d.view(d.pos, d.pos+len(w)) == w {
		d.pos += len(w)
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
	v, err := strconv.ParseInt(d.view(start, d.pos), 10, 64)
	return v, err == nil
}

func (d *scanner) time() (time.Time, bool) {
	i, j, ok := d.span()
	if !ok {
		return time.Time{}, false
	}
	return d.parseTime(d.view(i, j))
}

// credTime reads credential time n (0 issued, 1 expires). The same time
// as the previous event's gets the same pointer: events do not change
// after decoding, and a credential's times repeat in every event it signs.
func (d *scanner) credTime(n int) (*time.Time, bool) {
	i, j, ok := d.span()
	if !ok {
		return nil, false
	}
	s, m := d.view(i, j), &d.dec.cred[n]
	if m.t != nil && s == string(m.text[:m.n]) {
		return m.t, true
	}
	t, ok := d.parseTime(s)
	if !ok {
		return nil, false
	}
	p := &t
	m.t = nil
	if len(s) <= len(m.text) {
		m.n = copy(m.text[:], s)
		m.t = p
	}
	return p, true
}

// credMemo is a credential time's text and the pointer it was decoded to.
type credMemo struct {
	n    int
	text [40]byte
	t    *time.Time
}

func (d *scanner) parseTime(s string) (time.Time, bool) {
	// Neither parser keeps its argument.
	if t, ok := d.dec.minute.parse(s); ok {
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
	ns, ok := parseFraction(s[19 : len(s)-1])
	if !ok {
		return time.Time{}, false
	}
	// What time.Date(y, mo, d, h, mi, sec, ns, time.UTC) returns, for
	// fields in range, without its normalisation.
	unix := daysSinceEpoch(y, mo, d)*86400 + int64(h*3600+mi*60+sec)
	return time.Unix(unix, int64(ns)).UTC(), true
}

// minuteMemo remembers the latest "2006-01-02T15:04:" prefix ParseUTC
// accepted and its Unix time: consecutive events' times mostly share it,
// and then only the seconds and the fraction need parsing.
type minuteMemo struct {
	prefix [17]byte
	unix   int64
	ok     bool
}

// parse is ParseUTC(s), through the memo.
func (m *minuteMemo) parse(s string) (time.Time, bool) {
	if m.ok && len(s) >= 20 && s[len(s)-1] == 'Z' && s[:17] == string(m.prefix[:]) && s[19] != ':' {
		s0, s1 := s[17], s[18]
		if s0 >= '0' && s0 <= '5' && s1 >= '0' && s1 <= '9' {
			if ns, ok := parseFraction(s[19 : len(s)-1]); ok {
				return time.Unix(m.unix+int64(s0-'0')*10+int64(s1-'0'), int64(ns)).UTC(), true
			}
		}
	}
	t, ok := ParseUTC(s)
	if ok {
		copy(m.prefix[:], s[:17])
		m.unix = t.Unix() - int64(t.Second())
		m.ok = true
	}
	return t, ok
}

// parseFraction parses "" or "." and 1 to 9 digits as nanoseconds.
func parseFraction(rest string) (int, bool) {
	if rest == "" {
		return 0, true
	}
	if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
		return 0, false
	}
	f := 0
	for i := 1; i < len(rest); i++ {
		c := rest[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		f = f*10 + int(c-'0')
	}
	for i := len(rest) - 1; i < 9; i++ {
		f *= 10
	}
	return f, true
}

// daysSinceEpoch counts days from 1970-01-01 to a proleptic Gregorian
// date (year 0 to 9999, month and day valid).
func daysSinceEpoch(y, m, d int) int64 {
	if m <= 2 {
		y-- // count years from March, so the leap day ends a year
	}
	era := (y+400)/400 - 1 // floor(y/400) for y >= -400
	yoe := y - era*400     // [0, 399]
	mp := (m + 9) % 12     // March = 0
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
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

// event scans one whole object into ev.
func (d *scanner) event(ev *AgentEvent) bool {
	if !d.byte('{') {
		return false
	}
	if d.byte('}') {
		return d.end()
	}
	next := 0 // the key expected next in the encoders' order
	for {
		k := d.keyInOrder(next)
		if k < 0 {
			key, ok := d.key()
			if !ok || !d.byte(':') {
				return false
			}
			if k = keyIndex(key); k < 0 {
				return false // unknown or differently spelt: the standard decoder decides
			}
		}
		next = k + 1
		if !d.field(k, ev) {
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

// The keys of a canonical event in the order json.Marshal and
// AppendEventJSON write them.
const (
	kEventID = iota
	kTime
	kSource
	kAgentID
	kAgentInstance
	kPrincipal
	kCredentialID
	kCredentialType
	kCredentialIssuedAt
	kCredentialExpiresAt
	kOnBehalfOf
	kDelegationChain
	kAction
	kSystem
	kResource
	kResourceType
	kOutcome
	kErrorCode
	kSrcIP
	kUserAgent
	kBytes
	kRecords
	kAttributes
	kUnattributed
	kPrincipalKind
	numKeys
)

var keyNames = [numKeys]string{"event_id", "time", "source", "agent_id", "agent_instance", "principal", "credential_id",
	"credential_type", "credential_issued_at", "credential_expires_at", "on_behalf_of", "delegation_chain", "action",
	"system", "resource", "resource_type", "outcome", "error_code", "src_ip", "user_agent", "bytes", "records",
	"attributes", "unattributed", "principal_kind"}

// keyTokens are the keys as they appear in compact JSON, quoted and with
// their colon (at most 24 bytes), as three little-endian words and masks,
// zero beyond the token.
var keyTokens = func() (t [numKeys]struct {
	n          int
	word, mask [3]uint64
}) {
	for k, name := range keyNames {
		tok := `"` + name + `":`
		if len(tok) > 24 {
			panic("key token longer than 24 bytes: " + tok)
		}
		var b [24]byte
		copy(b[:], tok)
		t[k].n = len(tok)
		for i := range 3 {
			t[k].word[i] = binary.LittleEndian.Uint64(b[8*i:])
			if n := len(tok) - 8*i; n >= 8 {
				t[k].mask[i] = ^uint64(0)
			} else if n > 0 {
				t[k].mask[i] = 1<<(8*n) - 1
			}
		}
	}
	return t
}()

// keyInOrder consumes the next key and its colon when it is written as the
// encoders write it, trying the keys from next on (omitted fields are
// skipped), and returns its index; otherwise -1, having consumed nothing.
func (d *scanner) keyInOrder(next int) int {
	d.ws()
	var x [3]uint64
	if len(d.b)-d.pos >= 24 {
		x = [3]uint64{binary.LittleEndian.Uint64(d.b[d.pos:]), binary.LittleEndian.Uint64(d.b[d.pos+8:]), binary.LittleEndian.Uint64(d.b[d.pos+16:])}
	} else {
		// Near the end: zeros past it match no token's bytes, so a token
		// longer than what is left cannot match.
		var pad [24]byte
		copy(pad[:], d.b[d.pos:])
		x = [3]uint64{binary.LittleEndian.Uint64(pad[:]), binary.LittleEndian.Uint64(pad[8:]), binary.LittleEndian.Uint64(pad[16:])}
	}
	for k := next; k < numKeys; k++ {
		t := &keyTokens[k]
		if x[0]&t.mask[0] == t.word[0] && x[1]&t.mask[1] == t.word[1] && x[2]&t.mask[2] == t.word[2] {
			d.pos += t.n
			return k
		}
	}
	return -1
}

// keyIndex returns the index of a key spelt exactly, or -1.
func keyIndex(key string) int {
	for k, name := range keyNames {
		if key == name {
			return k
		}
	}
	return -1
}

// The string fields of AgentEvent, by index (see strField).
const (
	fEventID = iota
	fSource
	fAgentID
	fAgentInstance
	fPrincipal
	fCredentialID
	fCredentialType
	fOnBehalfOf
	fAction
	fSystem
	fResource
	fResourceType
	fOutcome
	fErrorCode
	fSrcIP
	fUserAgent
	fPrincipalKind
	numStrFields
)

// strFieldOf maps a key to its string field, or -1.
var strFieldOf = [numKeys]int8{
	kEventID: fEventID, kTime: -1, kSource: fSource, kAgentID: fAgentID, kAgentInstance: fAgentInstance,
	kPrincipal: fPrincipal, kCredentialID: fCredentialID, kCredentialType: fCredentialType,
	kCredentialIssuedAt: -1, kCredentialExpiresAt: -1, kOnBehalfOf: fOnBehalfOf, kDelegationChain: -1,
	kAction: fAction, kSystem: fSystem, kResource: fResource, kResourceType: fResourceType, kOutcome: fOutcome,
	kErrorCode: fErrorCode, kSrcIP: fSrcIP, kUserAgent: fUserAgent, kBytes: -1, kRecords: -1, kAttributes: -1,
	kUnattributed: -1, kPrincipalKind: fPrincipalKind,
}

func (ev *AgentEvent) strField(f int) *string {
	switch f {
	case fEventID:
		return &ev.EventID
	case fSource:
		return &ev.Source
	case fAgentID:
		return &ev.AgentID
	case fAgentInstance:
		return &ev.AgentInstance
	case fPrincipal:
		return &ev.Principal
	case fCredentialID:
		return &ev.CredentialID
	case fCredentialType:
		return &ev.CredentialType
	case fOnBehalfOf:
		return &ev.OnBehalfOf
	case fAction:
		return &ev.Action
	case fSystem:
		return &ev.System
	case fResource:
		return &ev.Resource
	case fResourceType:
		return &ev.ResourceType
	case fOutcome:
		return &ev.Outcome
	case fErrorCode:
		return &ev.ErrorCode
	case fSrcIP:
		return &ev.SrcIP
	case fPrincipalKind:
		return &ev.PrincipalKind
	default:
		return &ev.UserAgent
	}
}

// field reads the value of key k.
func (d *scanner) field(k int, ev *AgentEvent) bool {
	if f := int(strFieldOf[k]); f >= 0 {
		if d.dec.repeat(f, d, ev) {
			return true
		}
		i, j, ok := d.span()
		if !ok {
			return false
		}
		d.dec.str(f, i, j)
		return true
	}
	switch k {
	case kTime:
		t, ok := d.time()
		ev.Time = t
		return ok
	case kCredentialIssuedAt, kCredentialExpiresAt:
		if d.null() {
			return false // the standard decoder's null handling, to be exact
		}
		if k == kCredentialIssuedAt {
			t, ok := d.credTime(0)
			ev.CredentialIssuedAt = t
			return ok
		}
		t, ok := d.credTime(1)
		ev.CredentialExpiresAt = t
		return ok
	case kBytes:
		v, ok := d.int64()
		ev.Bytes = v
		return ok
	case kRecords:
		v, ok := d.int64()
		ev.Records = v
		return ok
	case kUnattributed:
		switch {
		case d.word("true"):
			ev.Unattributed = true
		case d.word("false"):
			ev.Unattributed = false
		default:
			return false
		}
		return true
	case kDelegationChain:
		return d.chain(ev)
	case kAttributes:
		return d.attributes(ev)
	}
	return false
}

func (d *scanner) chain(ev *AgentEvent) bool {
	if !d.byte('[') {
		return false
	}
	if ev.DelegationChain == nil {
		ev.DelegationChain = make([]string, 0, 2) // [] is empty, not absent
	}
	// A repeated key replaces the earlier list, as encoding/json does.
	ev.DelegationChain = ev.DelegationChain[:0]
	d.dec.hops = d.dec.hops[:0]
	if d.byte(']') {
		return true
	}
	for {
		i, j, ok := d.span()
		if !ok {
			return false
		}
		d.dec.hop(len(ev.DelegationChain), i, j)
		ev.DelegationChain = append(ev.DelegationChain, "") // set by finish
		if d.byte(',') {
			continue
		}
		return d.byte(']')
	}
}

func (d *scanner) attributes(ev *AgentEvent) bool {
	if !d.byte('{') {
		return false
	}
	// The map is made at the end, when its strings are; a repeated key
	// adds to it, as encoding/json does.
	d.dec.hasAttrs = true
	if d.byte('}') {
		return true
	}
	for {
		ki, kj, ok := d.span()
		if !ok || !d.byte(':') {
			return false
		}
		vi, vj, ok := d.span()
		if !ok {
			return false
		}
		d.dec.attrs = append(d.dec.attrs, attrSpan{int32(ki), int32(kj), int32(vi), int32(vj)})
		if d.byte(',') {
			continue
		}
		return d.byte('}')
	}
}
