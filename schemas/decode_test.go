package schemas

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

var decodeCorpus = []string{
	`{"event_id":"e1","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"tickets.read","system":"helpdesk","outcome":"success"}`,
	` { "event_id" : "e1" , "time" : "2026-03-02T10:00:00.123456+02:00", "source":"s","agent_id":"a","agent_instance":"p","principal":"svc","credential_id":"c","credential_type":"oauth_token","credential_issued_at":"2026-01-01T00:00:00Z","credential_expires_at":"2026-12-01T00:00:00Z","on_behalf_of":"u@x.y","delegation_chain":["u@x.y","agent-b"],"action":"x","system":"y","resource":"r/1","resource_type":"T","outcome":"denied","error_code":"E","src_ip":"2001:db8::1","user_agent":"ua/1","bytes":12,"records":0,"attributes":{"k":"v","k2":""},"unattributed":true,"principal_kind":"infrastructure"} `,
	`{"event_id":"e1","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success","delegation_chain":[],"attributes":{}}`,
	// Long values and repeated keys, on the fast path.
	`{"event_id":"e1","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL","user_agent":"LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL","action":"t","system":"h","outcome":"success","delegation_chain":["LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL","b",""],"attributes":{"LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL":"LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL","k":""}}`,
	`{"event_id":"e1","agent_id":"LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL","agent_id":"short","time":"2026-03-02T10:00:00Z","source":"mcp","action":"t","system":"h","outcome":"success"}`,
	`{"event_id":"e1","agent_id":"short","agent_id":"LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL","time":"2026-03-02T10:00:00Z","source":"mcp","action":"t","system":"h","outcome":"success"}`,
	`{"event_id":"e1","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success","delegation_chain":["LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL","x"],"delegation_chain":["y"],"attributes":{"k":"1","j":"2"},"attributes":{"k":"3"}}`,
	`{"event_id":"e1","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success","resource":"","error_code":"","delegation_chain":[""]}`,
	// Everything below takes the slow path; the results must still match.
	`{"event_id":"e\u00e9","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success"}`,
	`{"event_id":"é","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success"}`,
	`{"Event_ID":"e1","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success"}`,
	`{"event_id":"e1","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success","extra":1}`,
	`{"event_id":"e1","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"maybe"}`,
	`{"event_id":"e1","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success","bytes":-1}`,
	`{"event_id":"e1","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success","bytes":1.5}`,
	`{"event_id":"e1","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success","bytes":007}`,
	`{"event_id":"e1","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success","src_ip":"10.0.0.300"}`,
	`{"event_id":"e1","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success","credential_issued_at":null}`,
	`{"event_id":"e1","time":"1999-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success"}`,
	`{"event_id":" ","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success"}`,
	`{"event_id":"e1","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success"} {}`,
	`{"event_id":"e1","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success","delegation_chain":["a",""]}`,
	`{"event_id":"e1","time":"2026-03-02 10:00:00","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success"}`,
	`{"event_id":"e1","event_id":"e2","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success","unattributed":false}`,
	`{"event_id":"e1","time":"2024-02-29T23:59:59.5Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success"}`,
	`{"event_id":"e1","time":"2025-02-29T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success"}`,
	`{"event_id":"e1","time":"2026-03-02T24:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success"}`,
	`{"event_id":"e1","time":"2026-03-02T10:00:60Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success"}`,
	`{"event_id":"e1","time":"2026-03-02T10:00:00.Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success"}`,
	`{"event_id":"e1","time":"2026-03-02T10:00:00.1234567891Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success"}`,
	`{"event_id":"e1","time":"2026-03-02t10:00:00z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success"}`,
	`{"event_id":"e1","time":"2026-13-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success"}`,
	`{}`, `[]`, ``, `{"event_id":`, `{"event_id":"e1",}`, `null`,
}

// standardDecode is DecodeEvent without the fast path.
func standardDecode(data []byte) (AgentEvent, error) {
	var ev AgentEvent
	if len(data) > MaxEventBytes {
		return ev, UnmarshalEvent(data, &ev)
	}
	if err := unmarshalStandard(data, &ev); err != nil {
		return ev, err
	}
	return ev, ev.Validate()
}

// testDecoder is shared by every sameDecode call, so that it holds values
// from earlier inputs (a value equal to the previous one is shared, not
// decoded again: both ways get checked).
var testDecoder Decoder

// sameDecode checks DecodeEvent, and a Decoder's Decode and Unmarshal,
// against encoding/json on in.
func sameDecode(t *testing.T, in []byte) {
	t.Helper()
	want, werr := standardDecode(in)
	same := func(what string, got AgentEvent, gerr error) {
		t.Helper()
		if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
			t.Fatalf("%s: %s\n error %v, want %v", what, in, gerr, werr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %s\n got  %+v\n want %+v", what, in, got, want)
		}
	}
	got, gerr := DecodeEvent(in)
	same("DecodeEvent", got, gerr)

	// The decoder gets a copy of in, scribbled over after each decode: the
	// event must not share memory with its input. ev starts out full, and
	// nothing of it may survive. Each input is decoded twice, the second
	// time with its values in the cache.
	buf := make([]byte, len(in))
	for range 2 {
		copy(buf, in)
		ev := leftover()
		err := testDecoder.Decode(buf, &ev)
		for i := range buf {
			buf[i] = 'X'
		}
		same("Decoder.Decode", ev, err)
	}

	// Unmarshal is UnmarshalEvent into a zero event: no validation.
	var wantU AgentEvent
	werrU := UnmarshalEvent(in, &wantU)
	copy(buf, in)
	ev := leftover()
	err := testDecoder.Unmarshal(buf, &ev)
	for i := range buf {
		buf[i] = 'X'
	}
	if (err == nil) != (werrU == nil) || (err != nil && err.Error() != werrU.Error()) {
		t.Fatalf("Decoder.Unmarshal: %s\n error %v, want %v", in, err, werrU)
	}
	if !reflect.DeepEqual(ev, wantU) {
		t.Fatalf("Decoder.Unmarshal: %s\n got  %+v\n want %+v", in, ev, wantU)
	}
}

// leftover is an event with every field set, as a reused variable holds.
func leftover() AgentEvent {
	ts := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	return AgentEvent{EventID: "old", Time: ts, Source: "old", AgentID: "old", AgentInstance: "old", Principal: "old",
		CredentialID: "old", CredentialType: "old", CredentialIssuedAt: &ts, CredentialExpiresAt: &ts, OnBehalfOf: "old",
		DelegationChain: []string{"old"}, Action: "old", System: "old", Resource: "old", ResourceType: "old", Outcome: "old",
		ErrorCode: "old", SrcIP: "old", UserAgent: "old", Bytes: 1, Records: 1, Attributes: map[string]string{"old": "old"}, Unattributed: true, PrincipalKind: "old"}
}

func TestDecodeEventMatchesStandardDecoder(t *testing.T) {
	for _, in := range decodeCorpus {
		sameDecode(t, []byte(in))
	}
}

// TestDecoderSharesRepeatedValues: a Decoder hands out one string for a
// value that repeats across events, and none of the unique ones.
func TestDecoderSharesRepeatedValues(t *testing.T) {
	in := func(id, res string) []byte {
		return []byte(`{"event_id":"` + id + `","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"bot-7","action":"tickets.read","system":"helpdesk","resource":"` + res + `","outcome":"success"}`)
	}
	var d Decoder
	var a, b AgentEvent
	if err := d.Decode(in("e1", "tickets/1"), &a); err != nil {
		t.Fatal(err)
	}
	if err := d.Decode(in("e2", "tickets/1"), &b); err != nil {
		t.Fatal(err)
	}
	for _, f := range [][2]string{{a.AgentID, b.AgentID}, {a.Action, b.Action}, {a.System, b.System}, {a.Outcome, b.Outcome}} {
		if f[0] != f[1] || unsafe.StringData(f[0]) != unsafe.StringData(f[1]) {
			t.Errorf("%q is not shared between events", f[0])
		}
	}
	if unsafe.StringData(a.Resource) == unsafe.StringData(b.Resource) {
		t.Errorf("resource %q is shared; it should be the event's own", a.Resource)
	}
	if a.EventID != "e1" || b.EventID != "e2" || a.Resource != "tickets/1" || b.Resource != "tickets/1" {
		t.Errorf("got %+v and %+v", a, b)
	}
}

// TestDecoderManyDistinctValues: values that change from event to event,
// or come back after others, decode to themselves.
func TestDecoderManyDistinctValues(t *testing.T) {
	var d Decoder
	for i := 0; i < 3000; i++ {
		id := fmt.Sprintf("agent-%d", i%7+i%1000)
		in := `{"event_id":"e","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"` + id + `","action":"t","system":"h","outcome":"success"}`
		var ev AgentEvent
		if err := d.Decode([]byte(in), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.AgentID != id {
			t.Fatalf("agent_id %q, want %q", ev.AgentID, id)
		}
	}
}

// TestFastPathTakesEncodedEvents: what AppendEventJSON writes for an
// ordinary event decodes on the fast path, back to the same event.
func TestFastPathTakesEncodedEvents(t *testing.T) {
	issued := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	ev := AgentEvent{EventID: "e1", Time: time.Date(2026, 3, 2, 10, 0, 0, 123000000, time.UTC), Source: "mcp",
		AgentID: "bot", AgentInstance: "pod-1", CredentialID: "tok", CredentialType: CredOAuthToken, CredentialIssuedAt: &issued,
		OnBehalfOf: "customer:7", DelegationChain: []string{"u", "a"}, Action: "tickets.read", System: "mcp:zendesk",
		Resource: "tickets/1", Outcome: OutcomeSuccess, SrcIP: "10.0.0.1", UserAgent: "bot/1", Bytes: 5, Records: 2,
		Attributes: map[string]string{"k": "v"}}
	b := AppendEventJSON(nil, &ev)
	var got AgentEvent
	if !new(Decoder).fast(b, &got) {
		t.Fatalf("an ordinary event took the slow path: %s", b)
	}
	if !got.Time.Equal(ev.Time) || !got.CredentialIssuedAt.Equal(issued) {
		t.Fatalf("times differ: %v %v", got.Time, got.CredentialIssuedAt)
	}
	got.Time, got.CredentialIssuedAt, ev.Time, ev.CredentialIssuedAt = time.Time{}, nil, time.Time{}, nil
	if !reflect.DeepEqual(got, ev) {
		t.Fatalf("got %+v\nwant %+v", got, ev)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, in := range decodeCorpus {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) { sameDecode(t, in) })
}

// TestDecodeStringBoundaries puts each special byte at every offset of a
// string, around the scanner's eight-byte steps.
func TestDecodeStringBoundaries(t *testing.T) {
	for _, special := range []string{`\"`, `\\`, `\n`, "\t", "é", "\x7f", "~", "!"} {
		for n := 0; n < 20; n++ {
			id := ""
			for i := 0; i < n; i++ {
				id += "x"
			}
			id += special + "yz"
			in := `{"event_id":"` + id + `","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success"}`
			sameDecode(t, []byte(in))
		}
	}
}

// TestUnmarshalEventSizeLimitOnBothPaths: an event over MaxEventBytes is
// refused whether or not it is in the fast path's shape.
func TestUnmarshalEventSizeLimitOnBothPaths(t *testing.T) {
	big := `{"event_id":"e1","time":"2026-03-02T10:00:00Z","source":"s","agent_id":"a","action":"x","system":"y","outcome":"success","resource":"`
	for _, filler := range []string{"r", `\u0041`} {
		var b []byte
		b = append(b, big...)
		for len(b) <= MaxEventBytes {
			b = append(b, filler...)
		}
		b = append(b, `"}`...)
		var ev AgentEvent
		if err := UnmarshalEvent(b, &ev); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("filler %q: err = %v, want the size limit", filler, err)
		}
	}
}

// TestParseUTCMatchesTimeDate: ParseUTC's own date arithmetic gives what
// time.Date gives, across leap years, century rules and the whole range
// of four-digit years.
func TestParseUTCMatchesTimeDate(t *testing.T) {
	years := []int{0, 1, 3, 4, 99, 100, 399, 400, 401, 1600, 1700, 1899, 1900, 1969, 1970, 1971, 1999, 2000, 2001, 2024, 2025, 2100, 2400, 9999}
	for _, y := range years {
		for m := 1; m <= 12; m++ {
			for d := 1; d <= daysIn(m, y); d++ {
				s := fmt.Sprintf("%04d-%02d-%02dT23:59:58.000000001Z", y, m, d)
				got, ok := ParseUTC(s)
				want := time.Date(y, time.Month(m), d, 23, 59, 58, 1, time.UTC)
				if !ok || !reflect.DeepEqual(got, want) {
					t.Fatalf("ParseUTC(%s) = %v, %v; want %v", s, got, ok, want)
				}
			}
		}
	}
}

// TestMinuteMemoMatchesParseUTC: times parsed through the minute memo,
// one after another as a Decoder meets them, equal ParseUTC's, valid or
// not, whether they share the previous minute or not.
func TestMinuteMemoMatchesParseUTC(t *testing.T) {
	var m minuteMemo
	check := func(s string) {
		t.Helper()
		got, gok := m.parse(s)
		want, wok := ParseUTC(s)
		if gok != wok || !reflect.DeepEqual(got, want) {
			t.Fatalf("memo parse(%q) = %v, %v; ParseUTC = %v, %v", s, got, gok, want, wok)
		}
	}
	at := time.Date(2026, 12, 31, 23, 57, 0, 0, time.UTC)
	for i := 0; i < 2000; i++ {
		at = at.Add(730*time.Millisecond + time.Duration(i%7)*time.Nanosecond)
		check(at.Format(time.RFC3339Nano))
		check(at.Format("2006-01-02T15:04:05Z"))
		check(at.Format("2006-01-02T15:04:05.000Z"))
		prefix := at.Format("2006-01-02T15:04:")
		for _, bad := range []string{"5aZ", "60Z", "07.Z", "07.1234567890Z", "07+01:00", "7Z", "07.12a4Z", "07", "07Zx"} {
			check(prefix + bad)
		}
	}
}

// TestKeyNamesFollowTheStruct: the fast scanner's key table is the JSON
// names of AgentEvent's fields in the order the encoders write them.
func TestKeyNamesFollowTheStruct(t *testing.T) {
	typ := reflect.TypeFor[AgentEvent]()
	var names []string
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	if !reflect.DeepEqual(names, keyNames[:]) {
		t.Errorf("keyNames = %v, want AgentEvent's JSON names %v", keyNames, names)
	}
}
