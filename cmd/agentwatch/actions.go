package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/internal/bus"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/internal/telemetry"
	"github.com/agentwatch/agentwatch/pipeline"
	"github.com/agentwatch/agentwatch/schemas"
)

func init() {
	register("accept", "accept an incident's behaviour as normal: accept INCIDENT --reason TEXT [--for 720h] [--by NAME]", func(ctx context.Context, env *cliEnv, args []string) error {
		return runAction(ctx, env, schemas.ActionAccept, args)
	})
	register("resolve", "close an incident now: resolve INCIDENT --reason TEXT [--by NAME]", func(ctx context.Context, env *cliEnv, args []string) error {
		return runAction(ctx, env, schemas.ActionResolve, args)
	})
}

// runAction is `agentwatch accept|resolve`, the same actions the console's
// incident page takes (pipeline.Actions), recorded in the actions table.
func runAction(ctx context.Context, env *cliEnv, kind string, args []string) error {
	var cf configFlags
	var r pipeline.ActionRequest
	fs := newFlagSet(kind, kind+" INCIDENT --reason TEXT [flags]", env)
	cf.add(fs)
	fs.StringVar(&r.Reason, "reason", "", "why (required; kept for audit)")
	fs.StringVar(&r.Actor, "by", "", "who acts (default: $USER)")
	if kind == schemas.ActionAccept {
		fs.DurationVar(&r.For, "for", 30*24*time.Hour, "how long the acceptance lasts")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%s: want one INCIDENT id (the alert id), got %d", kind, fs.NArg())
	}
	r.AlertID = fs.Arg(0)
	if r.Actor == "" {
		for _, kv := range env.environ() {
			if v, ok := strings.CutPrefix(kv, "USER="); ok {
				r.Actor = v
			}
		}
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
	inv, err := loadInventory(cfg)
	if err != nil {
		return err
	}
	acts, closeActs, err := standaloneActions(cfg, st, inv, pipeline.NewLogger(cfg.Log, env.stderr), kind)
	if err != nil {
		return err
	}
	defer closeActs()
	var row schemas.ActionRow
	if kind == schemas.ActionAccept {
		row, err = acts.Accept(ctx, r)
	} else {
		row, err = acts.Resolve(ctx, r)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "%s of incident %s recorded as action %s", kind, row.AlertID, row.ID)
	if row.ExpiresAt != nil {
		fmt.Fprintf(env.stdout, ", until %s", row.ExpiresAt.Format(time.RFC3339))
	}
	fmt.Fprintln(env.stdout)
	if row.Detail != "" {
		fmt.Fprintln(env.stdout, "to make it permanent:", row.Detail)
	}
	return nil
}

// standaloneActions are the actions of a command run beside the stages
// (console, accept, resolve), reading the agents' playgrounds in inv: in
// production mode closed incidents go on the alerts topic so the alerts
// stage notifies. done closes the actions, then the producer.
func standaloneActions(cfg pipeline.Config, st store.Store, inv *inventory.Inventory, log *slog.Logger, what string) (acts *pipeline.Actions, done func(), err error) {
	var publish func(context.Context, []schemas.Alert) error
	closeProducer := func() {}
	if cfg.Mode == "production" {
		p, err := bus.NewProducer(cfg.Bus, telemetry.NewRegistry(), log)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: connect producer: %w", what, err)
		}
		closeProducer = func() { p.Close() }
		publish = pipeline.AlertPublisher(p, cfg.Bus.Topics.Alerts)
	}
	acts = pipeline.NewActions(st, publish, cfg.Alerts.OutboxPath, time.Now).WithInventory(inv)
	return acts, func() { acts.Close(); closeProducer() }, nil
}
