package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/pipeline"
	"github.com/agentwatch/agentwatch/posture"
)

func init() {
	register("posture", "standing-risk report: posture [--agent A] [--owner O] [--format table|json|csv|sarif] [--fail-on SEVERITY]", runPosture)
}

// errFindings is returned when --fail-on found something: the command
// exits 2, so a CI job can tell "findings" (2) from "could not run" (1).
type errFindings struct {
	n   int
	sev string
}

func (e *errFindings) Error() string {
	return fmt.Sprintf("posture: %d findings at or above %s", e.n, e.sev)
}

func (e *errFindings) ExitCode() int { return 2 }

func runPosture(ctx context.Context, env *cliEnv, args []string) error {
	var cf configFlags
	var agent, owner, format, failOn, days string
	var save bool
	fs := newFlagSet("posture", "posture [--agent A] [--owner O] [--format table|json|csv|sarif] [--fail-on SEVERITY] [flags]", env)
	cf.add(fs)
	fs.StringVar(&agent, "agent", "", "only findings about this agent")
	fs.StringVar(&owner, "owner", "", "only findings of this owner")
	fs.StringVarP(&format, "format", "f", "table", "output: "+strings.Join(posture.Formats, ", ")+" (SARIF 2.1.0)")
	fs.StringVar(&failOn, "fail-on", "", "exit 2 when a finding at or above this severity exists: info, low, medium, high, critical")
	fs.StringVar(&days, "days", "", "least-privilege look-back, e.g. 30d (overrides posture.unused_after)")
	fs.BoolVar(&save, "save", false, "record the findings in the store (posture_findings view) as `agentwatch run` does")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("posture: unexpected argument %q", fs.Arg(0))
	}
	okFormat := false
	for _, f := range posture.Formats {
		okFormat = okFormat || f == format
	}
	if !okFormat {
		return fmt.Errorf("posture: --format %q is not one of %s", format, strings.Join(posture.Formats, ", "))
	}
	var minSev string
	if failOn != "" {
		s, err := posture.ParseSeverity(failOn)
		if err != nil {
			return fmt.Errorf("posture: --fail-on: %w", err)
		}
		minSev = string(s)
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
	var r *posture.Report
	if save {
		st, err := pipeline.OpenStore(ctx, cfg, nil)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.Migrate(ctx); err != nil {
			return err
		}
		if r, err = ev.Evaluate(ctx, posture.Input{Store: st, Inventory: inv, Failed: failed, Now: time.Now(), DormantAfter: cfg.Detect.DormantAfter}); err != nil {
			return err
		}
		if _, err := posture.Save(ctx, st, r); err != nil {
			return err
		}
	} else {
		st, err := pipeline.OpenStoreReadOnly(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		if r, err = ev.Evaluate(ctx, posture.Input{Store: st, Inventory: inv, Failed: failed, Now: time.Now(), DormantAfter: cfg.Detect.DormantAfter}); err != nil {
			return err
		}
	}
	r.Filter(agent, owner)
	if err := r.Write(env.stdout, format, posture.WriteOptions{InventoryPath: cfg.Inventory, Inventory: inv}); err != nil {
		return err
	}
	if minSev != "" {
		if n := r.AtLeast(posture.Severity(minSev)); n > 0 {
			return &errFindings{n: n, sev: minSev}
		}
	}
	return nil
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
