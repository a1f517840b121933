package baseline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// rebuildBatch is how many closed windows are buffered before writing.
const rebuildBatch = 5000

// Rebuild replays every stored event, oldest first, into fresh profiles
// and playgrounds and writes them with new versions, replacing what the
// store held. Run it with the baseline worker stopped: the persisted state
// of each agent is the one taken when its last window closed, so a worker
// started afterwards resumes exactly (replaying the open window).
func Rebuild(ctx context.Context, cfg Config, st store.Store, inv *inventory.Inventory, log *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w, err := NewWorker(cfg, st, inv, nil, log)
	if err != nil {
		return err
	}
	start := time.Now()
	var n, late int64
	var flushErr error
	err = st.ScanEvents(ctx, nil, time.Unix(0, 0), endOfTime, func(ev schemas.AgentEvent) error {
		if ev.Unattributed || MadeFor(&ev) {
			return nil
		}
		w.loaded[ev.AgentID] = true // rebuilding from nothing: never load old state
		if w.tr.IsLate(ev.AgentID, ev.Time) {
			late++
			return nil
		}
		w.observe(&ev)
		n++
		if len(w.windows) >= rebuildBatch {
			if flushErr = w.persist(ctx); flushErr != nil {
				return flushErr
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rebuild baselines: scan events: %w", err)
	}
	// Flush, as the live worker does, closes the windows of agents that
	// went quiet a full window before the last event, so a rebuild stores
	// the same windows the live worker did.
	if err := w.Flush(ctx); err != nil {
		return fmt.Errorf("rebuild baselines: %w", err)
	}
	log.Info("baselines rebuilt", "events", n, "late_events_skipped", late, "agents", w.tr.Len(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Show prints an agent's profile and learned playground readably.
func Show(ctx context.Context, w io.Writer, st store.Store, agentID string) error {
	base, err := st.LoadBaselines(ctx, []string{agentID})
	if err != nil {
		return fmt.Errorf("show baseline: load baselines: %w", err)
	}
	play, err := st.LoadPlayground(ctx, []string{agentID})
	if err != nil {
		return fmt.Errorf("show baseline: load playground: %w", err)
	}
	if len(base) == 0 && len(play) == 0 {
		return fmt.Errorf("show baseline: no baseline stored for agent %q (has it sent events, and has a window closed?)", agentID)
	}
	sort.Slice(base, func(i, j int) bool { return featureOrder(base[i].Feature) < featureOrder(base[j].Feature) })
	fmt.Fprintf(w, "Agent %s\n", agentID)
	if len(base) > 0 {
		b := base[0]
		state := "learning (learned detectors silent)"
		if b.Mature {
			state = "mature"
		}
		fmt.Fprintf(w, "  windows: %d, from %s to %s\n  maturity: %s\n  seasonality: %s\n\n",
			b.Samples, b.FirstWindow.Format(time.RFC3339), b.LastWindow.Format(time.RFC3339), state, b.Seasonality)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "feature\tmedian\tMAD\tEWMA mean\tEWMA sd\tp95\tp99\t")
		for _, r := range base {
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.2f\t%.2f\t%.1f\t%.1f\t\n", r.Feature, r.Median, r.MAD, r.EWMAMean, math.Sqrt(math.Max(r.EWMAVar, 0)), r.P95, r.P99)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("show baseline: %w", err)
		}
	}
	kinds := []struct{ kind, title string }{
		{schemas.PlayTriple, "Playground (system, action, resource pattern)"},
		{schemas.PlayNetwork, "Source networks"}, {schemas.PlayUserAgent, "User agents"},
		{schemas.PlayDelegator, "On behalf of"}, {schemas.PlayCredential, "Credentials"},
	}
	for _, k := range kinds {
		var rows []schemas.PlaygroundRow
		for _, r := range play {
			if r.Kind == k.kind {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].Count > rows[j].Count })
		fmt.Fprintf(w, "\n%s:\n", k.title)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, r := range rows {
			what := r.Value
			if k.kind == schemas.PlayTriple {
				what = strings.TrimSpace(r.System + "  " + r.Action + "  " + r.ResourcePattern)
			}
			fmt.Fprintf(tw, "  %s\t%d times\tfirst %s\tlast %s\n", what, r.Count, r.FirstSeen.Format(time.DateOnly), r.LastSeen.Format(time.DateOnly))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("show baseline: %w", err)
		}
	}
	return nil
}

func featureOrder(name string) int {
	for i, n := range FeatureNames {
		if n == name {
			return i
		}
	}
	return len(FeatureNames)
}
