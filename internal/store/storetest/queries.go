package storetest

import (
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// RunDocumentedQueries seeds s with a small scene (every write redelivered
// at least once, and older versions arriving late), runs every query of
// queriesFile (docs/queries.sql) written for dialect, and checks the
// answers, so that both backends give the same answer to the same
// question. Queries without an expectation below must at least run.
func RunDocumentedQueries(t *testing.T, s store.Store, queriesFile, dialect string) {
	b, err := os.ReadFile(queriesFile)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := store.ParseQueries(queriesFile, string(b))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Hour)
	seedScene(t, s, now)
	hour := store.FormatTime(now)
	at := func(d time.Duration) string { return store.FormatTime(now.Add(d)) }
	// Expected leading columns of each answer, as text.
	want := map[string][][]string{
		"agent_playground": {
			{"network", "", "", "", "10.1.2.0/24", "9"},
			{"triple", "aws", "s3:GetObject", "arn:aws:s3:::b/*", "", "40"},
		},
		"agents_over_p99_today": {{"support-bot", hour, "13", "5", "2.6"}},
		"first_seen_actions_this_week": {{"support-bot", "aws", "s3:DeleteObject", at(30 * time.Second)},
			{nodeRole, "aws", "sts:AssumeRole", hour}, {"ghost", "aws", "iam:ListUsers", hour}, {"report-bot", "aws", "sts:AssumeRole", hour}},
		"alerts_per_owner":           {{"team-a", "2", "1", "1"}, {"team-b", "1", "1", "1"}},
		"shared_credentials":         {{"AKIASHARED", "static_key", "2"}},
		"agent_baselines_current":    {{"events", "48"}},
		"unattributed_principals":    {{"ghost", "1", "1"}}, // not the node: it is known infrastructure
		"known_principals":           {{nodeRole, "infrastructure", "3", "1", "1"}},
		"acted_after_decommissioned": {{"billing-bot", hour, "2"}},
		// The open privilege.unused finding's entries, not the fixed one's.
		"posture_unused_entries": {
			{"lake-bot", "team-a", "medium", "statement_actions", "ReadDocs: s3:GetObjectTagging"},
			{"lake-bot", "team-a", "medium", "statements", "Admin, statements[4]"},
		},
	}
	ran := map[string]bool{}
	for _, q := range qs {
		if q.Dialect != dialect {
			continue
		}
		ran[q.Name] = true
		t.Run(q.Name, func(t *testing.T) {
			res, err := s.Query(ctx(t), q.SQL)
			if err != nil {
				t.Fatalf("%s:%d: %v", queriesFile, q.Line, err)
			}
			exp, ok := want[q.Name]
			if !ok {
				return
			}
			got := make([][]string, len(res.Rows))
			for i, row := range res.Rows {
				for j := 0; j < len(row) && (len(exp) == 0 || j < len(exp[0])); j++ {
					got[i] = append(got[i], store.Text(row[j]))
				}
			}
			if !reflect.DeepEqual(got, exp) {
				t.Errorf("%s:%d %s:\n got %q\nwant %q", queriesFile, q.Line, q.Name, got, exp)
			}
		})
	}
	for name := range want {
		if !ran[name] {
			t.Errorf("%s: no %s query named %s", queriesFile, dialect, name)
		}
	}
}

// nodeRole is the scene's infrastructure principal.
const nodeRole = "arn:aws:sts::1:assumed-role/eks-node/i-1"

// seedScene writes the scene twice where redelivery could happen.
func seedScene(t *testing.T, s store.Store, now time.Time) {
	ev := func(id, agent, action, cred string, at time.Time) schemas.AgentEvent {
		e := Event(id, agent, at)
		e.Action, e.CredentialID, e.CredentialType = action, cred, schemas.CredStaticKey
		e.Resource = fmt.Sprintf("arn:aws:s3:::b/%s", id)
		return e
	}
	var evs []schemas.AgentEvent
	for i := 0; i < 12; i++ {
		evs = append(evs, ev(fmt.Sprintf("s-%02d", i), "support-bot", "s3:GetObject", "AKIASHARED", now.Add(time.Duration(i)*time.Second)))
	}
	evs = append(evs,
		ev("s-del", "support-bot", "s3:DeleteObject", "AKIASHARED", now.Add(30*time.Second)),
		ev("s-old", "support-bot", "s3:GetObject", "AKIASHARED", now.AddDate(0, 0, -8)),
		ev("b-1", "billing-bot", "ce:GetCostAndUsage", "AKIASHARED", now),
		ev("b-2", "billing-bot", "ce:GetCostAndUsage", "AKIASHARED", now.Add(time.Second)),
		ev("b-old", "billing-bot", "ce:GetCostAndUsage", "AKIASHARED", now.AddDate(0, 0, -8)),
	)
	ghost := ev("g-1", "ghost", "iam:ListUsers", "AKIAGHOST", now)
	ghost.Unattributed = true
	evs = append(evs, ghost)
	// A node known as infrastructure assumes roles: twice for nobody we
	// know, once making report-bot's credential (attributed to it).
	for i, agent := range []string{nodeRole, nodeRole, "report-bot"} {
		e := ev(fmt.Sprintf("n-%d", i), agent, "sts:AssumeRole", "ASIANODE", now)
		e.Principal, e.PrincipalKind, e.Unattributed = nodeRole, schemas.PrincipalInfrastructure, agent == nodeRole
		if agent == "report-bot" {
			e.CredentialID = "ASIAREPORT"
		}
		evs = append(evs, e)
	}
	must(t, s.InsertEvents(ctx(t), evs))
	must(t, s.InsertEvents(ctx(t), evs[:14])) // redelivered

	// billing-bot was decommissioned this hour; the inventory row before
	// that arrives again late.
	active := schemas.AgentRow{AgentID: "billing-bot", Owner: "team-b", Status: "active", UpdatedAt: now.Add(-time.Hour)}
	gone := active
	gone.Status, gone.DecommissionedAt, gone.UpdatedAt = "decommissioned", ptr(now), now
	must(t, s.UpsertAgents(ctx(t), []schemas.AgentRow{active}))
	must(t, s.UpsertAgents(ctx(t), []schemas.AgentRow{gone}))
	must(t, s.UpsertAgents(ctx(t), []schemas.AgentRow{active}))

	b1 := baseline("support-bot", "events", 1, 20)
	b1.P99 = 50
	b2 := baseline("support-bot", "events", 2, 2)
	b2.P99 = 5
	bb := baseline("billing-bot", "events", 1, 5)
	bb.P99 = 10
	must(t, s.InsertBaselines(ctx(t), []schemas.BaselineRow{b1, bb}))
	must(t, s.InsertBaselines(ctx(t), []schemas.BaselineRow{b2}))
	must(t, s.InsertBaselines(ctx(t), []schemas.BaselineRow{b1})) // late older version

	t1 := schemas.PlaygroundRow{AgentID: "support-bot", Kind: schemas.PlayTriple, System: "aws", Action: "s3:GetObject",
		ResourcePattern: "arn:aws:s3:::b/*", Count: 3, FirstSeen: now.AddDate(0, 0, -8), LastSeen: now, Version: 1}
	t2 := t1
	t2.Count, t2.Version = 40, 2
	nw := schemas.PlaygroundRow{AgentID: "support-bot", Kind: schemas.PlayNetwork, Value: "10.1.2.0/24", Count: 9,
		FirstSeen: now, LastSeen: now, Version: 1}
	must(t, s.InsertPlayground(ctx(t), []schemas.PlaygroundRow{t1, nw}))
	must(t, s.InsertPlayground(ctx(t), []schemas.PlaygroundRow{t2, nw}))

	seen := now.Add(-time.Hour)
	a1 := alert("a1", 1, seen, schemas.StatusFiring)
	a1r := alert("a1", 1, seen.Add(time.Minute), schemas.StatusResolved)
	a2 := alert("a2", 1, seen, schemas.StatusFiring)
	a2.Severity = schemas.SeverityMedium
	a3 := alert("a3", 2, seen, schemas.StatusFiring)
	a3.Severity, a3.Identity.Owner = schemas.SeverityCritical, "team-b"
	must(t, s.UpsertAlerts(ctx(t), []schemas.Alert{a1, a2, a3}))
	must(t, s.UpsertAlerts(ctx(t), []schemas.Alert{a1r}))
	must(t, s.UpsertAlerts(ctx(t), []schemas.Alert{a1, a3}))

	// Posture's least-privilege findings as an evaluation saves them.
	unused := schemas.PostureFindingRow{ID: "pf-lake", Type: "privilege.unused", Severity: schemas.SeverityMedium,
		AgentID: "lake-bot", Owner: "team-a", Summary: "lake-bot did not use 3 of its 12 declared permissions",
		Evidence: `[{"feature":"unused_statements","observed":"Admin, statements[4]","baseline":"used in the last 30 days"},` +
			`{"feature":"unused_statement_actions","observed":"ReadDocs: s3:GetObjectTagging","baseline":"used in the last 30 days"},` +
			`{"feature":"suggested_playground","observed":"systems: [aws:s3]","baseline":""}]`,
		Fix: "remove them", Status: schemas.FindingOpen, FirstSeen: now, LastSeen: now, EvaluatedAt: now, Version: now.UnixNano()}
	gone2 := unused
	gone2.ID, gone2.AgentID, gone2.Status = "pf-old", "old-bot", schemas.FindingFixed
	must(t, s.UpsertPostureFindings(ctx(t), []schemas.PostureFindingRow{unused, gone2}))
}
