package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// Incident is one scripted attack on the fleet.
type Incident struct {
	ID          string
	Description string
	Technique   string // MITRE ATT&CK id
	AgentID     string
	Start       time.Time // time of the first malicious event
	End         time.Time // time of the last malicious event
	// ExpectDetectors are the detectors whose alert on AgentID counts as
	// catching the incident; empty means any detector does.
	ExpectDetectors []string
}

// Detector names as the detect package reports them. The scorer also
// accepts any detector whose name starts with one of these followed by "."
// or "_", so a family name ("volume") covers its members ("volume.spike").
const (
	DetDeclared       = "playground.declared"
	DetFirstAction    = "playground.first_action"
	DetFirstSystem    = "playground.first_system"
	DetNovelResource  = "playground.novel_resource"
	DetDecommissioned = "lifecycle.decommissioned"
	DetExpired        = "lifecycle.expired"
	DetNewSource      = "network.new_source"
	DetNewUserAgent   = "network.new_user_agent"
	DetVolume         = "volume"
	DetHours          = "time.outside_hours"
	DetDelegation     = "delegation"
	DetCredential     = "credential"
)

// buildIncidents scripts the incident day: each incident targets the first
// agent of its kind and is skipped when the fleet has no such agent.
func (f *Fleet) buildIncidents() error {
	d := f.IncidentDay()
	r := rngFor(f.cfg.Seed, "incidents")
	type script struct {
		kind string
		inc  Incident
		gen  func(a *agent, t time.Time) []schemas.AgentEvent
	}
	scripts := []script{
		{KindSupport, Incident{ID: "INC-1-playground-escape", Technique: "T1213",
			Description:     "a prompt-injected ticket makes the support bot export the customer base and read a finance bucket",
			ExpectDetectors: []string{DetDeclared, DetFirstAction, DetFirstSystem}}, func(a *agent, t time.Time) []schemas.AgentEvent {
			inst := a.insts[0]
			var out []schemas.AgentEvent
			for p := 1; p <= 6; p++ {
				ev := f.eventAs(a, inst, t, "mcp", "mcp:crm", "tools/call:export_customers", fmt.Sprintf("crm://customers?page=%d", p), "customer")
				ev.OnBehalfOf, ev.Records = "customer:cus_04711", 5000
				ev.DelegationChain = []string{"customer:cus_04711", a.id}
				out = append(out, ev)
				t = t.Add(time.Duration(3+r.IntN(4)) * time.Second)
			}
			for i := range 3 {
				ev := f.eventAs(a, inst, t, "cloudtrail", "aws:s3", "s3:GetObject",
					fmt.Sprintf("arn:aws:s3:::acme-finance-exports/payroll/2026-%02d.csv", 8+i), "AWS::S3::Object")
				ev.Bytes = 3 << 20
				out = append(out, ev)
				t = t.Add(time.Duration(2+r.IntN(3)) * time.Second)
			}
			return out
		}},
		{KindSales, Incident{ID: "INC-2-stolen-long-lived-key", Technique: "T1078.004",
			Description:     "the sales agent's long-lived API key is used from a Tor exit node by a script dumping contacts",
			ExpectDetectors: []string{DetNewSource, DetNewUserAgent, DetVolume}}, func(a *agent, t time.Time) []schemas.AgentEvent {
			var out []schemas.AgentEvent
			for i := range 250 {
				ev := f.eventAs(a, "", t, "mcp", "mcp:salesforce", "tools/call:get_contact", fmt.Sprintf("salesforce://contacts/003%07d", 100+i*37), "contact")
				ev.SrcIP, ev.UserAgent = "185.220.101.47", "python-requests/2.32.3"
				out = append(out, ev)
				t = t.Add(time.Duration(800+r.IntN(1200)) * time.Millisecond)
			}
			return out
		}},
		{"report-bot", Incident{ID: "INC-3-decommissioned-agent-acts", Technique: "T1078.004",
			Description:     "the decommissioned report bot's never-revoked access key reads reports from the lake again",
			ExpectDetectors: []string{DetDecommissioned, DetExpired}}, func(a *agent, t time.Time) []schemas.AgentEvent {
			inst := a.insts[0]
			out := []schemas.AgentEvent{f.eventAs(a, inst, t, "cloudtrail", "aws:s3", "s3:ListBucket", lake, "AWS::S3::Bucket")}
			for i := range 12 {
				t = t.Add(time.Duration(1+r.IntN(4)) * time.Second)
				ev := f.eventAs(a, inst, t, "cloudtrail", "aws:s3", "s3:GetObject",
					fmt.Sprintf("%s/reports/daily/dt=%s/summary.parquet", lake, d.AddDate(0, 0, -1-i).Format("2006-01-02")), "AWS::S3::Object")
				ev.Bytes = 2 << 20
				out = append(out, ev)
			}
			return out
		}},
		{KindData, Incident{ID: "INC-4-volume-spike", Technique: "T1530",
			Description:     "the data-analysis agent pulls 900 lake partitions in half an hour, about 20x its normal hour",
			ExpectDetectors: []string{DetVolume}}, func(a *agent, t time.Time) []schemas.AgentEvent {
			inst := a.insts[0]
			var out []schemas.AgentEvent
			for i := range 900 {
				day := d.AddDate(0, 0, -1-i%30).Format("2006-01-02")
				ev := f.eventAs(a, inst, t, "cloudtrail", "aws:s3", "s3:GetObject",
					fmt.Sprintf("%s/events/dt=%s/part-%05d.parquet", lake, day, i/30), "AWS::S3::Object")
				ev.Bytes = int64(8<<20 + r.IntN(56<<20))
				out = append(out, ev)
				t = t.Add(time.Duration(1500+r.IntN(1000)) * time.Millisecond)
			}
			return out
		}},
		{KindOps, Incident{ID: "INC-5-first-sensitive-action", Technique: "T1555.006",
			Description:     "the ops agent reads the production database master secret, which it is allowed to but never did",
			ExpectDetectors: []string{DetFirstAction, DetFirstSystem}}, func(a *agent, t time.Time) []schemas.AgentEvent {
			inst := a.insts[0]
			var out []schemas.AgentEvent
			for _, s := range []string{"ops/prod-db-master", "ops/pagerduty-api-key"} {
				out = append(out, f.eventAs(a, inst, t, "cloudtrail", "aws:secretsmanager", "secretsmanager:GetSecretValue",
					"arn:aws:secretsmanager:eu-west-1:"+awsAccount+":secret:"+s, "AWS::SecretsManager::Secret"))
				t = t.Add(time.Duration(5+r.IntN(20)) * time.Second)
			}
			return out
		}},
	}
	starts := map[string]time.Duration{
		"INC-1-playground-escape":         10*time.Hour + 5*time.Minute,
		"INC-2-stolen-long-lived-key":     11*time.Hour + 30*time.Minute,
		"INC-3-decommissioned-agent-acts": 13*time.Hour + 20*time.Minute,
		"INC-4-volume-spike":              15 * time.Hour,
		"INC-5-first-sensitive-action":    19*time.Hour + 40*time.Minute,
	}
	for _, s := range scripts {
		a := f.legacy
		if s.kind != a.kind {
			a = f.byID[f.FirstOfKind(s.kind)]
		}
		if a == nil {
			continue
		}
		t0 := d.Add(starts[s.inc.ID]).Add(time.Duration(r.IntN(60_000)) * time.Millisecond)
		evs := s.gen(a, t0)
		inc := s.inc
		inc.AgentID = a.id
		inc.Start, inc.End = evs[0].Time, evs[len(evs)-1].Time
		f.incidents = append(f.incidents, inc)
		for _, ev := range evs {
			f.attacks = append(f.attacks, Labeled{Event: ev, Label: LabelAttack, Incident: inc.ID, Technique: inc.Technique})
		}
	}
	slices.SortStableFunc(f.attacks, func(x, y Labeled) int { return x.Event.Time.Compare(y.Event.Time) })
	slices.SortStableFunc(f.incidents, func(x, y Incident) int { return x.Start.Compare(y.Start) })
	return nil
}

// eventAs builds an event by agent a's instance inst (any instance when
// empty) at t, carrying the identity the agent had then.
func (f *Fleet) eventAs(a *agent, inst string, t time.Time, source, system, action, resource, rtype string) schemas.AgentEvent {
	if inst == "" {
		inst = a.insts[0]
	}
	ev := schemas.AgentEvent{Time: t, Source: source, System: system, Action: action, Resource: resource,
		ResourceType: rtype, Outcome: schemas.OutcomeSuccess}
	a.identity(&ev, inst, t)
	if system == "k8s" && (a.kind == KindCI || a.kind == KindOps) {
		a.k8sIdentity(&ev, t)
	}
	return ev
}

// EventAs returns an event by agentID (its instance inst, or its first
// instance when empty) at t, with the identity fields (principal,
// credential, source address, user agent, delegation) the agent had at
// that moment; the caller sets what it did. The eval harness builds its
// injected events from it so they differ from normal traffic only where
// the scenario says.
func (f *Fleet) EventAs(agentID, inst string, t time.Time, system, action, resource string) (schemas.AgentEvent, error) {
	a := f.byID[agentID]
	if a == nil {
		return schemas.AgentEvent{}, fmt.Errorf("agent %q is not in the fleet (have %s)", agentID, strings.Join(append(f.AgentIDs(), DecommissionedID), ", "))
	}
	source := "canonical"
	switch {
	case strings.HasPrefix(system, "aws:"):
		source = "cloudtrail"
	case strings.HasPrefix(system, "mcp:"):
		source = "mcp"
	case system == "k8s":
		source = "k8s"
	}
	ev := f.eventAs(a, inst, t, source, system, action, resource, "")
	if a.kind == KindSupport {
		// The support bot always acts for a customer.
		ev.OnBehalfOf = "customer:cus_00042"
		ev.DelegationChain = []string{ev.OnBehalfOf, a.id}
	}
	return ev, nil
}
