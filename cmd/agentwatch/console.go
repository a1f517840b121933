package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/agentwatch/agentwatch/console"
	"github.com/agentwatch/agentwatch/pipeline"
)

func init() {
	register("console", "serve the web console alone (production): console --config prod.yaml", runConsole)
}

// startConsole serves the console with deps until ctx ends. It returns
// once the console listens (or failed to), with a channel that yields the
// server's final error.
func startConsole(ctx context.Context, cfg pipeline.ConsoleConfig, deps console.Deps, out io.Writer) (string, <-chan error, error) {
	srv, err := console.New(cfg, deps)
	if err != nil {
		return "", nil, err
	}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, func(addr string) { ready <- addr }) }()
	select {
	case addr := <-ready:
		fmt.Fprintf(out, "console: http://%s/\n", addr)
		return addr, done, nil
	case err := <-done:
		return "", nil, err
	}
}

// appConsoleDeps are the console's dependencies inside a running App.
func appConsoleDeps(a *pipeline.App, log *slog.Logger) console.Deps {
	return console.Deps{Store: a.Store, Inventory: a.Inventory, Actions: a.Actions(), OutboxPath: a.Cfg.Alerts.OutboxPath,
		Window: a.Cfg.Detect.Baseline.Window, Log: log}
}

// runConsole is the console on its own, beside stages run elsewhere: it
// reads the configured store and, in production mode, publishes the
// incidents people close on the alerts topic so the alerts stage notifies.
func runConsole(ctx context.Context, env *cliEnv, args []string) error {
	var cf configFlags
	var listen string
	fs := newFlagSet("console", "console [--listen ADDR] [flags]", env)
	cf.add(fs)
	fs.StringVar(&listen, "listen", "", "address to serve on (overrides console.listen)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if listen != "" {
		cf.sets = append(cf.sets, "console.listen="+listen)
	}
	cfg, err := cf.load(env)
	if err != nil {
		return err
	}
	if cfg.Console.Listen == "" {
		return fmt.Errorf("console: console.listen is empty; set it (e.g. --listen 127.0.0.1:8081)")
	}
	log := pipeline.NewLogger(cfg.Log, env.stderr)
	inv, err := loadInventory(cfg)
	if err != nil {
		return err
	}
	st, err := pipeline.OpenStore(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.Mode != "production" {
		log.Warn("console in embedded mode: incidents closed here are written to the store, and nobody is notified of it; run the console inside 'agentwatch run' instead")
	}
	acts, closeActs, err := standaloneActions(cfg, st, inv, log, "console")
	if err != nil {
		return err
	}
	defer closeActs()
	_, done, err := startConsole(ctx, cfg.Console, console.Deps{Store: st, Inventory: inv, Actions: acts,
		OutboxPath: cfg.Alerts.OutboxPath, Window: cfg.Detect.Baseline.Window, Log: log}, env.stdout)
	if err != nil {
		return err
	}
	return <-done
}
