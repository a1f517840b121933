package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/agentwatch/agentwatch/pipeline"
)

func init() {
	register("demo", "simulate a fleet of AI agents on the embedded pipeline and show the alarms", runDemo)
}

func runDemo(ctx context.Context, env *cliEnv, args []string) error {
	var opt pipeline.DemoOptions
	var keep string
	var verbose bool
	fs := newFlagSet("demo", "demo [--agents N] [--days D] [--seed S] [--speed X]", env)
	fs.IntVar(&opt.Agents, "agents", 1, "agents per kind (five kinds)")
	fs.IntVar(&opt.Days, "days", 14, "days of normal behaviour before the incidents (at least 14)")
	fs.Int64Var(&opt.Seed, "seed", 1, "random seed; the same seed gives the same output")
	fs.Float64Var(&opt.Speed, "speed", 0, "time compression: simulated seconds per real second (0 = as fast as the pipeline goes)")
	fs.StringVar(&keep, "data-dir", "", "keep the demo's SQLite store here (default: a temporary directory, removed at exit)")
	fs.BoolVar(&verbose, "verbose", false, "show the pipeline's logs")
	var serve bool
	var consoleListen string
	fs.BoolVar(&serve, "serve", false, "after the demo, keep the pipeline running and serve the web console on it (Ctrl-C stops)")
	fs.StringVar(&consoleListen, "console-listen", "127.0.0.1:8081", "console address with --serve (port 0 picks a free one)")
	fs.StringVar(&opt.CollectorListen, "http-listen", "", "with --serve, also run the HTTP collector here, to send the demo more events (e.g. 127.0.0.1:8080)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if opt.Days < 14 {
		return fmt.Errorf("demo: --days %d: at least 14 days are needed before agents are mature", opt.Days)
	}
	if opt.Agents < 1 {
		return fmt.Errorf("demo: --agents must be at least 1")
	}
	if opt.Speed < 0 {
		return fmt.Errorf("demo: --speed must not be negative")
	}
	opt.DataDir = keep
	if keep == "" {
		dir, err := os.MkdirTemp("", "agentwatch-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		opt.DataDir = dir
	}
	level := slog.LevelWarn
	var logw io.Writer = env.stderr
	if !verbose {
		level = slog.LevelError
	}
	opt.Log = slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: level}))
	opt.Out = env.stdout
	if serve {
		ccfg := pipeline.DefaultConsoleConfig()
		ccfg.Listen = consoleListen
		opt.Serve = func(ctx context.Context, a *pipeline.App) error {
			if addr := a.CollectorAddr(); addr != "" {
				fmt.Fprintf(env.stdout, "collector: http://%s/v1/events\n", addr)
			}
			_, done, err := startConsole(ctx, ccfg, appConsoleDeps(a, opt.Log), env.stdout)
			if err != nil {
				return err
			}
			fmt.Fprintln(env.stderr, "demo: serving the console on the demo fleet; Ctrl-C stops")
			return <-done
		}
	} else if opt.CollectorListen != "" {
		return fmt.Errorf("demo: --http-listen needs --serve")
	}
	start := time.Now()
	res, err := pipeline.RunDemo(ctx, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "demo: %d events, %d incidents (%d updates) in %s\n", res.Events, res.Incidents, res.Updates, time.Since(start).Round(time.Millisecond))
	if keep != "" {
		fmt.Fprintf(env.stderr, "demo: store and inventory kept in %s; its standing risk as of the simulated weeks: agentwatch posture --data-dir %s --inventory %s --at latest\n",
			keep, keep, filepath.Join(keep, "agents.yaml"))
	}
	return nil
}
