package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/agentwatch/agentwatch/ingest"
	"github.com/agentwatch/agentwatch/internal/bus"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/pipeline"
)

func init() {
	register("ingest", "run the ingest stage, or load a file once: ingest --file PATH|-", runIngest)
	register("sql", "run one read-only SQL query on the store: sql \"SELECT ...\" [--format table|csv|json]", runSQL)
	register("attribute", "explain attribution per record: attribute --explain FILE", runAttribute)
	register("dlq", "dead letters: dlq list | dlq replay", runDLQ)
}

func runIngest(ctx context.Context, env *cliEnv, args []string) error {
	var cf configFlags
	var file string
	fs := newFlagSet("ingest", "ingest [--file PATH|-] [flags]", env)
	cf.add(fs)
	var format string
	fs.StringVar(&file, "file", "", "load this file or directory once (plain or .gz; - for stdin) and exit, instead of running the stage")
	fs.StringVar(&format, "format", "", "force the format of --file (default: detect per record)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if file == "" {
		return runStages(ctx, env, "ingest", args, []string{pipeline.StageIngest})
	}
	cfg, err := cf.load(env)
	if err != nil {
		return err
	}
	if file == "-" {
		// LoadFile reads stdin for "-"; make it the CLI's stdin.
		if f, ok := env.stdin.(*os.File); ok {
			os.Stdin = f
		}
	}
	log := pipeline.NewLogger(cfg.Log, env.stderr)
	var stats ingest.Stats
	if cfg.Mode == "embedded" {
		// The embedded broker lives in this process: run the pipeline
		// until the file is processed, so baselines are learned from it.
		stats, err = pipeline.LoadFile(ctx, cfg, file, format, pipeline.Options{Log: log, Console: env.stdout})
		if err != nil {
			return err
		}
	} else {
		a, err := pipeline.Open(ctx, cfg, pipeline.Options{Log: log, NoStore: true})
		if err != nil {
			return err
		}
		defer a.Close()
		n, err := ingest.NewNormalizer(cfg.Ingest, a.Reg, ingest.WithPrincipals(a.Inventory.Principals()))
		if err != nil {
			return err
		}
		if stats, err = ingest.LoadFileAs(ctx, file, format, n, pipeline.NewSink(a, "collector")); err != nil {
			return err
		}
	}
	fmt.Fprintf(env.stdout, "%s: %d records, %d events, %d dead letters, %d bytes\n", file, stats.Records, stats.Events, stats.DeadLetters, stats.Bytes)
	return nil
}

func runSQL(ctx context.Context, env *cliEnv, args []string) error {
	var cf configFlags
	var format string
	fs := newFlagSet("sql", "sql \"SELECT ...\" [--format table|csv|json] [flags]", env)
	cf.add(fs)
	fs.StringVarP(&format, "format", "f", "table", "output format: table, csv or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("sql: want exactly one query argument, got %d", fs.NArg())
	}
	switch format {
	case "table", "csv", "json":
	default:
		return fmt.Errorf("sql: --format %q is not table, csv or json", format)
	}
	cfg, err := cf.load(env)
	if err != nil {
		return err
	}
	st, err := pipeline.OpenStoreReadOnly(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := st.Query(ctx, fs.Arg(0))
	if err != nil {
		return fmt.Errorf("sql: %w", err)
	}
	return store.WriteResult(env.stdout, res, format)
}

func runAttribute(ctx context.Context, env *cliEnv, args []string) error {
	var cf configFlags
	var explain string
	fs := newFlagSet("attribute", "attribute --explain FILE|- [flags]", env)
	cf.add(fs)
	fs.StringVar(&explain, "explain", "", "file of raw audit records (any supported format; - for stdin)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if explain == "" {
		return fmt.Errorf("attribute: --explain FILE is required")
	}
	cfg, err := cf.load(env)
	if err != nil {
		return err
	}
	// The inventory's principals list is part of the explanation: a
	// record no rule maps may still be known infrastructure.
	inv, err := loadInventory(cfg)
	if err != nil {
		return err
	}
	n, err := ingest.NewNormalizer(cfg.Ingest, nil, ingest.WithPrincipals(inv.Principals()))
	if err != nil {
		return err
	}
	var r io.Reader = env.stdin
	if explain != "-" {
		f, err := os.Open(explain)
		if err != nil {
			return fmt.Errorf("attribute: %w", err)
		}
		defer f.Close()
		r = f
	}
	return n.Explain(env.stdout, r, explain)
}

func runDLQ(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "replay") {
		return fmt.Errorf("dlq: want 'dlq list' or 'dlq replay'")
	}
	sub := args[0]
	var cf configFlags
	var reason string
	fs := newFlagSet("dlq "+sub, "dlq "+sub+" [--reason TEXT] [flags]", env)
	cf.add(fs)
	fs.StringVar(&reason, "reason", "", "only dead letters whose reason contains TEXT")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := cf.load(env)
	if err != nil {
		return err
	}
	brokers := cfg.Bus.Brokers
	if cfg.Mode == "embedded" {
		// The embedded broker's log is in data_dir; one process at a time
		// may open it.
		emb, err := bus.StartEmbedded(ctx, cfg.Bus.Embedded, nil, pipeline.NewLogger(cfg.Log, env.stderr))
		if err != nil {
			return fmt.Errorf("dlq %s: %w (while 'agentwatch run' holds it, read the DLQ with any Kafka client from its embedded broker)", sub, err)
		}
		defer emb.Close()
		brokers = emb.Addrs()
	}
	var msgs []bus.Message
	err = bus.ReadAll(ctx, brokers, cfg.Bus.Topics.DLQ, func(m bus.Message) error {
		if reason == "" || strings.Contains(m.Headers["reason"], reason) {
			msgs = append(msgs, m)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("dlq %s: read %s: %w", sub, cfg.Bus.Topics.DLQ, err)
	}
	if sub == "list" {
		return ingest.ListDLQ(env.stdout, msgs)
	}
	out := make([]bus.Message, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, ingest.ReplayMessage(m, cfg.Bus.Topics.Ingest))
	}
	// In embedded mode the replayed records wait in the log for the next
	// 'agentwatch run'.
	p, err := bus.NewProducer(cfg.Bus.WithBrokers(brokers), nil, pipeline.NewLogger(cfg.Log, env.stderr))
	if err != nil {
		return err
	}
	defer p.Close()
	if err := p.Publish(ctx, out...); err != nil {
		return fmt.Errorf("dlq replay: %w", err)
	}
	fmt.Fprintf(env.stdout, "replayed %d dead letters to %s\n", len(out), cfg.Bus.Topics.Ingest)
	return nil
}
