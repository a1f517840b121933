package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/pipeline"
	"github.com/agentwatch/agentwatch/schemas"
)

func init() {
	register("trail", "what an agent did, with the identity chain of each event: trail AGENT [--since 24h] [--instance I] [--on-behalf-of U]", runTrail)
}

// runTrail answers "which agent performed this action, which instance, on
// whose behalf, with which credential" from the store, with the query the
// console's search uses (search_events in docs/queries.sql).
func runTrail(ctx context.Context, env *cliEnv, args []string) error {
	var cf configFlags
	var since time.Duration
	var q store.EventSearch
	var format string
	fs := newFlagSet("trail", "trail AGENT [--since 24h] [--instance I] [--on-behalf-of U] [--format table|json] [flags]", env)
	cf.add(fs)
	fs.DurationVar(&since, "since", 24*time.Hour, "how far back from now (0 = all stored events)")
	fs.StringVar(&q.Instance, "instance", "", "only this instance")
	fs.StringVar(&q.OnBehalfOf, "on-behalf-of", "", "only events on behalf of this principal")
	fs.StringVar(&q.CredentialID, "credential", "", "only events with this credential id")
	fs.StringVar(&q.Action, "action", "", "only this action")
	fs.IntVar(&q.Limit, "limit", 200, "at most this many events, newest first")
	fs.StringVarP(&format, "format", "f", "table", "output format: table or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("trail: want one AGENT argument, got %d", fs.NArg())
	}
	if format != "table" && format != "json" {
		return fmt.Errorf("trail: --format %q is not table or json", format)
	}
	if since < 0 || q.Limit < 1 {
		return fmt.Errorf("trail: --since must not be negative and --limit must be at least 1")
	}
	q.AgentID = fs.Arg(0)
	if since > 0 {
		q.From = time.Now().UTC().Add(-since)
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
	evs, err := st.SearchEvents(ctx, q)
	if err != nil {
		return fmt.Errorf("trail: %w", err)
	}
	if format == "json" {
		enc := json.NewEncoder(env.stdout)
		for i := range evs {
			if err := enc.Encode(&evs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if len(evs) == 0 {
		fmt.Fprintf(env.stderr, "trail: no events of %s in the store for these filters (--since %s)\n", q.AgentID, since)
		return nil
	}
	return writeTrail(env, evs)
}

// writeTrail prints one line per event: when, the identity chain (agent
// → instance → on behalf of → credential), what it did and how it went.
func writeTrail(env *cliEnv, evs []schemas.AgentEvent) error {
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tIDENTITY CHAIN\tACTION\tRESOURCE\tOUTCOME")
	for _, ev := range evs {
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\n", ev.Time.UTC().Format("2006-01-02 15:04:05"), Chain(ev), ev.System, ev.Action, dash(ev.Resource), ev.Outcome)
	}
	return tw.Flush()
}

// Chain renders "agent → instance → for user → credential (type)".
func Chain(ev schemas.AgentEvent) string {
	parts := []string{ev.AgentID}
	if ev.AgentInstance != "" {
		parts = append(parts, ev.AgentInstance)
	}
	if ev.OnBehalfOf != "" {
		parts = append(parts, "for "+ev.OnBehalfOf)
	}
	if ev.CredentialID != "" {
		c := ev.CredentialID
		if ev.CredentialType != "" {
			c += " (" + ev.CredentialType + ")"
		}
		parts = append(parts, c)
	}
	return strings.Join(parts, " → ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
