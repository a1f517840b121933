package detect

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/agentwatch/agentwatch/baseline/basetest"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/internal/store/clickhouse"
	"github.com/agentwatch/agentwatch/internal/store/sqlite"
)

// TestPlaygroundCheckOnStores: the replay reads the same events, and so
// reports the same incidents and suggestion, from SQLite and ClickHouse as
// from memory (ClickHouse when AGENTWATCH_TEST_CLICKHOUSE is set).
func TestPlaygroundCheckOnStores(t *testing.T) {
	ctx := context.Background()
	inv, err := inventory.Parse("agents.yaml", []byte(checkInv))
	if err != nil {
		t.Fatal(err)
	}
	mem := basetest.New()
	from, to := checkTraffic(t, mem, true)
	want, err := Check(ctx, mem, DefaultConfig(), inv, CheckOptions{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	stores := map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "aw.db"))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			return s
		},
		"clickhouse": func(t *testing.T) store.Store {
			addr := os.Getenv("AGENTWATCH_TEST_CLICKHOUSE")
			if addr == "" {
				t.Skip("AGENTWATCH_TEST_CLICKHOUSE is not set (native address, e.g. 127.0.0.1:9000)")
			}
			cfg := clickhouse.DefaultConfig()
			cfg.Addr, cfg.Database = []string{addr}, fmt.Sprintf("aw_test_check_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
			t.Cleanup(func() {
				conn, err := ch.Open(&ch.Options{Addr: cfg.Addr})
				if err == nil {
					_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+cfg.Database)
					conn.Close()
				}
			})
			s, err := clickhouse.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			defer st.Close()
			checkTraffic(t, st, true)
			got, err := Check(ctx, st, DefaultConfig(), inv, CheckOptions{From: from, To: to})
			if err != nil {
				t.Fatal(err)
			}
			if g, w := summarize(got), summarize(want); !reflect.DeepEqual(g, w) {
				t.Fatalf("%s: rows %v, want %v", name, g, w)
			}
			if g, w := RenderSuggestions(got.Suggestions()), RenderSuggestions(want.Suggestions()); g != w {
				t.Fatalf("%s: suggestion\n%s\nwant\n%s", name, g, w)
			}
		})
	}
}

func summarize(c *Checker) []string {
	var out []string
	for _, r := range c.Rows() {
		out = append(out, fmt.Sprintf("%s %s %d %d %s", r.Agent, r.Detector, r.Incidents, r.Events, r.resources.top(3)))
	}
	return append(out, fmt.Sprint(c.Events()))
}
