package posture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/agentwatch/agentwatch/alerts"
	"github.com/agentwatch/agentwatch/alerts/digest"
	"github.com/agentwatch/agentwatch/alerts/outbox"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// Store is what the runner needs from the store: events and the learned
// playground to evaluate, finding states to keep.
type Store interface {
	Reader
	StateStore
}

// Runner re-evaluates posture on a period (refreshing the store's finding
// states and the gauges) and sends each owner's digest on the schedule.
// It runs inside `agentwatch run` and `agentwatch alerts`.
type Runner struct {
	cfg          Config
	eval         *Evaluator
	st           Store
	inv          *inventory.Inventory
	ob           *outbox.Outbox
	dl           *digest.Deliverer
	m            *Metrics
	log          *slog.Logger
	now          func() time.Time
	dormantAfter time.Duration
	outboxPath   string
	sched        Schedule
	minSev       schemas.Severity
	lastEval     time.Time
}

// RunnerOptions carry what the runner shares with the process.
type RunnerOptions struct {
	Alerts       alerts.Config // receivers and the outbox path
	DormantAfter time.Duration
	Metrics      *Metrics
	Log          *slog.Logger
	Client       *http.Client
	Now          func() time.Time
}

// NewRunner builds the runner; with the digest enabled it resolves the
// Slack receiver (posture.digest.slack_receiver, else
// alerts.owner_routing.slack_receiver, else the only Slack Web API
// receiver) and the optional OCSF webhook receiver, and opens the outbox
// where digests are remembered. Close releases it.
func NewRunner(cfg Config, st Store, inv *inventory.Inventory, o RunnerOptions) (*Runner, error) {
	ev, err := NewEvaluator(cfg)
	if err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, eval: ev, st: st, inv: inv, m: o.Metrics, log: o.Log, now: o.Now, dormantAfter: o.DormantAfter,
		outboxPath: o.Alerts.OutboxPath}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.sched, _ = ParseSchedule(cfg.Digest.Schedule)
	r.minSev, _ = ParseSeverity(cfg.Digest.MinSeverity)
	if !cfg.Digest.Enabled {
		return r, nil
	}
	name := cfg.Digest.SlackReceiver
	if name == "" {
		name = o.Alerts.OwnerRouting.SlackReceiver
	}
	var webAPI []string
	var slackSender *digest.Slack
	var ocsfSender *digest.OCSF
	for i, rc := range o.Alerts.Receivers {
		key := fmt.Sprintf("alerts.receivers[%d]", i)
		switch {
		case rc.Slack != nil && (rc.Name == name || (name == "" && rc.Slack.WebAPI())):
			if name == "" {
				webAPI = append(webAPI, rc.Name)
				if len(webAPI) > 1 {
					return nil, fmt.Errorf("posture.digest.slack_receiver: several Slack Web API receivers (%v); name one", webAPI)
				}
			}
			if slackSender, err = digest.NewSlack(key+".slack", *rc.Slack, o.Client); err != nil {
				return nil, fmt.Errorf("posture.digest.slack_receiver: %w", err)
			}
		case rc.Name == name && rc.Slack == nil:
			return nil, fmt.Errorf("posture.digest.slack_receiver: %q is not a Slack receiver", name)
		}
		if cfg.Digest.OCSFReceiver != "" && rc.Name == cfg.Digest.OCSFReceiver {
			if rc.Webhook == nil {
				return nil, fmt.Errorf("posture.digest.ocsf_receiver: %q is not a webhook receiver", rc.Name)
			}
			if ocsfSender, err = digest.NewOCSF(key+".webhook", *rc.Webhook, o.Client); err != nil {
				return nil, fmt.Errorf("posture.digest.ocsf_receiver: %w", err)
			}
		}
	}
	if name != "" && slackSender == nil {
		return nil, fmt.Errorf("posture.digest.slack_receiver: no receiver named %q", name)
	}
	if cfg.Digest.OCSFReceiver != "" && ocsfSender == nil {
		return nil, fmt.Errorf("posture.digest.ocsf_receiver: no receiver named %q", cfg.Digest.OCSFReceiver)
	}
	if slackSender == nil && ocsfSender == nil {
		return nil, errors.New("posture.digest.enabled: no Slack Web API receiver (alerts.receivers with token and channel) and no ocsf_receiver to send digests to")
	}
	if r.ob, err = outbox.Open(o.Alerts.OutboxPath); err != nil {
		return nil, fmt.Errorf("posture digest: %w", err)
	}
	r.dl = &digest.Deliverer{Outbox: r.ob, Slack: slackSender, OCSF: ocsfSender, Now: r.now}
	return r, nil
}

// Close releases the outbox.
func (r *Runner) Close() error { return r.ob.Close() }

// tick is how often the runner looks at the clock.
const tick = 30 * time.Second

// Run evaluates every posture.evaluate_every (the first time one period
// after start, so a start does not scan the store at once) and sends the
// digests of the latest scheduled slot not yet sent, until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	r.lastEval = r.now()
	for {
		if err := r.Tick(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("posture: evaluation or digest failed; retried at the next tick", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(tick):
		}
	}
}

// Tick does what is due now: an evaluation, the digests.
func (r *Runner) Tick(ctx context.Context) error {
	now := r.now().UTC()
	var rep *Report
	if r.cfg.EvaluateEvery > 0 && now.Sub(r.lastEval) >= r.cfg.EvaluateEvery {
		var err error
		if rep, err = r.Evaluate(ctx, now); err != nil {
			return err
		}
	}
	if !r.cfg.Digest.Enabled {
		return nil
	}
	slot := r.sched.Last(now)
	due, err := r.dl.Due(ctx, r.owners(), slot)
	if err != nil || !due {
		return err
	}
	if rep == nil {
		if rep, err = r.Evaluate(ctx, now); err != nil {
			return err
		}
	}
	return r.SendDigests(ctx, slot, rep)
}

// Evaluate runs one evaluation, saves the states and sets the gauges.
func (r *Runner) Evaluate(ctx context.Context, now time.Time) (*Report, error) {
	var failed []alerts.Notification
	var err error
	switch {
	case r.ob != nil:
		failed, err = failedIn(ctx, r.ob)
	case r.outboxPath != "":
		failed, err = LoadFailed(ctx, r.outboxPath)
	}
	if err != nil {
		return nil, err
	}
	rep, err := r.eval.Evaluate(ctx, Input{Store: r.st, Inventory: r.inv, Failed: failed, Now: now, DormantAfter: r.dormantAfter})
	if err != nil {
		return nil, err
	}
	ch, err := Save(ctx, r.st, rep)
	if err != nil {
		return nil, err
	}
	r.lastEval = now
	r.m.Observe(rep)
	r.log.Info("posture evaluated", "findings", len(rep.Findings), "new", len(ch.New), "fixed", len(ch.Fixed))
	return rep, nil
}

// owners lists every owner of the inventory, sorted.
func (r *Runner) owners() []string {
	seen := map[string]bool{}
	var out []string
	for _, ag := range r.inv.Agents() {
		if ag.Owner != "" && !seen[ag.Owner] {
			seen[ag.Owner] = true
			out = append(out, ag.Owner)
		}
	}
	sort.Strings(out)
	return out
}

// SendDigests sends slot's digest to each owner not yet served: the open
// findings at or above posture.digest.min_severity, marked new or still
// open against the owner's previous digest, plus the ones fixed since.
func (r *Runner) SendDigests(ctx context.Context, slot time.Time, rep *Report) error {
	states, err := r.st.LoadPostureFindings(ctx)
	if err != nil {
		return fmt.Errorf("posture digest: %w", err)
	}
	known := map[string]schemas.PostureFindingRow{}
	for _, s := range states {
		known[s.ID] = s
	}
	var owners []digest.Owner
	for _, o := range r.owners() {
		do := digest.Owner{Owner: o, Channel: r.channel(o)}
		for _, f := range rep.Findings {
			if f.Owner == o && f.Severity.Rank() >= r.minSev.Rank() {
				do.Open = append(do.Open, digest.Item{ID: f.ID, Type: f.Type, Severity: f.Severity, AgentID: f.AgentID,
					Summary: f.Summary, Fix: f.Fix, Evidence: f.Evidence, FirstSeen: known[f.ID].FirstSeen})
			}
		}
		owners = append(owners, do)
	}
	res, err := r.dl.Deliver(ctx, slot, owners, func(id string) digest.Item {
		k := known[id]
		return digest.Item{Type: k.Type, Severity: k.Severity, AgentID: k.AgentID, Summary: orNone(k.Summary), Fix: k.Fix, FirstSeen: k.FirstSeen}
	})
	for range res.Sent {
		r.m.Digest("sent")
	}
	for range res.Failed {
		r.m.Digest("failed")
	}
	for range res.Empty {
		r.m.Digest("empty")
	}
	if res.Sent > 0 {
		r.log.Info("posture digests sent", "slot", slot, "owners", res.Sent, "failed", res.Failed)
	}
	return err
}

// channel is the owner's Slack channel: the first one their agents name.
func (r *Runner) channel(owner string) string {
	for _, ag := range r.inv.Agents() {
		if ag.Owner == owner && ag.Contact.SlackChannel != "" {
			return ag.Contact.SlackChannel
		}
	}
	return ""
}
