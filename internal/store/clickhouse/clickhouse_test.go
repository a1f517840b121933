package clickhouse

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/internal/store/storetest"
	"github.com/agentwatch/agentwatch/schemas"
)

var dbSeq atomic.Int64

// testConfig returns a config for a fresh database on the server named by
// AGENTWATCH_TEST_CLICKHOUSE, or skips.
func testConfig(t testing.TB) Config {
	t.Helper()
	addr := os.Getenv("AGENTWATCH_TEST_CLICKHOUSE")
	if addr == "" {
		t.Skip("AGENTWATCH_TEST_CLICKHOUSE is not set (native address, e.g. 127.0.0.1:9000)")
	}
	cfg := DefaultConfig()
	cfg.Addr = []string{addr}
	cfg.Database = fmt.Sprintf("aw_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6, dbSeq.Add(1))
	cfg.FlushInterval = 20 * time.Millisecond
	t.Cleanup(func() { dropDatabase(t, cfg) })
	return cfg
}

func dropDatabase(t testing.TB, cfg Config) {
	conn, err := ch.Open(options2(cfg, "", "default"))
	if err != nil {
		t.Errorf("drop test database: %v", err)
		return
	}
	defer conn.Close()
	if err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+cfg.Database); err != nil {
		t.Errorf("drop test database %s: %v", cfg.Database, err)
	}
}

func openTest(t testing.TB, cfg Config, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), cfg, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	testConfig(t) // skip early when there is no server
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t, testConfig(t)) })
}

// TestRedeliveryBeforeMerge checks the documented promise on the raw
// table: duplicates exist physically until a merge, and the reads still
// return one row each.
func TestRedeliveryBeforeMerge(t *testing.T) {
	cfg := testConfig(t)
	s := openTest(t, cfg)
	defer s.Close()
	ctx := context.Background()
	ev := storetest.Event("e1", "agent-a", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	for i := 0; i < 3; i++ {
		if err := s.InsertEvents(ctx, []schemas.AgentEvent{ev}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.Query(ctx, "SELECT count() AS rows, uniqExact(event_id) AS events FROM events")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Rows); got != "[[3 1]]" {
		t.Errorf("rows, distinct events = %s, want [[3 1]] (three parts, one event)", got)
	}
}

func TestQueryReadOnlySetting(t *testing.T) {
	cfg := testConfig(t)
	s := openTest(t, cfg)
	defer s.Close()
	_, err := s.Query(context.Background(), "CREATE TABLE x (a UInt8) ENGINE = Memory")
	if err == nil || !strings.Contains(err.Error(), "readonly") && !strings.Contains(strings.ToLower(err.Error()), "read") {
		t.Errorf("CREATE TABLE through Query: %v, want a readonly refusal", err)
	}
	res, err := s.Query(context.Background(), "SELECT toDateTime(0, 'UTC') AS t, CAST(NULL AS Nullable(String)) AS n, [1, 2] AS a")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := store.WriteResult(&b, res, "csv"); err != nil {
		t.Fatal(err)
	}
	if want := "t,n,a\n1970-01-01 00:00:00,,\"[1,2]\"\n"; b.String() != want {
		t.Errorf("csv = %q, want %q", b.String(), want)
	}
}

func TestMetricsAndMigrations(t *testing.T) {
	cfg := testConfig(t)
	reg := prometheus.NewRegistry()
	s := openTest(t, cfg, WithRegisterer(reg))
	ctx := context.Background()
	if err := s.InsertEvents(ctx, []schemas.AgentEvent{storetest.Event("e1", "a", time.Now()), storetest.Event("e2", "a", time.Now())}); err != nil {
		t.Fatal(err)
	}
	if got := counter(t, reg, "agentwatch_store_rows_written_total", "events"); got != 2 {
		t.Errorf("rows written = %v, want 2", got)
	}
	s.Close()
	// A second Open finds the migrations recorded and applies nothing.
	s2 := openTest(t, cfg)
	defer s2.Close()
	res, err := s2.Query(ctx, "SELECT version, name FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	// Every embedded migration is recorded once, whatever their number.
	migs, err := store.LoadMigrations(schemas.SQL, "sql/clickhouse")
	if err != nil {
		t.Fatal(err)
	}
	var want [][]any
	for _, m := range migs {
		want = append(want, []any{uint32(m.Version), m.Name})
	}
	if got := fmt.Sprint(res.Rows); got != fmt.Sprint(want) {
		t.Errorf("schema_migrations = %s, want %v", got, want)
	}
}

// TestMigrationWithAddColumnReruns: a migration that adds columns and was
// interrupted before it was recorded runs again without failing on the
// columns already there (18.16 has no ADD COLUMN IF NOT EXISTS).
func TestMigrationWithAddColumnReruns(t *testing.T) {
	cfg := testConfig(t)
	s := openTest(t, cfg)
	ctx := context.Background()
	migs, err := store.LoadMigrations(schemas.SQL, "sql/clickhouse")
	if err != nil {
		t.Fatal(err)
	}
	var adds []store.Migration
	for _, m := range migs {
		if strings.Contains(strings.Join(m.Statements, "\n"), "ADD COLUMN") {
			adds = append(adds, m)
		}
	}
	if len(adds) == 0 {
		t.Skip("no migration adds a column")
	}
	if err := s.conn.Exec(ctx, "DROP TABLE schema_migrations"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := openTest(t, cfg) // every migration runs again, ADD COLUMN included
	defer s2.Close()
	if err := s2.InsertEvents(ctx, []schemas.AgentEvent{storetest.Event("e1", "agent-a", time.Now())}); err != nil {
		t.Fatal(err)
	}
}

// counter reads one table's value of a counter from the registry.
func counter(t *testing.T, reg *prometheus.Registry, name, table string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "table" && l.GetValue() == table {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("metric %s{table=%q} not registered", name, table)
	return 0
}

// TestDocumentedQueries runs docs/queries.sql on the server (18.16 here),
// before any merge, so redelivered rows are physically present.
func TestDocumentedQueries(t *testing.T) {
	s := openTest(t, testConfig(t))
	defer s.Close()
	storetest.RunDocumentedQueries(t, s, "../../../docs/queries.sql", store.DialectClickHouse)
}

// TestBatchBounds checks both bounds of the event batcher: concurrent
// callers are merged into one batch that is written as soon as it is
// full, and a lone small call is written once the flush interval passes.
func TestBatchBounds(t *testing.T) {
	cfg := testConfig(t)
	cfg.BatchSize = 10
	cfg.FlushInterval = time.Second
	reg := prometheus.NewRegistry()
	s := openTest(t, cfg, WithRegisterer(reg))
	defer s.Close()
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

	start := time.Now()
	errs := make(chan error, cfg.BatchSize)
	for i := 0; i < cfg.BatchSize; i++ {
		go func() {
			errs <- s.InsertEvents(ctx, []schemas.AgentEvent{storetest.Event(fmt.Sprintf("e%d", i), "a", at)})
		}()
	}
	for i := 0; i < cfg.BatchSize; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d >= cfg.FlushInterval {
		t.Errorf("a full batch waited %v, the flush interval; it should be written when full", d)
	}
	if n := histogramCount(t, reg, "agentwatch_store_write_duration_seconds", "events"); n != 1 {
		t.Errorf("%d batch writes for %d concurrent one-row calls, want 1", n, cfg.BatchSize)
	}

	start = time.Now()
	if err := s.InsertEvents(ctx, []schemas.AgentEvent{storetest.Event("lone", "a", at)}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < cfg.FlushInterval {
		t.Errorf("a one-row batch was written after %v, before the %v flush interval", d, cfg.FlushInterval)
	}
	if n := histogramCount(t, reg, "agentwatch_store_write_duration_seconds", "events"); n != 2 {
		t.Errorf("%d batch writes, want 2", n)
	}
}

func histogramCount(t *testing.T, reg *prometheus.Registry, name, table string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "table" && l.GetValue() == table {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	t.Fatalf("metric %s{table=%q} not registered", name, table)
	return 0
}
