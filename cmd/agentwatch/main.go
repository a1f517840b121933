// Command agentwatch watches AI agents in the audit stream: it learns each
// agent's normal behaviour and alarms, to the agent's owner, when the agent
// steps outside it. Every subcommand is thin; the work lives in the
// packages. Signals are handled here and nowhere else.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/agentwatch/agentwatch/internal/config"
	"github.com/agentwatch/agentwatch/pipeline"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, env *cliEnv, args []string) error
}

// cliEnv carries the process's streams so tests can run commands in-process.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	environ        func() []string
}

var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, env *cliEnv, args []string) error) {
	commands[name] = command{summary: summary, run: run}
}

// productionGOGC is the garbage collector's target in production mode
// when GOGC is not set. There the pipeline's live data is small and it
// allocates a steady stream of short-lived batches: letting the heap grow
// to five times the live data before collecting cuts the collector's CPU
// share a great deal (measured: about 30% more events per second end to
// end). Embedded mode keeps Go's default (100): with its broker's records
// in the log on disk, 400 bought no clear gain free-running (within the
// noise of a shared machine) for twice the memory. Set GOGC, or
// GOMEMLIMIT for a ceiling, to override.
const productionGOGC = 400

// tuneGC applies productionGOGC in production mode unless GOGC is set.
func tuneGC(cfg pipeline.Config) {
	if os.Getenv("GOGC") == "" && cfg.Mode == "production" {
		debug.SetGCPercent(productionGOGC)
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ}
	if err := runCLI(ctx, env, os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "agentwatch:", err)
		// A command may ask for its own exit code (posture --fail-on: 2).
		var ec interface{ ExitCode() int }
		if errors.As(err, &ec) {
			os.Exit(ec.ExitCode())
		}
		os.Exit(1)
	}
}

func runCLI(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.stdout)
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		usage(env.stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return cmd.run(ctx, env, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "agentwatch: identity-driven alarms for AI agents")
	fmt.Fprintln(w, "\nUsage: agentwatch COMMAND [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'agentwatch COMMAND --help' for a command's flags.")
}

// configFlags are the flags every configured command shares.
type configFlags struct {
	file      string
	dataDir   string
	inventory string
	logLevel  string
	sets      []string
}

func (c *configFlags) add(fs *pflag.FlagSet) {
	fs.StringVarP(&c.file, "config", "c", "", "YAML configuration file")
	fs.StringVar(&c.dataDir, "data-dir", "", "data directory (overrides data_dir)")
	fs.StringVar(&c.inventory, "inventory", "", "agent inventory file, agents.yaml (overrides inventory)")
	fs.StringVar(&c.logLevel, "log-level", "", "debug, info, warn or error (overrides log.level)")
	fs.StringArrayVar(&c.sets, "set", nil, "override one key, KEY=VALUE (repeatable), e.g. --set bus.brokers=k1:9092")
}

// load builds the effective configuration: defaults < file < environment < flags.
func (c *configFlags) load(env *cliEnv) (pipeline.Config, error) {
	over := append([]string(nil), c.sets...)
	if c.dataDir != "" {
		over = append(over, "data_dir="+c.dataDir)
	}
	if c.inventory != "" {
		over = append(over, "inventory="+c.inventory)
	}
	if c.logLevel != "" {
		over = append(over, "log.level="+c.logLevel)
	}
	cfg, err := pipeline.Load(config.Sources{File: c.file, Environ: env.environ, Overrides: over})
	if err == nil {
		tuneGC(cfg)
	}
	return cfg, err
}

func newFlagSet(name, usageLine string, env *cliEnv) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: agentwatch %s\n\nFlags:\n", usageLine)
		fs.PrintDefaults()
	}
	return fs
}
