package main

import (
	"context"
	"fmt"

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
	fs := newFlagSet(name, name+" [flags]", env)
	cf.add(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0))
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
	err = a.RunStages(ctx, stages, pipeline.Hooks{})
	a.Log.Info("agentwatch stopped", "stages", stages, "err", err)
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
