package clickhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/internal/store/storetest"
	"github.com/agentwatch/agentwatch/schemas"
)

// benchRows is how many events each side loads per iteration.
const benchRows = 200_000

// BenchmarkInsertVsClient loads the same events through the Go batch
// writer and through `clickhouse-client --query "INSERT ... FORMAT
// JSONEachRow"` in one run and reports rows/s of each and their ratio
// (target: go/client >= 0.8). The client's JSON is prepared before its
// clock starts; the Go side's clock includes encoding the rows.
//
//	AGENTWATCH_TEST_CLICKHOUSE=127.0.0.1:9000 go test -run '^$' -bench InsertVsClient -benchtime 3x ./internal/store/clickhouse/
func BenchmarkInsertVsClient(b *testing.B) {
	cfg := testConfig(b)
	cfg.BatchSize = 100_000
	if c := os.Getenv("AGENTWATCH_BENCH_COMPRESSION"); c != "" {
		cfg.Compression = c
	}
	s := openTest(b, cfg)
	defer s.Close()
	ctx := context.Background()
	if err := s.conn.Exec(ctx, "CREATE TABLE events_client AS events"); err != nil {
		b.Fatal(err)
	}
	host, port, _ := strings.Cut(cfg.Addr[0], ":")
	var goTotal, clientTotal time.Duration
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		evs := benchEvents(it)
		payload := jsonEachRow(b, evs)
		// Collect the garbage of preparing the rows before either clock
		// starts, so that neither side pays for it.
		runtime.GC()
		goSide := func() {
			start := time.Now()
			if err := s.InsertEvents(ctx, evs); err != nil {
				b.Fatal(err)
			}
			goTotal += time.Since(start)
		}
		clientSide := func() {
			cmd := exec.Command("clickhouse-client", "--host", host, "--port", port, "--database", cfg.Database,
				"--query", "INSERT INTO events_client ("+eventColumns+") FORMAT JSONEachRow")
			cmd.Stdin = bytes.NewReader(payload)
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("clickhouse-client: %v\n%s", err, out)
			}
			clientTotal += time.Since(start)
		}
		// Alternate who goes first: the server merges the parts of one
		// load in the background while the other runs, and the machine
		// is shared, so a fixed order would favour one side.
		if it%2 == 0 {
			goSide()
			clientSide()
		} else {
			clientSide()
			goSide()
		}
	}
	b.StopTimer()
	rows := float64(benchRows * b.N)
	goRate, clientRate := rows/goTotal.Seconds(), rows/clientTotal.Seconds()
	b.ReportMetric(goRate, "go_rows/s")
	b.ReportMetric(clientRate, "client_rows/s")
	b.ReportMetric(goRate/clientRate, "go/client")
	res, err := s.Query(ctx, "SELECT (SELECT count() FROM events), (SELECT count() FROM events_client)")
	if err != nil {
		b.Fatal(err)
	}
	if got := fmt.Sprint(res.Rows); got != fmt.Sprintf("[[%d %d]]", benchRows*b.N, benchRows*b.N) {
		b.Fatalf("rows loaded (go, client) = %s, want %d each", got, benchRows*b.N)
	}
}

const eventColumns = `event_id, time, time_nanos, source, agent_id, agent_instance, principal, credential_id,
	credential_type, credential_issued_at, credential_expires_at, on_behalf_of, delegation_chain, action,
	system, resource, resource_type, outcome, error_code, src_ip, src_network, user_agent, bytes, records,
	attributes, unattributed`

func benchEvents(iteration int) []schemas.AgentEvent {
	base := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	evs := make([]schemas.AgentEvent, benchRows)
	for i := range evs {
		evs[i] = storetest.Event(fmt.Sprintf("it%d-%07d", iteration, i), fmt.Sprintf("agent-%03d", i%200),
			base.Add(time.Duration(i)*time.Millisecond*7))
		evs[i].Resource = fmt.Sprintf("arn:aws:s3:::bucket/key-%d", i%5000)
	}
	return evs
}

// jsonEachRow renders the rows exactly as the Go writer stores them.
func jsonEachRow(b *testing.B, evs []schemas.AgentEvent) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	opt := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return store.FormatTime(*t)
	}
	for i := range evs {
		ev := &evs[i]
		attrs, _ := store.EncodeJSON(ev.Attributes, "{}")
		row := map[string]any{
			"event_id": ev.EventID, "time": store.FormatTime(ev.Time), "time_nanos": ev.Time.Nanosecond(),
			"source": ev.Source, "agent_id": ev.AgentID, "agent_instance": ev.AgentInstance, "principal": ev.Principal,
			"credential_id": ev.CredentialID, "credential_type": ev.CredentialType,
			"credential_issued_at": opt(ev.CredentialIssuedAt), "credential_expires_at": opt(ev.CredentialExpiresAt),
			"on_behalf_of": ev.OnBehalfOf, "delegation_chain": nonNil(ev.DelegationChain), "action": ev.Action,
			"system": ev.System, "resource": ev.Resource, "resource_type": ev.ResourceType, "outcome": ev.Outcome,
			"error_code": ev.ErrorCode, "src_ip": ev.SrcIP, "src_network": ev.Network(), "user_agent": ev.UserAgent,
			"bytes": ev.Bytes, "records": ev.Records, "attributes": attrs, "unattributed": u8(ev.Unattributed),
		}
		if err := enc.Encode(row); err != nil {
			b.Fatal(err)
		}
	}
	return buf.Bytes()
}
