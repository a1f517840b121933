package console

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/internal/store/sqlite"
	"github.com/agentwatch/agentwatch/pipeline"
	"github.com/agentwatch/agentwatch/schemas"
)

// The console's pages on the embedded store at the size the issue names:
// 1,000 agents and 30 days of events (2 per agent-hour: 1.44 million
// events, 720,000 windows), 10 features of baseline each, a learned
// playground, 3,000 incidents. Building the store takes a few minutes, so
// it is kept in AGENTWATCH_BENCH_DB (default: a file in the temporary
// directory) and reused by later runs.
//
//	go test ./console -run '^$' -bench Page -benchtime 20x
const (
	benchAgents  = 1000
	benchDays    = 30
	benchPerHour = 2
	benchVersion = "v3" // v2 stores predate the alerts' incident columns
)

var benchStart = time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC) // a Monday

func benchDB(b *testing.B) string {
	b.Helper()
	path := os.Getenv("AGENTWATCH_BENCH_DB")
	if path == "" {
		path = filepath.Join(os.TempDir(), "agentwatch-console-bench-"+benchVersion+".db")
	}
	if _, err := os.Stat(path); err == nil {
		return path
	}
	b.Logf("building the benchmark store %s (1,000 agents, 30 days); this takes a few minutes once", path)
	tmp := path + ".building"
	os.Remove(tmp)
	if err := buildBenchStore(tmp); err != nil {
		b.Fatal(err)
	}
	// Fold the write-ahead log into the file, so that renaming the file
	// alone moves everything.
	db, err := sql.Open("sqlite", "file:"+tmp)
	if err == nil {
		_, err = db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		db.Close()
	}
	if err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return path
}

func benchAgentID(i int) string { return fmt.Sprintf("agent-%04d", i) }

func buildBenchStore(path string) error {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer st.Close()
	r := rand.New(rand.NewPCG(1, 2))
	end := benchStart.Add(benchDays * 24 * time.Hour)
	var agents []schemas.AgentRow
	for i := range benchAgents {
		owner := fmt.Sprintf("team-%02d", i%40)
		if i%97 == 0 {
			owner = ""
		}
		agents = append(agents, schemas.AgentRow{AgentID: benchAgentID(i), Kind: fmt.Sprintf("kind-%d", i%8), Owner: owner,
			Status: "active", UpdatedAt: end})
	}
	if err := st.UpsertAgents(ctx, agents); err != nil {
		return err
	}
	// Events hour by hour for all agents, so inserts come in time order
	// as the pipeline's would.
	batch := make([]schemas.AgentEvent, 0, 20000)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := st.InsertEvents(ctx, batch)
		batch = batch[:0]
		return err
	}
	n := 0
	for h := 0; h < benchDays*24; h++ {
		at := benchStart.Add(time.Duration(h) * time.Hour)
		for i := range benchAgents {
			for k := range benchPerHour {
				n++
				batch = append(batch, schemas.AgentEvent{EventID: fmt.Sprintf("e%09d", n), Time: at.Add(time.Duration(k*1800+r.IntN(1700)) * time.Second),
					Source: "cloudtrail", AgentID: benchAgentID(i), AgentInstance: fmt.Sprintf("pod-%d", r.IntN(3)),
					Principal: "role/" + benchAgentID(i), CredentialID: fmt.Sprintf("ASIA%04d%03d", i, h/24), CredentialType: schemas.CredSTSSession,
					OnBehalfOf: fmt.Sprintf("user-%d", r.IntN(50)), Action: fmt.Sprintf("s3:Action%d", r.IntN(6)), System: "aws:s3",
					Resource: fmt.Sprintf("arn:aws:s3:::bucket-%d/key-%d", i%20, r.IntN(1000)), Outcome: schemas.OutcomeSuccess, SrcIP: "10.0.0.1"})
			}
		}
		if len(batch) >= 16000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	var wins []schemas.WindowRow
	var bases []schemas.BaselineRow
	var play []schemas.PlaygroundRow
	seasonal := make([]float64, 168)
	for h := range seasonal {
		seasonal[h] = benchPerHour
	}
	for i := range benchAgents {
		id := benchAgentID(i)
		for h := 0; h < benchDays*24; h++ {
			ws := benchStart.Add(time.Duration(h) * time.Hour)
			wins = append(wins, schemas.WindowRow{AgentID: id, WindowStart: ws, WindowEnd: ws.Add(time.Hour), HourOfWeek: h % 168,
				Events: benchPerHour, DistinctActions: 2, DistinctResources: 2, DistinctSystems: 1, DistinctNetworks: 1, UpdatedAt: ws.Add(time.Hour)})
		}
		for _, f := range []string{"events", "distinct_actions", "distinct_resources", "distinct_systems", "distinct_networks", "failures", "denials", "bytes", "records", "distinct_delegators"} {
			bases = append(bases, schemas.BaselineRow{AgentID: id, Feature: f, Samples: benchDays * 24, Median: 2, MAD: 1, P50: 2, P95: 3, P99: 4,
				Seasonality: "hour_of_week", Seasonal: seasonal, Mature: true, FirstWindow: benchStart, LastWindow: end.Add(-time.Hour), Version: 1, UpdatedAt: end})
		}
		for a := range 6 {
			play = append(play, schemas.PlaygroundRow{AgentID: id, Kind: schemas.PlayTriple, System: "aws:s3", Action: fmt.Sprintf("s3:Action%d", a),
				ResourcePattern: fmt.Sprintf("arn:aws:s3:::bucket-%d/*", i%20), Count: 2000, FirstSeen: benchStart, LastSeen: end, Version: 1})
		}
		for u := range 20 {
			play = append(play, schemas.PlaygroundRow{AgentID: id, Kind: schemas.PlayDelegator, Value: fmt.Sprintf("user-%d", u), Count: 100, FirstSeen: benchStart, LastSeen: end, Version: 1})
		}
		if len(wins) >= 50000 {
			if err := st.InsertWindows(ctx, wins); err != nil {
				return err
			}
			wins = wins[:0]
		}
	}
	if err := st.InsertWindows(ctx, wins); err != nil {
		return err
	}
	if err := st.InsertBaselines(ctx, bases); err != nil {
		return err
	}
	if err := st.InsertPlayground(ctx, play); err != nil {
		return err
	}
	var als []schemas.Alert
	for k := range 3000 {
		i := k % benchAgents
		at := benchStart.Add(time.Duration(r.IntN(benchDays*24)) * time.Hour)
		status := schemas.StatusResolved
		if k%10 == 0 {
			status = schemas.StatusFiring
		}
		als = append(als, schemas.Alert{ID: fmt.Sprintf("inc-%05d", k), DedupKey: fmt.Sprintf("%s|playground.first_action|s3:Rare%d", benchAgentID(i), k),
			Detector: "playground.first_action", Severity: schemas.Severities[k%5], Score: 50, Boundary: schemas.BoundaryLearned,
			Identity: schemas.Identity{AgentID: benchAgentID(i), AgentInstance: "pod-1"}, Subject: fmt.Sprintf("s3:Rare%d", k),
			Summary: "performed a rare action", FirstSeen: at, LastSeen: at, Count: 1, EventIDs: []string{fmt.Sprintf("e%09d", 1+i*benchPerHour)}, Status: status})
	}
	return st.UpsertAlerts(ctx, als)
}

var benchOnce struct {
	sync.Once
	st store.Store
}

var benchServers sync.Map // inventory YAML → *Server

// benchServer serves the benchmark store with the inventory in invYAML
// (none when empty).
func benchServer(b *testing.B, invYAML string) *Server {
	b.Helper()
	benchOnce.Do(func() {
		st, err := sqlite.OpenReadOnly(benchDB(b))
		if err != nil {
			b.Fatal(err)
		}
		benchOnce.st = st
	})
	if benchOnce.st == nil {
		b.Fatal("benchmark store unavailable")
	}
	if s, ok := benchServers.Load(invYAML); ok {
		return s.(*Server)
	}
	inv := inventory.Empty()
	if invYAML != "" {
		var err error
		if inv, err = inventory.Parse("bench.yaml", []byte(invYAML)); err != nil {
			b.Fatal(err)
		}
	}
	s, err := New(pipeline.ConsoleConfig{Listen: "127.0.0.1:0"}, Deps{Store: benchOnce.st, Inventory: inv,
		Now: func() time.Time { return benchStart.Add(benchDays * 24 * time.Hour) }})
	if err != nil {
		b.Fatal(err)
	}
	benchServers.Store(invYAML, s)
	return s
}

// benchInventory declares agent-0500's playground in full: statements
// over its six learned actions (one used only outside its statement's
// bucket), delegators, networks, clients, calendar hours and credentials,
// so the agent page judges every learned habit against it.
const benchInventory = `agents:
  - id: agent-0500
    owner: team-20
    kind: kind-4
    playground:
      systems: [aws:s3]
      statements:
        - sid: Read
          actions: ["s3:Action0", "s3:Action1", "s3:Action2"]
          resources: ["arn:aws:s3:::bucket-0/*", "arn:aws:s3:::bucket-0"]
        - sid: Write
          actions: ["s3:Action3", "s3:Action4"]
          resources: ["arn:aws:s3:::bucket-1/*"]
        - sid: Admin
          actions: ["s3:Action5", "s3:Put*"]
          resources: ["arn:aws:s3:::bucket-*/admin/*"]
      delegators: ["user-1*", "user-2"]
      networks: [10.0.0.0/16, 192.0.2.0/24]
      clients: [boto3, aws-cli]
      hours: ["Mon-Fri 06:00-20:00", "1st 04:00-05:00"]
      credentials:
        allowed_types: [sts_session]
        max_age: 12h
        rotate_every: 90d
`

func benchPage(b *testing.B, path string) { benchPageWith(b, "", path) }

func benchPageWith(b *testing.B, invYAML, path string) {
	s := benchServer(b, invYAML)
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		start := time.Now()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		total += time.Since(start)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s = %d: %.300s", path, rec.Code, rec.Body.String())
		}
		if i == 0 {
			b.ReportMetric(float64(rec.Body.Len())/1024, "KiB/page")
		}
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/page")
}

func BenchmarkFleetPage(b *testing.B) { benchPage(b, "/") }
func BenchmarkAgentPage(b *testing.B) { benchPage(b, "/agents/agent-0500") }

// BenchmarkAgentPageDeclared is the agent page with its playground
// declared, judged habit by habit.
func BenchmarkAgentPageDeclared(b *testing.B) {
	benchPageWith(b, benchInventory, "/agents/agent-0500")
}
func BenchmarkIncidentPage(b *testing.B) { benchPage(b, "/incidents/inc-00500") }
func BenchmarkSearchPage(b *testing.B) {
	benchPage(b, "/search?on_behalf_of=user-7&from=2026-02-20T00:00&to=2026-02-21T00:00")
}
func BenchmarkSearchAgentPage(b *testing.B) {
	benchPage(b, "/search?agent=agent-0123&instance=pod-1")
}
