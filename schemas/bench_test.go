package schemas

import (
	"testing"
	"time"
)

// BenchmarkValidate guards the zero-allocation path of Validate, which
// runs on every event ingest produces.
func BenchmarkValidate(b *testing.B) {
	ev := AgentEvent{EventID: "e", Time: time.Now(), Source: "s", AgentID: "a", Action: "x", System: "y",
		Outcome: OutcomeSuccess, SrcIP: "10.0.0.1", CredentialType: CredJWT}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := ev.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
