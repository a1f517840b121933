package schemas

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func richEvent() AgentEvent {
	issued := time.Date(2026, 3, 2, 9, 0, 0, 123456789, time.UTC)
	expires := issued.Add(time.Hour)
	return AgentEvent{
		EventID: "ct-1", Time: time.Date(2026, 3, 2, 10, 0, 0, 5000, time.FixedZone("x", 3600)), Source: "cloudtrail",
		AgentID: "bot", AgentInstance: "pod-1", Principal: "arn:aws:sts::1:assumed-role/r/s",
		CredentialID: "ASIA123", CredentialType: CredSTSSession, CredentialIssuedAt: &issued, CredentialExpiresAt: &expires,
		OnBehalfOf: "customer:<7> & \"co\"", DelegationChain: []string{"a", "b\\c"},
		Action: "s3:GetObject", System: "aws:s3", Resource: "arn:aws:s3:::b/k\n\t\x01é\u2028\xff", ResourceType: "object",
		Outcome: OutcomeDenied, ErrorCode: "AccessDenied", SrcIP: "10.0.0.1", UserAgent: "aws-cli/2",
		Bytes: 12, Records: -3, Attributes: map[string]string{"z": "1", "a": "2", "m<": ">"}, Unattributed: true, PrincipalKind: "human",
	}
}

func TestAppendEventJSONMatchesMarshal(t *testing.T) {
	for _, ev := range []AgentEvent{richEvent(), {}, {EventID: "x", Time: time.Unix(0, 0).UTC()}} {
		want, err := json.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendEventJSON(nil, &ev); !bytes.Equal(got, want) {
			t.Errorf("AppendEventJSON:\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzAppendEventJSON(f *testing.F) {
	f.Add("id", "bot", "s3:Get<Object>", "res\x00\xff", "k", "v", int64(5), int64(1_700_000_000))
	f.Fuzz(func(t *testing.T, id, agent, action, res, k, v string, n, sec int64) {
		ev := AgentEvent{EventID: id, AgentID: agent, Action: action, Resource: res, Bytes: n,
			Time: time.Unix(sec%253402300799, n%1e9).UTC(), Attributes: map[string]string{k: v}}
		want, err := json.Marshal(&ev)
		if err != nil {
			return // encoding/json refuses too (e.g. a year it cannot write)
		}
		if got := AppendEventJSON(nil, &ev); !bytes.Equal(got, want) {
			t.Fatalf("got %s\nwant %s", got, want)
		}
	})
}

func BenchmarkAppendEventJSON(b *testing.B) {
	ev := richEvent()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = AppendEventJSON(buf[:0], &ev)
	}
}
