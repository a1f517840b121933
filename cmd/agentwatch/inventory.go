package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/agentwatch/agentwatch/internal/inventory"
)

func init() {
	register("inventory", "the agent inventory: inventory check [FILE] | inventory import-iam POLICY.json [--agent ID]", runInventory)
}

func runInventory(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("inventory: want a subcommand: check [FILE] | import-iam POLICY.json [--agent ID]")
	}
	switch args[0] {
	case "check":
		return runInventoryCheck(env, args[1:])
	case "import-iam":
		return runImportIAM(env, args[1:])
	}
	return fmt.Errorf("inventory: unknown subcommand %q (check, import-iam)", args[0])
}

// runInventoryCheck loads an agents.yaml as the pipeline would and says
// what it declares, or the first mistake with its file, line and key.
func runInventoryCheck(env *cliEnv, args []string) error {
	var cf configFlags
	fs := newFlagSet("inventory check", "inventory check [FILE] [flags]", env)
	cf.add(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	file := fs.Arg(0)
	if file == "" {
		cfg, err := cf.load(env)
		if err != nil {
			return err
		}
		if file = cfg.Inventory; file == "" {
			return fmt.Errorf("inventory check: no file given and no inventory configured")
		}
	}
	inv, err := inventory.Load(file)
	if err != nil {
		return err
	}
	statements := 0
	for _, a := range inv.Agents() {
		statements += len(a.Playground.Statements)
	}
	fmt.Fprintf(env.stdout, "%s: %d agents, %d playground statements; every pattern can match\n", file, inv.Len(), statements)
	return nil
}

// runImportIAM prints the playground an IAM policy document allows, ready
// to paste into agents.yaml, headed by what it could not express.
func runImportIAM(env *cliEnv, args []string) error {
	fs := newFlagSet("inventory import-iam", "inventory import-iam POLICY.json|- [--agent ID]", env)
	agent := fs.String("agent", "", "print an agents.yaml entry with this id (default: the playground block alone)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("inventory import-iam: want one policy file (or - for standard input)")
	}
	name := fs.Arg(0)
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(env.stdin)
		name = "standard input"
	} else {
		data, err = os.ReadFile(name)
		name = filepath.Base(name)
	}
	if err != nil {
		return fmt.Errorf("inventory import-iam: %w", err)
	}
	r, err := inventory.ImportIAM(data)
	if err != nil {
		return fmt.Errorf("inventory import-iam: %s: %w", name, err)
	}
	out, err := r.YAML(*agent, name)
	if err != nil {
		return err
	}
	if _, err := env.stdout.Write(out); err != nil {
		return err
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(env.stderr, "import-iam: %d of %d statements imported; %d things not expressed or widened (listed at the top of the output)\n",
			r.Imported, r.Statements, len(r.Notes))
	}
	if r.Imported == 0 {
		return fmt.Errorf("inventory import-iam: %s: no statement could be imported: %s", name, strings.Join(r.Notes, "; "))
	}
	return nil
}
