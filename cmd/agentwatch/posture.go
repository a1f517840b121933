package main

import (
	"context"
	"fmt"
	"github.com/agentwatch/agentwatch/schemas"
	"slices"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/pipeline"
	"github.com/agentwatch/agentwatch/posture"
)

func init() {
	register("posture", "standing-risk report: posture [--agent A] [--owner O] [--format table|json|csv|sarif] [--fail-on SEVERITY] [--at TIME|latest]", runPosture)
}

// errFindings is returned when --fail-on found something: the command
// exits 2, so a CI job can tell "findings" (2) from "could not run" (1).
type errFindings struct {
	n   int
	sev schemas.Severity
}

func (e *errFindings) Error() string {
	return fmt.Sprintf("posture: %d findings at or above %s", e.n, e.sev)
}

func (e *errFindings) ExitCode() int { return 2 }

func runPosture(ctx context.Context, env *cliEnv, args []string) error {
	var cf configFlags
	var agent, owner, format, failOn, days, at string
	var save bool
	fs := newFlagSet("posture", "posture [--agent A] [--owner O] [--format table|json|csv|sarif] [--fail-on SEVERITY] [--at TIME|latest] [flags]", env)
	cf.add(fs)
	fs.StringVar(&agent, "agent", "", "only findings about this agent")
	fs.StringVar(&owner, "owner", "", "only findings of this owner")
	fs.StringVarP(&format, "format", "f", "table", "output: "+strings.Join(posture.Formats, ", ")+" (SARIF 2.1.0)")
	fs.StringVar(&failOn, "fail-on", "", "exit 2 when a finding at or above this severity exists: info, low, medium, high, critical")
	fs.StringVar(&days, "days", "", "least-privilege look-back, e.g. 30d (overrides posture.unused_after)")
	fs.StringVar(&at, "at", "", "evaluate as of this moment, RFC 3339 or YYYY-MM-DD (its end), or latest (the newest stored event): for replayed history and the demo (default: now)")
	fs.BoolVar(&save, "save", false, "record the findings in the store (posture_findings view) as `agentwatch run` does")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("posture: unexpected argument %q", fs.Arg(0))
	}
	// Checked before the evaluation, which reads the whole look-back window.
	if !slices.Contains(posture.Formats, format) {
		return fmt.Errorf("posture: --format %q is not one of %s", format, strings.Join(posture.Formats, ", "))
	}
	var minSev schemas.Severity
	if failOn != "" {
		var err error
		if minSev, err = posture.ParseSeverity(failOn); err != nil {
			return fmt.Errorf("posture: --fail-on: %w", err)
		}
	}
	cfg, err := cf.load(env)
	if err != nil {
		return err
	}
	if days != "" {
		d, err := parseDays(days)
		if err != nil {
			return fmt.Errorf("posture: --days: %w", err)
		}
		cfg.Posture.UnusedAfter = d
	}
	inv, err := loadInventory(cfg)
	if err != nil {
		return err
	}
	ev, err := posture.NewEvaluator(cfg.Posture)
	if err != nil {
		return err
	}
	failed, err := posture.LoadFailed(ctx, cfg.Alerts.OutboxPath)
	if err != nil {
		return err
	}
	var st store.Store
	if save {
		rw, err := pipeline.OpenStore(ctx, cfg, nil)
		if err != nil {
			return err
		}
		defer rw.Close()
		if err := rw.Migrate(ctx); err != nil {
			return err
		}
		st = rw
	} else {
		ro, err := pipeline.OpenStoreReadOnly(ctx, cfg)
		if err != nil {
			return err
		}
		defer ro.Close()
		st = ro
	}
	now, err := postureAt(ctx, st, at, time.Now())
	if err != nil {
		return err
	}
	r, err := ev.Evaluate(ctx, posture.Input{Store: st, Inventory: inv, Failed: failed, Now: now, DormantAfter: cfg.Detect.DormantAfter})
	if err != nil {
		return err
	}
	if save {
		if _, err := posture.Save(ctx, st, r); err != nil {
			return err
		}
	}
	r.Filter(agent, owner)
	if err := r.Write(env.stdout, format, posture.WriteOptions{InventoryPath: cfg.Inventory, Inventory: inv}); err != nil {
		return err
	}
	if minSev != "" {
		if n := r.AtLeast(minSev); n > 0 {
			return &errFindings{n: n, sev: minSev}
		}
	}
	return nil
}

// postureAt is the moment the report is made as of: now by default, a
// given time (a date is its end, as playground check's --until), or the
// newest stored event, so that replayed history or the demo's simulated
// weeks are judged as of their own time rather than the wall clock's.
func postureAt(ctx context.Context, st store.Store, at string, now time.Time) (time.Time, error) {
	switch at {
	case "":
		return now, nil
	case "latest":
		last := latestEvent(ctx, st)
		if last.Unix() <= 0 {
			return time.Time{}, fmt.Errorf("posture: --at latest: the store holds no events")
		}
		// Just after the newest event, so that it is inside the window.
		return last.Truncate(time.Second).Add(time.Second), nil
	}
	t, err := parseUntil(at)
	if err != nil {
		return time.Time{}, fmt.Errorf("posture: --at: %w (or latest)", err)
	}
	return t, nil
}

// parseDays reads "30d", "12h" or a bare number of days.
func parseDays(s string) (time.Duration, error) {
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err == nil && fmt.Sprint(n) == s {
		s += "d"
	}
	if strings.HasSuffix(s, "d") {
		if _, err := fmt.Sscanf(s, "%dd", &n); err != nil || n < 1 || fmt.Sprintf("%dd", n) != s {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}
