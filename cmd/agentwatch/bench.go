package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/agentwatch/agentwatch/pipeline"
)

func init() {
	register("bench", "measure end-to-end throughput and event-to-alert latency on the configured pipeline", runBench)
}

func runBench(ctx context.Context, env *cliEnv, args []string) error {
	var cf configFlags
	var opt pipeline.BenchOptions
	fs := newFlagSet("bench", "bench [--duration 60s] [--rate N] [--agents N] [flags]", env)
	cf.add(fs)
	fs.DurationVar(&opt.Duration, "duration", 60*time.Second, "how long to publish")
	fs.IntVar(&opt.Rate, "rate", 0, "events per second to offer (0 = as fast as possible)")
	fs.IntVar(&opt.Agents, "agents", 1000, "distinct agents in the synthetic stream")
	fs.Int64Var(&opt.MaxBacklog, "max-backlog", 200_000, "most events publishing may run ahead of the slowest stage (0 = no bound)")
	fs.DurationVar(&opt.ProbeEvery, "probe-every", 100*time.Millisecond, "interval of the alert-raising probe events that time event-to-alert latency")
	var cpuprofile string
	fs.StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cfg, err := cf.load(env)
	if err != nil {
		return err
	}
	opt.Log = slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	res, err := pipeline.RunBench(ctx, cfg, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "mode=%s store=%s cores=%d duration=%s offered_rate=%d agents=%d\n", cfg.Mode, cfg.Store.Backend, runtime.NumCPU(), opt.Duration, opt.Rate, opt.Agents)
	fmt.Fprintf(env.stdout, "published            %d events in %.1fs (%.0f events/s offered)\n", res.Published, res.PublishSeconds, float64(res.Published)/res.PublishSeconds)
	fmt.Fprintf(env.stdout, "backlog              at most %d events ahead of the slowest stage\n", res.Backlog)
	fmt.Fprintf(env.stdout, "lag back to zero     %.1fs after publishing stopped\n", res.DrainSeconds)
	fmt.Fprintf(env.stdout, "sustained end to end %.0f events/s (every stage committed)\n", res.Sustained)
	fmt.Fprintf(env.stdout, "event-to-alert       p50 %s  p99 %s  (%d probes)\n", res.LatencyP50.Round(time.Millisecond), res.LatencyP99.Round(time.Millisecond), res.Probes)
	return nil
}
