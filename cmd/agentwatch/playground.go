package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/agentwatch/agentwatch/detect"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/pipeline"
)

func init() {
	register("playground", "check declared playgrounds against stored events: playground check [AGENT] [--days N]", runPlayground)
}

// runPlayground is `agentwatch playground check`: it replays the stored
// events of the last days through a fresh engine in dry run and prints
// what it would have raised and the inventory edit that would quiet it.
func runPlayground(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "check" {
		return fmt.Errorf("playground: want 'playground check [AGENT] [--days N]'")
	}
	var cf configFlags
	var days int
	var until string
	fs := newFlagSet("playground check", "playground check [AGENT] [--days N] [--until TIME] [flags]", env)
	cf.add(fs)
	fs.IntVar(&days, "days", 7, "replay the stored events of this many days")
	fs.StringVar(&until, "until", "", "end of the replay, RFC 3339 or YYYY-MM-DD (default: now)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("playground check: want at most one AGENT, got %d arguments", fs.NArg())
	}
	if days < 1 {
		return fmt.Errorf("playground check: --days %d: must be at least 1", days)
	}
	to := time.Now().UTC()
	if until != "" {
		var err error
		if to, err = parseUntil(until); err != nil {
			return fmt.Errorf("playground check: --until: %w", err)
		}
	}
	cfg, err := cf.load(env)
	if err != nil {
		return err
	}
	inv, err := loadInventory(cfg)
	if err != nil {
		return err
	}
	var agents []string
	if fs.NArg() == 1 {
		agents = []string{fs.Arg(0)}
		if inv.Get(agents[0]) == nil {
			fmt.Fprintf(env.stderr, "playground check: %s is not in the inventory: only its learned and identity detectors apply\n", agents[0])
		}
	}
	st, err := pipeline.OpenStoreReadOnly(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	from := to.Add(-time.Duration(days) * 24 * time.Hour)
	c, err := detect.Check(ctx, st, cfg.Detect, inv, detect.CheckOptions{Agents: agents, From: from, To: to})
	if err != nil {
		return err
	}
	scope := "every agent"
	if len(agents) == 1 {
		scope = agents[0]
	}
	title := fmt.Sprintf("playground check: %s, %d days of stored events (%s to %s UTC) replayed on a fresh engine in dry run",
		scope, days, from.Format("2006-01-02 15:04"), to.Format("2006-01-02 15:04"))
	if err := c.WriteReport(env.stdout, title); err != nil {
		return err
	}
	if c.Events() == 0 {
		if last := latestEvent(ctx, st); !last.IsZero() {
			fmt.Fprintf(env.stdout, "(no stored events in that period: the latest stored event is at %s; replay up to it with --until %s)\n",
				last.Format(time.RFC3339), last.Add(time.Second).Format(time.RFC3339))
		} else {
			fmt.Fprintln(env.stdout, "(the store holds no events yet: ship some, or load a file with agentwatch ingest --file)")
		}
	}
	return nil
}

// parseUntil reads RFC 3339 or a date (midnight UTC at its end).
func parseUntil(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-03-09T00:00:00Z) nor a date (2026-03-09)", s)
	}
	return t.Add(24 * time.Hour), nil
}

// latestEvent is the time of the newest stored event, or zero.
func latestEvent(ctx context.Context, st store.Store) time.Time {
	res, err := st.Query(ctx, "SELECT max(time) FROM events")
	if err != nil || len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		return time.Time{}
	}
	switch v := res.Rows[0][0].(type) {
	case time.Time:
		return v.UTC()
	case string:
		t, _ := store.ParseTime(v)
		return t
	}
	t, _ := store.ParseTime(store.Text(res.Rows[0][0]))
	return t
}

// dryRunReport is the report `run --dry-run` keeps in the data directory.
const dryRunReport = "dry-run-report.txt"

// dryRunReporter keeps the live detect stage's playground report on disk
// while a dry run lasts (rewritten every interval, so `cat` shows it at
// any time) and prints it at exit.
type dryRunReporter struct {
	checker *detect.Checker
	path    string
	since   time.Time
}

func newDryRunReporter(inv *inventory.Inventory, path string, since time.Time) *dryRunReporter {
	return &dryRunReporter{checker: detect.NewChecker(inv), path: path, since: since}
}

func (r *dryRunReporter) title() string {
	return fmt.Sprintf("dry-run report: what agentwatch would have raised since %s UTC (nobody was notified)", r.since.Format("2006-01-02 15:04"))
}

// keep rewrites the report every interval until ctx ends.
func (r *dryRunReporter) keep(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.write(); err != nil {
				log.Warn("write the dry-run report; retried at the next interval", "path", r.path, "err", err)
			}
		}
	}
}

// write replaces the report file atomically.
func (r *dryRunReporter) write() error {
	var b bytes.Buffer
	if err := r.checker.WriteReport(&b, r.title()); err != nil {
		return err
	}
	tmp := r.path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write dry-run report: %w", err)
	}
	if err := os.Rename(tmp, r.path); err != nil {
		return fmt.Errorf("write dry-run report: %w", err)
	}
	return nil
}

func (r *dryRunReporter) print(w io.Writer) error {
	fmt.Fprintln(w)
	return r.checker.WriteReport(w, r.title()+"; kept in "+r.path)
}
