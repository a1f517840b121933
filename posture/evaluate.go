package posture

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/alerts"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// Input is what one evaluation reads.
type Input struct {
	Store     Reader
	Inventory *inventory.Inventory
	// Failed are the alert notifications that failed for good (the alerts
	// outbox's `alerts list --failed`): an owner whose contact keeps
	// failing would not hear about an incident.
	Failed []alerts.Notification
	Now    time.Time
	// DormantAfter is detect.dormant_after: silence longer than this makes
	// an active agent dormant.
	DormantAfter time.Duration
}

// Report is one evaluation.
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Findings    []Finding `json:"findings"`
	// Sources says, per agent, where its credentials come from.
	Sources []CredentialSource `json:"credential_sources"`
}

// Credential sources.
const (
	SourceVaultDynamic = "vault_dynamic" // leases from a Vault secrets engine
	SourceVaultKV      = "vault_kv"      // static secrets kept in Vault's KV store
	SourceStatic       = "static"        // long-lived keys outside any vault
	SourceShortLived   = "short_lived"   // cloud sessions, OAuth, workload tokens
	SourceNone         = "none"          // no credentialed activity in the window
)

// CredentialSource is where one agent's credentials come from.
type CredentialSource struct {
	AgentID         string   `json:"agent_id"`
	Owner           string   `json:"owner"`
	Source          string   `json:"source"`
	VaultLeases     int64    `json:"vault_leases"`
	VaultKVReads    int64    `json:"vault_kv_reads"`
	VaultAuth       []string `json:"vault_auth,omitempty"`
	VaultPaths      []string `json:"vault_paths,omitempty"`
	CredentialTypes []string `json:"credential_types,omitempty"`
}

// Evaluator computes posture reports.
type Evaluator struct {
	cfg Config
}

// NewEvaluator validates cfg.
func NewEvaluator(cfg Config) (*Evaluator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Evaluator{cfg: cfg}, nil
}

// Evaluate scans the look-back window and returns every finding, most
// severe first.
func (e *Evaluator) Evaluate(ctx context.Context, in Input) (*Report, error) {
	inv := in.Inventory
	if inv == nil {
		inv = inventory.Empty()
	}
	now := in.Now.UTC()
	window := e.cfg.UnusedAfter
	if in.DormantAfter > window {
		window = in.DormantAfter
	}
	from := now.Add(-window)
	u, err := collect(ctx, in.Store, inv, from, now)
	if err != nil {
		return nil, err
	}
	r := &Report{GeneratedAt: now, From: from, To: now}
	c := &checks{cfg: e.cfg, inv: inv, u: u, now: now, dormantAfter: in.DormantAfter}
	c.owners(in.Failed)
	c.privilege()
	c.secrets()
	c.lifecycle()
	c.delegation()
	r.Findings = c.out
	r.Sources = c.sources()
	SortFindings(r.Findings)
	return r, nil
}

// SortFindings orders findings most severe first, then by type, agent and id.
func SortFindings(fs []Finding) {
	order := map[string]int{}
	for i, t := range Types {
		order[t] = i
	}
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity.Rank() != b.Severity.Rank() {
			return a.Severity.Rank() > b.Severity.Rank()
		}
		if order[a.Type] != order[b.Type] {
			return order[a.Type] < order[b.Type]
		}
		if a.AgentID != b.AgentID {
			return a.AgentID < b.AgentID
		}
		return a.ID < b.ID
	})
}

type checks struct {
	cfg          Config
	inv          *inventory.Inventory
	u            *usage
	now          time.Time
	dormantAfter time.Duration
	out          []Finding
}

func (c *checks) add(f Finding) { c.out = append(c.out, f) }

func (c *checks) owner(agent string) string {
	if ag := c.inv.Get(agent); ag != nil {
		return ag.Owner
	}
	return ""
}

// sortedAgents returns the window's agents (and principals) in id order.
func (c *checks) sortedAgents() []*agentUse {
	out := make([]*agentUse, 0, len(c.u.agents))
	for _, a := range c.u.agents {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (c *checks) sortedCreds() []*credUse {
	out := make([]*credUse, 0, len(c.u.creds))
	for _, x := range c.u.creds {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// owners: principals that act but are no agent, agents nobody owns or can
// be reached about, owners whose contact fails.
func (c *checks) owners(failed []alerts.Notification) {
	for _, a := range c.sortedAgents() {
		if !a.unattributed && c.inv.Get(a.id) != nil {
			continue
		}
		if a.unattributed && a.known == a.events {
			continue // declared under principals: (or by a kind rule) as infrastructure or human
		}
		static := false
		for id := range c.u.creds {
			x := c.u.creds[id]
			if x.typ == schemas.CredStaticKey && x.agents.vals[a.id] > 0 {
				static = true
			}
		}
		sev := schemas.SeverityMedium
		if static {
			sev = schemas.SeverityHigh
		}
		summary := fmt.Sprintf("principal %s acted %d times (%d distinct actions) and maps to no agent in the inventory", a.id, a.events, a.actions.len())
		fix := fmt.Sprintf("Add an attribution rule (ingest.attribution) mapping %s to an inventory agent with an owner, or declare it under principals: as infrastructure or human; if nobody claims it, revoke its credentials.", a.id)
		if awsService(a.id) {
			sev = schemas.SeverityInfo
			summary = fmt.Sprintf("AWS service principal %s acted %d times (%d distinct actions); no inventory entry or known principal covers it", a.id, a.events, a.actions.len())
			fix = fmt.Sprintf("Declare %s as a known infrastructure principal (principals: in agents.yaml) so it is expected.", a.id)
		}
		if a.id == "unknown" {
			sev = schemas.SeverityLow
			summary = fmt.Sprintf("%d events carried no principal at all (%s)", a.events, a.sources.text(4))
			fix = "Find the shipper that drops the identity (see the events' source and src_ip) and make the source log who acted."
		}
		if !a.unattributed && c.inv.Get(a.id) == nil {
			n := a.events
			if a.made != nil {
				n += a.made.events
			}
			summary = fmt.Sprintf("events name agent %s, which is not in the inventory (%d events)", a.id, n)
			fix = fmt.Sprintf("Add agent %s to the inventory with an owner and contact, or correct the attribution rule that names it.", a.id)
		}
		c.add(newFinding(TUnknownPrincipal, sev, a.id, "", a.id, summary, fix,
			evidence("events", fmt.Sprint(a.events), "0 (unknown principal)"),
			evidence("actions", a.actions.text(8), ""),
			evidence("networks", orNone(a.networks.text(8)), ""),
			evidence("first_seen", orNone(formatTime(a.first)), ""),
			evidence("last_seen", orNone(formatTime(a.last)), ""),
			evidence("principals", a.principals.text(4), "")))
	}
	for _, ag := range c.inv.Agents() {
		if ag.Status == inventory.StatusDecommissioned {
			continue
		}
		switch {
		case ag.Owner == "":
			c.add(newFinding(TNoOwner, schemas.SeverityHigh, ag.ID, "", "",
				fmt.Sprintf("agent %s (%s) has no owner: nobody answers for it", ag.ID, ag.Status),
				fmt.Sprintf("Set owner: and contact: for %s in agents.yaml (line %d), or decommission it.", ag.ID, ag.Line),
				evidence("owner", "(none)", "a team")))
		case ag.Contact.Email == "" && ag.Contact.SlackChannel == "" && ag.Contact.PagerDutyService == "":
			c.add(newFinding(TNoContact, schemas.SeverityMedium, ag.ID, ag.Owner, "",
				fmt.Sprintf("agent %s (owner %s) has no contact: its alerts reach nobody", ag.ID, ag.Owner),
				fmt.Sprintf("Set contact.slack_channel and contact.pagerduty_service (or contact.email) for %s in agents.yaml (line %d).", ag.ID, ag.Line),
				evidence("contact", "(none)", "slack_channel, pagerduty_service or email")))
		}
	}
	// Failed deliveries, by owner and destination.
	type dest struct{ owner, receiver, target string }
	type fail struct {
		n      int
		last   time.Time
		err    string
		agents *set
	}
	byDest := map[dest]*fail{}
	for _, n := range failed {
		owner := n.Alert.Identity.Owner
		if owner == "" {
			owner = c.owner(n.Alert.Identity.AgentID)
		}
		if owner == "" {
			continue
		}
		d := dest{owner, n.Receiver, n.Target}
		f := byDest[d]
		if f == nil {
			f = &fail{agents: newSet(maxSetValues)}
			byDest[d] = f
		}
		f.n++
		f.agents.add(n.Alert.Identity.AgentID)
		if n.UpdatedAt.After(f.last) {
			f.last, f.err = n.UpdatedAt, n.LastError
		}
	}
	dests := make([]dest, 0, len(byDest))
	for d := range byDest {
		dests = append(dests, d)
	}
	sort.Slice(dests, func(i, j int) bool {
		return dests[i].owner+dests[i].receiver+dests[i].target < dests[j].owner+dests[j].receiver+dests[j].target
	})
	for _, d := range dests {
		f := byDest[d]
		where := d.receiver
		if d.target != "" {
			where += " → " + d.target
		}
		c.add(newFinding(TContactFailing, schemas.SeverityHigh, "", d.owner, where,
			fmt.Sprintf("owner %s cannot be reached: %d notifications to %s failed for good", d.owner, f.n, where),
			fmt.Sprintf("Fix the destination (channel exists and the bot is invited, PagerDuty service key valid) or change contact: for %s's agents, then run `agentwatch alerts retry` on the failed notifications.", d.owner),
			evidence("failed_notifications", fmt.Sprint(f.n), "0"),
			evidence("last_error", f.err, ""),
			evidence("last_failure", f.last.UTC().Format(time.RFC3339), ""),
			evidence("agents", f.agents.text(8), "")))
	}
}

// lifecycle: past expiry, decommissioned but active or still given
// credentials, dormant, too many instances. Credentials made for an agent
// (a platform node assuming its role: baseline.MadeFor) are not its
// activity, but they are credentials it holds: they keep an expired or
// decommissioned agent's finding up, and a dormant agent's finding says
// they are still being made.
func (c *checks) lifecycle() {
	for _, ag := range c.inv.Agents() {
		use := c.own(ag.ID)
		made := c.made(ag.ID)
		if ag.Expires != nil && c.now.After(*ag.Expires) && ag.Status != inventory.StatusDecommissioned {
			sev, acted := schemas.SeverityMedium, "no activity since"
			switch {
			case use != nil && use.last.After(*ag.Expires):
				sev, acted = schemas.SeverityHigh, "still acting, last at "+use.last.Format(time.RFC3339)
			case made != nil && made.last.After(*ag.Expires):
				sev, acted = schemas.SeverityHigh, "not acting, but credentials are still made for it: "+made.text()
			}
			c.add(newFinding(TExpired, sev, ag.ID, ag.Owner, "",
				fmt.Sprintf("agent %s expired on %s and is still %s (%s)", ag.ID, ag.Expires.UTC().Format(time.DateOnly), ag.Status, acted),
				fmt.Sprintf("Re-approve %s and move expires: forward, or set status: decommissioned and revoke its credentials.", ag.ID),
				evidence("expires", ag.Expires.UTC().Format(time.RFC3339), "in the future"),
				evidence("status", ag.Status, "decommissioned after expiry")))
		}
		if ag.Status == inventory.StatusDecommissioned {
			c.decommissioned(ag, use, made)
		}
		if ag.Status == inventory.StatusActive && c.dormantAfter > 0 {
			last := c.u.agentLast[ag.ID]
			if use != nil && use.last.After(last) {
				last = use.last
			}
			since := last
			what := "last acted " + last.Format(time.RFC3339)
			if last.IsZero() {
				since, what = time.Time{}, "never seen acting"
				if ag.Created != nil {
					since = *ag.Created
				}
			}
			if !since.IsZero() && c.now.Sub(since) > c.dormantAfter {
				ev := []schemas.Evidence{evidence("last_seen", orNone(formatTime(last)), "within "+days(c.dormantAfter))}
				summary := fmt.Sprintf("agent %s is dormant: %s, more than %s ago", ag.ID, what, days(c.dormantAfter))
				fix := fmt.Sprintf("If %s is no longer needed set status: decommissioned and revoke its credentials; otherwise confirm with %s that it should keep its access.", ag.ID, orNone(ag.Owner))
				if made != nil && made.last.After(last) {
					summary += fmt.Sprintf(", yet credentials are still made for it (last %s)", made.last.Format(time.RFC3339))
					ev = append(ev, evidence("credentials_made_for_it", made.text(), "none for an agent that does not act"))
					fix = fmt.Sprintf("%s still gets credentials (%s assumes its role) but uses none: if it is no longer needed, stop what runs it, set status: decommissioned and remove the role; otherwise confirm with %s why it is idle.", ag.ID, made.callers.text(2), orNone(ag.Owner))
				}
				c.add(newFinding(TDormant, schemas.SeverityLow, ag.ID, ag.Owner, "", summary, fix, ev...))
			}
		}
		if ag.Instances > 0 && use != nil {
			limit := int(float64(ag.Instances) * c.cfg.InstancesFactor)
			if n, at, which := use.peak(); n > limit {
				examples := strings.Join(which, ", ")
				if len(which) > 6 {
					examples = strings.Join(which[:6], ", ") + fmt.Sprintf(" (+%d more)", len(which)-6)
				}
				c.add(newFinding(TInstances, schemas.SeverityMedium, ag.ID, ag.Owner, "",
					fmt.Sprintf("agent %s ran %d instances at once (at %s); the inventory declares %d", ag.ID, n, at.UTC().Format(time.RFC3339), ag.Instances),
					fmt.Sprintf("Find who starts the extra instances of %s (a credential copied elsewhere?) and stop them, or raise instances: in agents.yaml if the fleet really grew.", ag.ID),
					evidence("instances_at_once", fmt.Sprint(n), fmt.Sprintf("%d declared (× %g allowed)", ag.Instances, c.cfg.InstancesFactor)),
					evidence("running_then", examples, ""),
					evidence("distinct_in_window", fmt.Sprint(use.instances.len()), "")))
			}
		}
	}
}

// decommissioned: a decommissioned agent that still acts, or for which
// credentials are still made (its role is still assumed for it), at or
// after its decommissioned_at: events before it were its normal work.
func (c *checks) decommissioned(ag *inventory.Agent, use *agentUse, made *madeUse) {
	after := func(t time.Time) bool { return ag.DecommissionedAt == nil || !t.Before(*ag.DecommissionedAt) }
	acts := use != nil && after(use.last)
	holds := made != nil && after(made.last)
	if !acts && !holds {
		return
	}
	var summary, fix string
	var ev []schemas.Evidence
	if acts {
		creds := c.agentCreds(ag.ID)
		summary = fmt.Sprintf("decommissioned agent %s still acts: %d events, last %s, with credentials %s", ag.ID, use.events, use.last.Format(time.RFC3339), orNone(strings.Join(creds, ", ")))
		fix = fmt.Sprintf("Revoke every credential of %s now (%s), remove its role bindings and policies, and find who still runs it (networks: %s).", ag.ID, orNone(strings.Join(creds, ", ")), orNone(use.networks.text(4)))
		ev = append(ev, evidence("events", fmt.Sprint(use.events), "0 (decommissioned)"),
			evidence("credentials", orNone(strings.Join(creds, ", ")), "none"),
			evidence("last_seen", use.last.Format(time.RFC3339), ""))
	}
	if holds {
		if acts {
			summary += fmt.Sprintf("; its role is still assumed for it (%s)", made.text())
		} else {
			summary = fmt.Sprintf("decommissioned agent %s still holds credentials: its role is still assumed for it, %s", ag.ID, made.text())
			fix = fmt.Sprintf("Find why %s still assumes %s's role (its pods, tasks or functions still run?) and stop it, then delete the role or remove it from the role's trust policy, and revoke the role's active sessions (%s).", made.callers.text(2), ag.ID, made.creds.text(4))
		}
		ev = append(ev, evidence("credentials_made", made.text(), "none (decommissioned)"),
			evidence("sessions_made", made.creds.text(6), ""),
			evidence("instances", orNone(made.instances.text(6)), ""))
	}
	if ag.DecommissionedAt != nil {
		ev = append(ev, evidence("decommissioned_at", ag.DecommissionedAt.UTC().Format(time.RFC3339), ""))
	}
	c.add(newFinding(TDecommissionedUsed, schemas.SeverityCritical, ag.ID, ag.Owner, "", summary, fix, ev...))
}

// made is what was made for the agent by known non-agent principals.
func (c *checks) made(agent string) *madeUse {
	if a := c.u.agents[agent]; a != nil && !a.unattributed {
		return a.made
	}
	return nil
}

// delegation: acting for identities outside the declared delegators (for
// anyone at all with "delegators: none"), or for people when none are
// declared.
func (c *checks) delegation() {
	for _, ag := range c.inv.Agents() {
		use := c.own(ag.ID)
		if use == nil {
			continue
		}
		pg := &ag.Playground
		if use.undeclared.len() > 0 {
			summary := fmt.Sprintf("agent %s acted on behalf of %d identities outside its declared delegators", ag.ID, use.undeclared.len())
			fix := fmt.Sprintf("Check why %s acts for %s; if it should, add them to playground.delegators, else fix the caller that passes them.", ag.ID, use.undeclared.text(3))
			base := strings.Join(pg.Delegators, ", ")
			if pg.ActsForNobody() {
				summary = fmt.Sprintf("agent %s acts for nobody (delegators: none) yet acted on behalf of %d identities", ag.ID, use.undeclared.len())
				fix = fmt.Sprintf("Find who passes %s to %s (someone borrowing its session or token, or a caller it now serves); if it should act for them, replace delegators: none with whom it may act for.", use.undeclared.text(3), ag.ID)
				base = "nobody (delegators: none)"
			}
			c.add(newFinding(TUndeclaredDeleg, schemas.SeverityHigh, ag.ID, ag.Owner, "", summary, fix,
				evidence("on_behalf_of", use.undeclared.text(8), base)))
		}
		if len(pg.Delegators) == 0 && use.humans.len() > 0 {
			c.add(newFinding(THumanDelegation, schemas.SeverityMedium, ag.ID, ag.Owner, "",
				fmt.Sprintf("agent %s acts on behalf of %d people but declares no delegators", ag.ID, use.humans.len()),
				fmt.Sprintf("Declare whom %s may act for in playground.delegators (e.g. \"*@example.com\"), so acting for anyone else alarms.", ag.ID),
				evidence("on_behalf_of", use.humans.text(8), "no delegators declared")))
		}
	}
}

// agentCreds lists the credential ids an agent used in the window.
func (c *checks) agentCreds(agent string) []string {
	var out []string
	for _, x := range c.sortedCreds() {
		if x.agents.vals[agent] > 0 {
			out = append(out, x.id)
		}
	}
	if len(out) > 8 {
		out = append(out[:8], fmt.Sprintf("(+%d more)", len(out)-8))
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// days renders a duration in whole days from two days up.
func days(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
	return d.Round(time.Minute).String()
}
