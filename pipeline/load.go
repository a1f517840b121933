package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/agentwatch/agentwatch/ingest"
)

// LoadFile is `agentwatch ingest --file` in embedded mode: the embedded
// broker lives only inside this process, so it runs every stage, feeds the
// file through the collector path, waits until each stage has committed
// everything and the alerts are in the outbox, and stops. The SQLite store
// keeps what was learned, so replaying history this way trains baselines
// for a later `agentwatch run` on the same data directory.
func LoadFile(ctx context.Context, cfg Config, path, format string, opt Options) (ingest.Stats, error) {
	cfg.HTTP.Listen = ""
	a, err := Open(ctx, cfg, opt)
	if err != nil {
		return ingest.Stats{}, err
	}
	defer a.Close()
	// The ingest stage registers the normaliser metrics; this second
	// normaliser (for the file) stays off the registry.
	n, err := ingest.NewNormalizer(cfg.Ingest, nil, ingest.WithPrincipals(a.Inventory.Principals()))
	if err != nil {
		return ingest.Stats{}, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- a.RunStages(runCtx, AllStages, Hooks{}) }()

	stats, err := ingest.LoadFileAs(ctx, path, format, n, NewSink(a, "collector"))
	if err != nil {
		return stats, err
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !a.Drained(0) {
		select {
		case <-ctx.Done():
			return stats, ctx.Err()
		case err := <-runErr:
			return stats, fmt.Errorf("pipeline stopped early: %w", err)
		case <-tick.C:
		}
	}
	stop()
	return stats, <-runErr
}
