package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/agentwatch/agentwatch/internal/config"
	"github.com/agentwatch/agentwatch/pipeline"
)

func init() {
	register("run", "run every stage in one process (embedded by default)", func(ctx context.Context, env *cliEnv, args []string) error {
		return runStages(ctx, env, "run", args, pipeline.AllStages)
	})
	register("config", "config print: show the effective configuration, secrets redacted", runConfig)
	register("migrate", "apply pending store migrations and exit", runMigrate)
	register("detect", "run the detect stage (events topic → alerts topic)", func(ctx context.Context, env *cliEnv, args []string) error {
		return runStages(ctx, env, "detect", args, []string{pipeline.StageDetect})
	})
}

// runStages is `agentwatch run` and the single-stage commands.
func runStages(ctx context.Context, env *cliEnv, name string, args []string, stages []string) error {
	var cf configFlags
	var dryRun bool
	fs := newFlagSet(name, name+" [flags]", env)
	cf.add(fs)
	detects := slices.Contains(stages, pipeline.StageDetect)
	if detects {
		fs.BoolVar(&dryRun, "dry-run", false, "shadow mode (detect.dry_run): alerts are recorded, nobody is notified; "+
			"the playground report is kept in DATA_DIR/"+dryRunReport+" and printed at exit")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0))
	}
	if dryRun {
		cf.sets = append(cf.sets, "detect.dry_run=true")
	}
	cfg, err := cf.load(env)
	if err != nil {
		return err
	}
	a, err := pipeline.Open(ctx, cfg, pipeline.Options{Log: pipeline.NewLogger(cfg.Log, env.stderr), Console: env.stdout})
	if err != nil {
		return err
	}
	defer a.Close()
	var consoleDone <-chan error
	if name == "run" && cfg.Console.Listen != "" {
		cctx, stopConsole := context.WithCancel(ctx)
		defer stopConsole()
		if _, consoleDone, err = startConsole(cctx, cfg.Console, appConsoleDeps(a, a.Log), env.stdout); err != nil {
			return err
		}
		defer func() { stopConsole(); <-consoleDone }()
	}
	var hooks pipeline.Hooks
	var report *dryRunReporter
	if detects && cfg.Detect.DryRun {
		report = newDryRunReporter(a.Inventory, filepath.Join(cfg.DataDir, dryRunReport), time.Now().UTC())
		hooks.DetectObserver = report.checker
		rctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); report.keep(rctx, time.Minute, a.Log) }()
		defer func() { stop(); <-done }()
		a.Log.Info("dry run: alerts are recorded, nobody is notified", "report", report.path)
	}
	err = a.RunStages(ctx, stages, hooks)
	a.Log.Info("agentwatch stopped", "stages", stages, "err", err)
	if report != nil {
		if werr := report.write(); werr != nil {
			a.Log.Error("write the dry-run report", "path", report.path, "err", werr)
		}
		if perr := report.print(env.stdout); perr != nil {
			err = errors.Join(err, perr)
		}
	}
	return err
}

func runConfig(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "print" {
		return fmt.Errorf("config: want 'config print'")
	}
	var cf configFlags
	fs := newFlagSet("config print", "config print [flags]", env)
	cf.add(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := cf.load(env)
	if err != nil {
		return err
	}
	out, err := config.Print(cfg)
	if err != nil {
		return fmt.Errorf("config print: %w", err)
	}
	_, err = env.stdout.Write(out)
	return err
}

func runMigrate(ctx context.Context, env *cliEnv, args []string) error {
	var cf configFlags
	fs := newFlagSet("migrate", "migrate [flags]", env)
	cf.add(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := cf.load(env)
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
	fmt.Fprintf(env.stdout, "%s store is at the latest schema version\n", st.Backend())
	return nil
}
