package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/agentwatch/agentwatch/detect"
	"github.com/agentwatch/agentwatch/internal/config"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/pipeline"
	"github.com/agentwatch/agentwatch/sim/awsfleet"
)

// fleetFlags are eval's flags for the realistic AWS fleet.
type fleetFlags struct {
	fleet        string // "aws": generate
	dir          string // read a written fleet
	seed         int64
	weeks        int
	scale        float64
	out          string
	storedAlerts bool
	target       float64
}

// runFleetEval generates (or reads) the AWS fleet, replays it through the
// normaliser with the fleet's attribution rules and the detect engine
// configured by cf (or scores the alerts a pipeline run stored), and
// prints the report. Missed attacks or a noisy test week fail the
// command, as a noisy scenario does.
func runFleetEval(ctx context.Context, env *cliEnv, cf *configFlags, ff fleetFlags) error {
	var (
		src  awsfleet.Source
		opt  awsfleet.Options
		cfg  pipeline.Config
		err  error
		what string
	)
	opt.Target = ff.target
	switch {
	case ff.fleet != "":
		if ff.fleet != "aws" {
			return fmt.Errorf("eval: --fleet %q: the only built-in fleet is aws", ff.fleet)
		}
		fc := awsfleet.DefaultConfig()
		fc.Seed, fc.Weeks, fc.Scale = ff.seed, ff.weeks, ff.scale
		f, err := awsfleet.NewFleet(fc)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		if cfg, err = cf.load(env); err != nil {
			return err
		}
		if opt.Inventory, err = f.Inventory(); err != nil {
			return err
		}
		opt.Ingest = cfg.Ingest
		opt.Ingest.Attribution = awsfleet.AttributionRules()
		gen := &awsfleet.Generated{Fleet: f}
		if ff.out != "" {
			if gen.Out, err = awsfleet.NewWriter(ff.out, f); err != nil {
				return fmt.Errorf("eval: %w", err)
			}
			what = " and wrote it to " + ff.out
		}
		src = gen
		fmt.Fprintf(env.stderr, "eval: generating the AWS fleet (seed %d, %d weeks, scale %g)%s\n", fc.Seed, fc.Weeks, fc.Scale, what)
	default:
		d, err := awsfleet.OpenDir(ff.dir)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		if cfg, err = loadFleetConfig(env, cf, ff.dir); err != nil {
			return err
		}
		if cfg.Inventory == "" {
			return fmt.Errorf("eval: --fleet-dir %s: the configuration names no inventory", ff.dir)
		}
		if opt.Inventory, err = inventory.Load(cfg.Inventory); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		opt.Ingest = cfg.Ingest
		src = d
		fmt.Fprintf(env.stderr, "eval: reading %d objects from %s\n", d.Objects(), ff.dir)
	}
	if ff.storedAlerts {
		st, err := pipeline.OpenStoreReadOnly(ctx, cfg)
		if err != nil {
			return fmt.Errorf("eval: --stored-alerts: %w", err)
		}
		opt.Stored, err = st.LoadAlerts(ctx, store.AlertFilter{})
		st.Close()
		if err != nil {
			return fmt.Errorf("eval: --stored-alerts: %w", err)
		}
		fmt.Fprintf(env.stderr, "eval: scoring %d alerts from the %s store\n", len(opt.Stored), cfg.Store.Backend)
	} else {
		dc := cfg.Detect
		opt.NewDetector = func(inv *inventory.Inventory) (awsfleet.Detector, error) { return detect.NewEngine(dc, inv) }
	}
	start := time.Now()
	rep, err := awsfleet.Evaluate(ctx, src, opt)
	if err != nil {
		return err
	}
	if err := rep.Write(env.stdout); err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "eval: %s records in %s objects evaluated in %s\n", fmtCount(rep.Manifest.Records), fmtCount(rep.Objects),
		time.Since(start).Round(10*time.Millisecond))
	return rep.MeetsTargets(ff.target, time.Minute)
}

// loadFleetConfig is the configuration for a written fleet: --config if
// given, else the directory's own agentwatch.yaml with its relative paths
// (inventory, data directory) taken from the directory.
func loadFleetConfig(env *cliEnv, cf *configFlags, dir string) (pipeline.Config, error) {
	if cf.file != "" {
		return cf.load(env)
	}
	file := filepath.Join(dir, awsfleet.RunConfigFile)
	if _, err := os.Stat(file); err != nil {
		return pipeline.Config{}, fmt.Errorf("eval: --fleet-dir %s: %w", dir, err)
	}
	over := []string{"inventory=" + filepath.Join(dir, awsfleet.InventoryFile), "data_dir=" + filepath.Join(dir, "agentwatch-data")}
	if cf.dataDir != "" {
		over = append(over, "data_dir="+cf.dataDir)
	}
	if cf.inventory != "" {
		over = append(over, "inventory="+cf.inventory)
	}
	over = append(over, cf.sets...)
	return pipeline.Load(config.Sources{File: file, Environ: env.environ, Overrides: over})
}

func fmtCount(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
