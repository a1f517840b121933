package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agentwatch/agentwatch/alerts"
	"github.com/agentwatch/agentwatch/baseline"
	"github.com/agentwatch/agentwatch/detect"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/pipeline"
	"github.com/agentwatch/agentwatch/sim/eval"
)

func init() {
	register("baseline", "run the baseline stage, or: baseline rebuild | baseline show AGENT", runBaseline)
	register("alerts", "run the alerts stage, or: alerts list --failed | alerts retry ID... | alerts test RECEIVER", runAlerts)
	register("silence", "silences: silence add|list|expire", runSilence)
	register("eval", "score the detectors: eval --scenarios DIR | --fleet aws [--out DIR] | --fleet-dir DIR", runEval)
}

func runBaseline(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || (args[0] != "rebuild" && args[0] != "show") {
		return runStages(ctx, env, "baseline", args, []string{pipeline.StageBaseline})
	}
	sub := args[0]
	var cf configFlags
	fs := newFlagSet("baseline "+sub, "baseline "+sub+" [AGENT] [flags]", env)
	cf.add(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := cf.load(env)
	if err != nil {
		return err
	}
	log := pipeline.NewLogger(cfg.Log, env.stderr)
	if sub == "show" {
		if fs.NArg() != 1 {
			return fmt.Errorf("baseline show: want one AGENT argument")
		}
		st, err := pipeline.OpenStoreReadOnly(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		return baseline.Show(ctx, env.stdout, st, fs.Arg(0))
	}
	inv, err := loadInventory(cfg)
	if err != nil {
		return err
	}
	st, err := pipeline.OpenStore(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	return baseline.Rebuild(ctx, cfg.Detect.Baseline, st, inv, log)
}

func loadInventory(cfg pipeline.Config) (*inventory.Inventory, error) {
	if cfg.Inventory == "" {
		return inventory.Empty(), nil
	}
	return inventory.Load(cfg.Inventory)
}

func runAlerts(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "retry" && args[0] != "test") {
		return runStages(ctx, env, "alerts", args, []string{pipeline.StageAlerts})
	}
	sub := args[0]
	var cf configFlags
	var failed bool
	fs := newFlagSet("alerts "+sub, "alerts "+sub+" [flags]", env)
	cf.add(fs)
	if sub == "list" {
		fs.BoolVar(&failed, "failed", false, "list notifications that failed delivery")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := cf.load(env)
	if err != nil {
		return err
	}
	inv, err := loadInventory(cfg)
	if err != nil {
		return err
	}
	d, err := alerts.NewDispatcher(cfg.Alerts, inv, alerts.WithLogger(pipeline.NewLogger(cfg.Log, env.stderr)))
	if err != nil {
		return err
	}
	defer d.Close()
	switch sub {
	case "test":
		if fs.NArg() != 1 {
			return fmt.Errorf("alerts test: want one RECEIVER argument")
		}
		if err := d.SendTest(ctx, fs.Arg(0)); err != nil {
			return fmt.Errorf("alerts test %s: %w", fs.Arg(0), err)
		}
		fmt.Fprintf(env.stdout, "test alert delivered to %s\n", fs.Arg(0))
		return nil
	case "retry":
		ids := make([]int64, 0, fs.NArg())
		for _, s := range fs.Args() {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fmt.Errorf("alerts retry: %q is not a notification id", s)
			}
			ids = append(ids, id)
		}
		if err := d.Retry(ctx, ids...); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "queued %d notifications for delivery\n", len(ids))
		return nil
	default:
		if !failed {
			return fmt.Errorf("alerts list: only --failed is supported; query fired alerts with: agentwatch sql \"SELECT * FROM alerts\"")
		}
		ns, err := d.ListFailed(ctx)
		if err != nil {
			return err
		}
		return writeNotifications(env, ns)
	}
}

func writeNotifications(env *cliEnv, ns []alerts.Notification) error {
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVER\tALERT\tATTEMPTS\tLAST ERROR")
	for _, n := range ns {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", n.ID, n.Receiver, n.Alert.ID, n.Attempts, n.LastError)
	}
	return tw.Flush()
}

func runSilence(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list" && args[0] != "expire") {
		return fmt.Errorf("silence: want 'silence add', 'silence list' or 'silence expire ID'")
	}
	sub := args[0]
	var cf configFlags
	var s alerts.Silence
	var agent, detector string
	var dur time.Duration
	var all bool
	fs := newFlagSet("silence "+sub, "silence "+sub+" [flags]", env)
	cf.add(fs)
	if sub == "add" {
		fs.StringVar(&agent, "agent", "", "agent id the silence covers (same as --match agent=ID)")
		fs.StringVar(&detector, "detector", "", "detector the silence covers, e.g. playground.first_action")
		fs.StringArrayVar(&s.Matchers, "match", nil, "an Alertmanager-style matcher, repeatable: 'owner=team-support', 'severity=~\"low|medium\"'")
		fs.StringVar(&s.Comment, "reason", "", "why (required; kept for audit)")
		fs.StringVar(&s.CreatedBy, "by", "", "who adds it")
		fs.DurationVar(&dur, "for", 24*time.Hour, "how long it lasts")
	}
	if sub == "list" {
		fs.BoolVar(&all, "all", false, "include expired silences")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := cf.load(env)
	if err != nil {
		return err
	}
	sil, err := alerts.OpenSilences(cfg.Alerts.OutboxPath)
	if err != nil {
		return err
	}
	defer sil.Close()
	switch sub {
	case "add":
		if s.Comment == "" {
			return fmt.Errorf("silence add: --reason is required")
		}
		if agent != "" {
			s.Matchers = append(s.Matchers, "agent="+agent)
		}
		if detector != "" {
			s.Matchers = append(s.Matchers, "detector="+detector)
		}
		if len(s.Matchers) == 0 {
			return fmt.Errorf("silence add: give --agent, --detector or --match")
		}
		s.CreatedAt = time.Now().UTC()
		s.StartsAt = s.CreatedAt
		s.EndsAt = time.Now().UTC().Add(dur)
		id, err := sil.Add(ctx, s)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "silence %d added, expires %s\n", id, s.EndsAt.Format(time.RFC3339))
		return nil
	case "expire":
		if fs.NArg() != 1 {
			return fmt.Errorf("silence expire: want one ID")
		}
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			return fmt.Errorf("silence expire: %q is not a silence id", fs.Arg(0))
		}
		return sil.Expire(ctx, id)
	default:
		list, err := sil.List(ctx, all)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tMATCHERS\tENDS\tBY\tREASON")
		for _, x := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", x.ID, strings.Join(x.Matchers, ","), x.EndsAt.Format(time.RFC3339), x.CreatedBy, x.Comment)
		}
		return tw.Flush()
	}
}

func runEval(ctx context.Context, env *cliEnv, args []string) error {
	var cf configFlags
	var dir string
	var ff fleetFlags
	fs := newFlagSet("eval", "eval [--scenarios DIR | --fleet aws [--seed S] [--weeks N] [--scale X] [--out DIR] | --fleet-dir DIR [--stored-alerts]] [flags]", env)
	cf.add(fs)
	fs.StringVar(&dir, "scenarios", "testdata/scenarios", "directory of labelled scenario files")
	fs.StringVar(&ff.fleet, "fleet", "", "generate a realistic fleet and evaluate on it: aws (weeks of CloudTrail from nine agents, people and AWS services, with drift and attacks)")
	fs.StringVar(&ff.dir, "fleet-dir", "", "evaluate on a fleet directory written by --fleet aws --out (its agentwatch.yaml gives attribution and inventory unless --config is set)")
	fs.Int64Var(&ff.seed, "seed", 1, "--fleet: random seed; the same seed gives the same records")
	fs.IntVar(&ff.weeks, "weeks", 4, "--fleet: weeks to generate, the last one the test week (2-12)")
	fs.Float64Var(&ff.scale, "scale", 1, "--fleet: volume factor (1 = about 250,000 records in four weeks)")
	fs.StringVar(&ff.out, "out", "", "--fleet: also write the fleet to this directory (S3 layout, labels, IAM policies, agents.yaml, agentwatch.yaml)")
	fs.BoolVar(&ff.storedAlerts, "stored-alerts", false, "--fleet-dir: score the alerts in the configured store (after agentwatch run on the fleet) instead of running the detector")
	fs.Float64Var(&ff.target, "target", 0.5, "--fleet, --fleet-dir: most false alerts per agent-week the test week may have")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("eval: unexpected argument %q", fs.Arg(0))
	}
	fleetMode := ff.fleet != "" || ff.dir != ""
	switch {
	case ff.fleet != "" && ff.dir != "":
		return fmt.Errorf("eval: give --fleet or --fleet-dir, not both")
	case fleetMode && fs.Changed("scenarios"):
		return fmt.Errorf("eval: --scenarios and --fleet/--fleet-dir evaluate different things; give one")
	case ff.storedAlerts && ff.dir == "":
		return fmt.Errorf("eval: --stored-alerts needs --fleet-dir (the fleet the stored alerts came from)")
	case ff.out != "" && ff.fleet == "":
		return fmt.Errorf("eval: --out needs --fleet aws")
	}
	for _, name := range []string{"seed", "weeks", "scale"} {
		if fs.Changed(name) && ff.fleet == "" {
			return fmt.Errorf("eval: --%s needs --fleet aws", name)
		}
	}
	if fs.Changed("target") && !fleetMode {
		return fmt.Errorf("eval: --target needs --fleet or --fleet-dir")
	}
	if fleetMode {
		return runFleetEval(ctx, env, &cf, ff)
	}
	cfg, err := cf.load(env)
	if err != nil {
		return err
	}
	scen, err := eval.LoadScenarios(dir)
	if err != nil {
		return err
	}
	rep, err := eval.Run(ctx, scen, func(inv *inventory.Inventory) (eval.Detector, error) {
		return detect.NewEngine(cfg.Detect, inv)
	}, env.stdout)
	if err != nil {
		return err
	}
	// A missed attack or a noisy benign scenario fails the command, so
	// eval can gate a change to the detectors.
	return rep.MeetsTargets()
}
