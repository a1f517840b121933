package schemas

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

var decodeCorpus = []string{
	`{"event_id":"e1","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"tickets.read","system":"helpdesk","outcome":"success"}`,
	` { "event_id" : "e1" , "time" : "2026-03-02T10:00:00.123456+02:00", "source":"s","agent_id":"a","agent_instance":"p","principal":"svc","credential_id":"c","credential_type":"oauth_token","credential_issued_at":"2026-01-01T00:00:00Z","credential_expires_at":"2026-12-01T00:00:00Z","on_behalf_of":"u@x.y","delegation_chain":["u@x.y","agent-b"],"action":"x","system":"y","resource":"r/1","resource_type":"T","outcome":"denied","error_code":"E","src_ip":"2001:db8::1","user_agent":"ua/1","bytes":12,"records":0,"attributes":{"k":"v","k2":""},"unattributed":true} `,
	`{"event_id":"e1","time":"2026-03-02T10:00:00Z","source":"mcp","agent_id":"a","action":"t","system":"h","outcome":"success","delegation_chain":[],"attributes":{}}`,
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

func sameDecode(t *testing.T, in []byte) {
	t.Helper()
	got, gerr := DecodeEvent(in)
	want, werr := standardDecode(in)
	if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
		t.Fatalf("%s\n error %v, want %v", in, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s\n got  %+v\n want %+v", in, got, want)
	}
}

func TestDecodeEventMatchesStandardDecoder(t *testing.T) {
	for _, in := range decodeCorpus {
		sameDecode(t, []byte(in))
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
	if !FastUnmarshalEvent(b, &got) {
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
