// Package storetest is the conformance suite every store.Store backend
// passes: the same behaviour, including idempotent redelivery, whether the
// rows land in SQLite or ClickHouse.
package storetest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// Opener returns a fresh, migrated, empty store; the suite closes it.
type Opener func(t *testing.T) store.Store

// Run runs every conformance test against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"MigrateIsIdempotent", testMigrate},
		{"EventsRoundTrip", testEventsRoundTrip},
		{"EventsRedelivered", testEventsRedelivered},
		{"ScanEventsFilters", testScanFilters},
		{"ScanEventsLarge", testScanLarge},
		{"Windows", testWindows},
		{"Baselines", testBaselines},
		{"Playground", testPlayground},
		{"Agents", testAgents},
		{"Alerts", testAlerts},
		{"AlertByID", testAlertByID},
		{"SearchEvents", testSearch},
		{"Actions", testActions},
		{"Notifications", testNotifications},
		{"PostureFindings", testPostureFindings},
		{"UnusedPermissionsView", testUnusedPermissionsView},
		{"QueryIsReadOnly", testQueryReadOnly},
		{"DropPartitionsBefore", testDrop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// base is a fixed time so that results do not depend on the clock.
var base = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func ptr(t time.Time) *time.Time { return &t }

// Event returns a fully populated event for agent at time at.
func Event(id, agent string, at time.Time) schemas.AgentEvent {
	return schemas.AgentEvent{
		EventID: id, Time: at, Source: "cloudtrail", AgentID: agent, AgentInstance: "pod-1",
		Principal: "arn:aws:iam::1:role/r", CredentialID: "ASIAEXAMPLE", CredentialType: schemas.CredSTSSession,
		CredentialIssuedAt: ptr(base.Add(-time.Hour)), CredentialExpiresAt: ptr(base.Add(time.Hour)),
		OnBehalfOf: "alice@example.com", DelegationChain: []string{"alice@example.com", "planner"},
		Action: "s3:GetObject", System: "aws", Resource: "arn:aws:s3:::b/k", ResourceType: "s3_object",
		Outcome: schemas.OutcomeSuccess, SrcIP: "10.1.2.3", UserAgent: "boto3/1.34", Bytes: 42, Records: 1,
		Attributes: map[string]string{"region": "eu-west-1"},
	}
}

func scanAll(t *testing.T, s store.Store, agent string, from, to time.Time) []schemas.AgentEvent {
	t.Helper()
	var agents []string
	if agent != "" {
		agents = strings.Split(agent, ",")
	}
	var out []schemas.AgentEvent
	if err := s.ScanEvents(ctx(t), agents, from, to, func(ev schemas.AgentEvent) error {
		out = append(out, ev)
		return nil
	}); err != nil {
		t.Fatalf("ScanEvents: %v", err)
	}
	return out
}

func ids(evs []schemas.AgentEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.EventID
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// queryText runs a query and returns its rows as text (store.Text).
func queryText(t *testing.T, s store.Store, q string) [][]string {
	t.Helper()
	res, err := s.Query(ctx(t), q)
	if err != nil {
		t.Fatalf("Query(%s): %v", q, err)
	}
	var rows [][]string
	for _, r := range res.Rows {
		row := make([]string, len(r))
		for i, v := range r {
			row[i] = store.Text(v)
		}
		rows = append(rows, row)
	}
	return rows
}

// queryInt runs a one-value query and returns it as int64 whatever
// integer type the driver chose.
func queryInt(t *testing.T, s store.Store, q string, args ...any) int64 {
	t.Helper()
	res, err := s.Query(ctx(t), q, args...)
	if err != nil {
		t.Fatalf("Query(%s): %v", q, err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		t.Fatalf("Query(%s): got %v, want one value", q, res.Rows)
	}
	v := reflect.ValueOf(res.Rows[0][0])
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(v.Uint())
	}
	t.Fatalf("Query(%s): value %v (%T) is not an integer", q, res.Rows[0][0], res.Rows[0][0])
	return 0
}

func testMigrate(t *testing.T, s store.Store) {
	must(t, s.Migrate(ctx(t)))
	must(t, s.Migrate(ctx(t)))
	if n := queryInt(t, s, "SELECT count(*) FROM schema_migrations WHERE version = 1"); n != 1 {
		t.Errorf("schema_migrations rows for version 1 = %d, want 1", n)
	}
}

func testEventsRoundTrip(t *testing.T, s store.Store) {
	full := Event("e1", "agent-a", base.Add(1500*time.Millisecond))
	bare := schemas.AgentEvent{EventID: "e2", Time: base.Add(2 * time.Second), Source: "mcp", AgentID: "agent-a",
		Action: "tools/call", System: "mcp", Outcome: schemas.OutcomeDenied, Unattributed: true,
		PrincipalKind: schemas.PrincipalInfrastructure}
	must(t, s.InsertEvents(ctx(t), []schemas.AgentEvent{bare, full}))
	got := scanAll(t, s, "", base, base.Add(time.Hour))
	want := []schemas.AgentEvent{full, bare}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ScanEvents round trip:\n got %+v\nwant %+v", got, want)
	}
}

func testEventsRedelivered(t *testing.T, s store.Store) {
	a := Event("e1", "agent-a", base)
	b := Event("e2", "agent-a", base.Add(time.Minute))
	must(t, s.InsertEvents(ctx(t), []schemas.AgentEvent{a, b}))
	// The same batch again, as after a consumer restart, plus a duplicate
	// inside one batch.
	must(t, s.InsertEvents(ctx(t), []schemas.AgentEvent{a, b, b}))
	if got := ids(scanAll(t, s, "", base, base.Add(time.Hour))); !reflect.DeepEqual(got, []string{"e1", "e2"}) {
		t.Errorf("ScanEvents after redelivery = %v, want [e1 e2]", got)
	}
	if n := queryInt(t, s, "SELECT count(DISTINCT event_id) FROM events"); n != 2 {
		t.Errorf("distinct events = %d, want 2", n)
	}
}

func testScanFilters(t *testing.T, s store.Store) {
	evs := []schemas.AgentEvent{
		Event("a2", "agent-a", base.Add(2*time.Second)),
		Event("a1", "agent-a", base.Add(time.Second)),
		Event("b1", "agent-b", base.Add(time.Second)),
		Event("a0", "agent-a", base.Add(-time.Second)),
		Event("a3", "agent-a", base.Add(3*time.Second+500*time.Millisecond)),
		Event("c1", "agent-c", base.Add(1500*time.Millisecond)),
	}
	must(t, s.InsertEvents(ctx(t), evs))
	cases := []struct {
		agent    string
		from, to time.Time
		want     []string
	}{
		{"", base, base.Add(time.Hour), []string{"a1", "b1", "c1", "a2", "a3"}},
		{"agent-a,agent-b", base, base.Add(time.Hour), []string{"a1", "b1", "a2", "a3"}},
		{"agent-b,agent-c", base, base.Add(time.Hour), []string{"b1", "c1"}},
		{"agent-a", base, base.Add(time.Hour), []string{"a1", "a2", "a3"}},
		{"agent-a", base.Add(time.Second), base.Add(2 * time.Second), []string{"a1"}},
		{"agent-a", base.Add(3 * time.Second), base.Add(3*time.Second + 500*time.Millisecond), nil},
		{"agent-b", base.Add(2 * time.Second), base.Add(time.Hour), nil},
		{"", time.Time{}, time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), []string{"a0", "a1", "b1", "c1", "a2", "a3"}},
	}
	for _, c := range cases {
		got := ids(scanAll(t, s, c.agent, c.from, c.to))
		if len(got) == 0 {
			got = nil
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ScanEvents(%q, %s, %s) = %v, want %v", c.agent, c.from.Format(time.TimeOnly), c.to.Format(time.StampMilli), got, c.want)
		}
	}
	stop := fmt.Errorf("stop")
	n := 0
	err := s.ScanEvents(ctx(t), nil, base, base.Add(time.Hour), func(schemas.AgentEvent) error { n++; return stop })
	if err == nil || n != 1 {
		t.Errorf("ScanEvents with a failing callback: err=%v after %d calls, want the callback's error after 1", err, n)
	}
}

// testScanLarge scans more events than a few of the server's blocks hold
// (ClickHouse sends a scan in blocks of 8,192 rows), some of them stored
// twice, as a posture evaluation of a busy month does: every event once,
// in time order.
func testScanLarge(t *testing.T, s store.Store) {
	const n = 20000
	evs := make([]schemas.AgentEvent, 0, n)
	for i := range n {
		evs = append(evs, Event(fmt.Sprintf("e%05d", i), fmt.Sprintf("agent-%d", i%7), base.Add(time.Duration(i)*time.Second)))
	}
	must(t, s.InsertEvents(ctx(t), evs))
	must(t, s.InsertEvents(ctx(t), evs[n/2:n/2+3000])) // a redelivered batch
	got := scanAll(t, s, "", base, base.Add(n*time.Second))
	if len(got) != n {
		t.Fatalf("scanned %d events, want %d", len(got), n)
	}
	for i, ev := range got {
		if want := fmt.Sprintf("e%05d", i); ev.EventID != want {
			t.Fatalf("event %d is %s, want %s (every event once, in time order)", i, ev.EventID, want)
		}
	}
}

// testNotifications: one row per incident, receiver and target, the
// latest update winning whatever order the updates arrive in.
func testNotifications(t *testing.T, s store.Store) {
	at := base.Add(time.Minute)
	n := func(receiver, target, state string, attempts int, updated time.Time) schemas.NotificationRow {
		r := schemas.NotificationRow{AlertID: "inc-1", Receiver: receiver, Target: target, State: state, Attempts: attempts,
			Count: int64(attempts), UpdatedAt: updated}
		if state == "delivered" {
			r.LastSentAt = updated
		} else {
			r.LastError = "slack: channel_not_found"
		}
		return r
	}
	must(t, s.UpsertNotifications(ctx(t), []schemas.NotificationRow{
		n("team-slack", "#support", "pending", 1, at),
		n("pagerduty", "", "delivered", 1, at),
		{AlertID: "inc-2", Receiver: "team-slack", State: "pending", UpdatedAt: at},
	}))
	must(t, s.UpsertNotifications(ctx(t), []schemas.NotificationRow{n("team-slack", "#support", "delivered", 2, at.Add(time.Second))}))
	// An older state arriving late (a sync that read before the last one)
	// changes nothing.
	must(t, s.UpsertNotifications(ctx(t), []schemas.NotificationRow{n("pagerduty", "", "failed", 0, at.Add(-time.Second))}))
	got, err := s.LoadNotifications(ctx(t), "inc-1")
	if err != nil {
		t.Fatal(err)
	}
	want := []schemas.NotificationRow{n("pagerduty", "", "delivered", 1, at), n("team-slack", "#support", "delivered", 2, at.Add(time.Second))}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadNotifications:\n got %+v\nwant %+v", got, want)
	}
	if none, err := s.LoadNotifications(ctx(t), "inc-9"); err != nil || len(none) != 0 {
		t.Errorf("LoadNotifications of an incident never notified = %+v, %v", none, err)
	}
}

func window(agent string, start time.Time, events int64, updated time.Time) schemas.WindowRow {
	return schemas.WindowRow{AgentID: agent, WindowStart: start, WindowEnd: start.Add(time.Hour), HourOfWeek: 10,
		Events: events, DistinctActions: 2, DistinctResources: 3, DistinctSystems: 1, DistinctNetworks: 1,
		Failures: 1, Denials: 0, Bytes: 100, Records: 5, ActionCounts: map[string]int64{"s3:GetObject": events},
		UpdatedAt: updated}
}

func testWindows(t *testing.T, s store.Store) {
	w0 := window("agent-a", base, 10, base.Add(time.Hour))
	w1 := window("agent-a", base.Add(time.Hour), 20, base.Add(2*time.Hour))
	other := window("agent-b", base.Add(time.Hour), 5, base.Add(2*time.Hour))
	must(t, s.InsertWindows(ctx(t), []schemas.WindowRow{w1, w0, other}))
	newer := w1
	newer.Events, newer.UpdatedAt = 25, base.Add(3*time.Hour)
	must(t, s.InsertWindows(ctx(t), []schemas.WindowRow{newer}))
	must(t, s.InsertWindows(ctx(t), []schemas.WindowRow{w1})) // late redelivery of the older row
	got, err := s.LoadWindows(ctx(t), "agent-a", base)
	must(t, err)
	if want := []schemas.WindowRow{w0, newer}; !reflect.DeepEqual(got, want) {
		t.Errorf("LoadWindows:\n got %+v\nwant %+v", got, want)
	}
	if all, err := s.LoadWindows(ctx(t), "agent-a", time.Time{}); err != nil || len(all) != 2 {
		t.Errorf("LoadWindows since the zero time = %d windows, %v; want 2", len(all), err)
	}
	got, err = s.LoadWindows(ctx(t), "agent-a", base.Add(time.Minute))
	must(t, err)
	if len(got) != 1 || got[0].Events != 25 {
		t.Errorf("LoadWindows since +1m = %+v, want only the 25-event window", got)
	}
}

func baseline(agent, feature string, version int64, median float64) schemas.BaselineRow {
	return schemas.BaselineRow{AgentID: agent, Feature: feature, Samples: 24 * version, Median: median, MAD: 1.5,
		EWMAMean: median + 0.5, EWMAVar: 2.25, P50: median, P95: median * 2, P99: median * 3,
		Seasonality: "hour_of_week", Seasonal: []float64{1, 2.5}, Mature: version > 1,
		FirstWindow: base, LastWindow: base.Add(time.Duration(version) * time.Hour), Version: version,
		UpdatedAt: base.Add(time.Duration(version) * time.Hour), State: []byte{0, 1, 2, 0xff}}
}

func testBaselines(t *testing.T, s store.Store) {
	a1 := baseline("agent-a", "events", 1, 10)
	a2 := baseline("agent-a", "events", 2, 12)
	b1 := baseline("agent-b", "events", 1, 3)
	b1.Seasonal, b1.State = nil, nil
	af := baseline("agent-a", "failures", 5, 1)
	must(t, s.InsertBaselines(ctx(t), []schemas.BaselineRow{a1, b1}))
	must(t, s.InsertBaselines(ctx(t), []schemas.BaselineRow{a2, af}))
	must(t, s.InsertBaselines(ctx(t), []schemas.BaselineRow{a1})) // redelivered old version
	got, err := s.LoadBaselines(ctx(t), nil)
	must(t, err)
	if want := []schemas.BaselineRow{a2, af, b1}; !reflect.DeepEqual(normState(got), normState(want)) {
		t.Errorf("LoadBaselines(all):\n got %+v\nwant %+v", got, want)
	}
	got, err = s.LoadBaselines(ctx(t), []string{"agent-b", "agent-z"})
	must(t, err)
	if want := []schemas.BaselineRow{b1}; !reflect.DeepEqual(normState(got), normState(want)) {
		t.Errorf("LoadBaselines(agent-b):\n got %+v\nwant %+v", got, want)
	}
}

// normState treats an empty State like nil: a backend may not tell them apart.
func normState(rows []schemas.BaselineRow) []schemas.BaselineRow {
	out := append([]schemas.BaselineRow(nil), rows...)
	for i := range out {
		if len(out[i].State) == 0 {
			out[i].State = nil
		}
	}
	return out
}

func testPlayground(t *testing.T, s store.Store) {
	triple := schemas.PlaygroundRow{AgentID: "agent-a", Kind: schemas.PlayTriple, System: "aws", Action: "s3:GetObject",
		ResourcePattern: "arn:aws:s3:::b/*", Count: 3, FirstSeen: base, LastSeen: base.Add(time.Hour), Version: 1}
	network := schemas.PlaygroundRow{AgentID: "agent-a", Kind: schemas.PlayNetwork, Value: "10.1.2.0/24", Count: 9,
		FirstSeen: base, LastSeen: base.Add(time.Hour), Version: 1}
	must(t, s.InsertPlayground(ctx(t), []schemas.PlaygroundRow{triple, network}))
	newer := triple
	newer.Count, newer.LastSeen, newer.Version = 7, base.Add(2*time.Hour), 2
	must(t, s.InsertPlayground(ctx(t), []schemas.PlaygroundRow{newer}))
	must(t, s.InsertPlayground(ctx(t), []schemas.PlaygroundRow{triple}))
	got, err := s.LoadPlayground(ctx(t), []string{"agent-a"})
	must(t, err)
	if want := []schemas.PlaygroundRow{network, newer}; !reflect.DeepEqual(got, want) {
		t.Errorf("LoadPlayground:\n got %+v\nwant %+v", got, want)
	}
	got, err = s.LoadPlayground(ctx(t), []string{"agent-b"})
	must(t, err)
	if len(got) != 0 {
		t.Errorf("LoadPlayground(agent-b) = %+v, want none", got)
	}
}

func testAgents(t *testing.T, s store.Store) {
	row := schemas.AgentRow{AgentID: "agent-a", DisplayName: "A", Kind: "langgraph", Owner: "team-old",
		Status: "active", CreatedAt: ptr(base), Declared: `{"systems":["aws"]}`, UpdatedAt: base}
	must(t, s.UpsertAgents(ctx(t), []schemas.AgentRow{row}))
	newer := row
	newer.Owner, newer.UpdatedAt = "team-new", base.Add(time.Hour)
	must(t, s.UpsertAgents(ctx(t), []schemas.AgentRow{newer}))
	must(t, s.UpsertAgents(ctx(t), []schemas.AgentRow{row}))
	// The documented way to read the current row, correct on both
	// backends before and after ClickHouse merges.
	res, err := s.Query(ctx(t), "SELECT owner FROM agents WHERE agent_id = 'agent-a' ORDER BY updated_at DESC LIMIT 1")
	must(t, err)
	if len(res.Rows) != 1 || store.Text(res.Rows[0][0]) != "team-new" {
		t.Errorf("current owner = %v, want team-new", res.Rows)
	}
	// Lifecycle dates are stored; an undated status leaves them NULL.
	gone := row
	gone.AgentID, gone.Status = "agent-gone", "decommissioned"
	gone.SuspendedAt, gone.DecommissionedAt = ptr(base.Add(24*time.Hour)), ptr(base.Add(48*time.Hour))
	must(t, s.UpsertAgents(ctx(t), []schemas.AgentRow{gone}))
	n := queryInt(t, s, "SELECT count(*) FROM agents WHERE agent_id = 'agent-gone' AND decommissioned_at > suspended_at AND resumed_at IS NULL")
	if n != 1 {
		t.Errorf("agents with decommissioned_at after suspended_at and no resumed_at = %d, want 1", n)
	}
}

func alert(id string, count int, last time.Time, status string) schemas.Alert {
	return schemas.Alert{ID: id, DedupKey: "agent-a|first_action|s3:DeleteObject", Detector: "first_action",
		Severity: schemas.SeverityHigh, Score: 75, Boundary: schemas.BoundaryLearned,
		Identity: schemas.Identity{AgentID: "agent-a", AgentInstance: "pod-1", DisplayName: "A", Kind: "langgraph",
			Owner: "team-a", SlackChannel: "#a", PagerDutyService: "P1", Status: "active", OnBehalfOf: "alice",
			Principal: "role/r", CredentialID: "ASIA1", CredentialType: schemas.CredSTSSession, CredentialIssued: ptr(base)},
		Subject: "s3:DeleteObject", Summary: "first s3:DeleteObject", Reason: "never seen in 30 days",
		Evidence:  []schemas.Evidence{{Feature: "action", Observed: "s3:DeleteObject", Baseline: "absent"}},
		FirstSeen: base, LastSeen: last, Count: count, EventIDs: []string{"e1", "e2"}, Status: status,
		Labels:            map[string]string{"env": "prod"},
		DistinctResources: 2 + count, ResourceExamples: []string{"arn:aws:s3:::b/k1", "arn:aws:s3:::b/k2"},
		DistinctActions: 1, ActionExamples: []string{"s3:DeleteObject"}, DistinctSubjects: 1, SubjectExamples: []string{"s3:DeleteObject"}}
}

func testAlerts(t *testing.T, s store.Store) {
	first := alert("al-1", 1, base, schemas.StatusFiring)
	later := alert("al-1", 3, base.Add(time.Minute), schemas.StatusFiring)
	resolved := alert("al-1", 3, base.Add(time.Minute), schemas.StatusResolved)
	other := alert("al-2", 1, base.Add(2*time.Minute), schemas.StatusFiring)
	other.Identity = schemas.Identity{AgentID: "agent-b"}
	other.Evidence, other.EventIDs, other.Labels, other.DryRun = nil, nil, nil, true
	// An alert stored before incidents had a scope reads back without one.
	other.DistinctResources, other.ResourceExamples, other.DistinctActions, other.ActionExamples = 0, nil, 0, nil
	other.DistinctSubjects, other.SubjectExamples = 0, nil
	must(t, s.UpsertAlerts(ctx(t), []schemas.Alert{first, other}))
	must(t, s.UpsertAlerts(ctx(t), []schemas.Alert{later}))
	must(t, s.UpsertAlerts(ctx(t), []schemas.Alert{resolved}))
	must(t, s.UpsertAlerts(ctx(t), []schemas.Alert{first, later})) // redelivered older states
	got, err := s.LoadAlerts(ctx(t), store.AlertFilter{})
	must(t, err)
	if want := []schemas.Alert{other, resolved}; !reflect.DeepEqual(got, want) {
		t.Errorf("LoadAlerts(all):\n got %+v\nwant %+v", got, want)
	}
	filters := []struct {
		f    store.AlertFilter
		want []string
	}{
		{store.AlertFilter{AgentID: "agent-a"}, []string{"al-1"}},
		{store.AlertFilter{Status: schemas.StatusFiring}, []string{"al-2"}},
		{store.AlertFilter{Status: schemas.StatusResolved}, []string{"al-1"}},
		{store.AlertFilter{Since: base.Add(90 * time.Second)}, []string{"al-2"}},
		{store.AlertFilter{Limit: 1}, []string{"al-2"}},
	}
	for _, c := range filters {
		got, err := s.LoadAlerts(ctx(t), c.f)
		must(t, err)
		var gotIDs []string
		for _, a := range got {
			gotIDs = append(gotIDs, a.ID)
		}
		if !reflect.DeepEqual(gotIDs, c.want) {
			t.Errorf("LoadAlerts(%+v) = %v, want %v", c.f, gotIDs, c.want)
		}
	}
}

func testQueryReadOnly(t *testing.T, s store.Store) {
	writes := []string{
		"INSERT INTO agents (agent_id, updated_at) VALUES ('intruder', '2026-01-01 00:00:00')",
		"DROP TABLE agents",
	}
	for _, q := range writes {
		if _, err := s.Query(ctx(t), q); err == nil {
			t.Errorf("Query(%q) succeeded, want it refused", q)
		}
	}
	if n := queryInt(t, s, "SELECT count(*) FROM agents"); n != 0 {
		t.Errorf("agents has %d rows after refused writes, want 0", n)
	}
	res, err := s.Query(ctx(t), "SELECT 1 AS one, 'x' AS letter")
	must(t, err)
	if !reflect.DeepEqual(res.Columns, []string{"one", "letter"}) || len(res.Rows) != 1 {
		t.Errorf("Query(SELECT 1, 'x') = %+v", res)
	}
}

func testDrop(t *testing.T, s store.Store) {
	day := func(d int) time.Time { return base.AddDate(0, 0, d) }
	midnight := day(2).Truncate(24 * time.Hour)
	must(t, s.InsertEvents(ctx(t), []schemas.AgentEvent{
		Event("d0", "agent-a", day(0)), Event("d1", "agent-a", day(1)), Event("d2", "agent-a", midnight.Add(-time.Second)),
		Event("d3", "agent-a", midnight),
	}))
	must(t, s.InsertWindows(ctx(t), []schemas.WindowRow{window("agent-a", day(0), 1, day(0)), window("agent-a", day(2), 1, day(2))}))
	got, err := s.DropPartitionsBefore(ctx(t), day(2).Add(5*time.Hour))
	must(t, err)
	want := []string{day(0).Format(store.DayLayout), day(1).Format(store.DayLayout)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DropPartitionsBefore = %v, want %v", got, want)
	}
	if left := ids(scanAll(t, s, "", day(-1), day(5))); !reflect.DeepEqual(left, []string{"d3"}) {
		t.Errorf("events left = %v, want [d3]", left)
	}
	ws, err := s.LoadWindows(ctx(t), "agent-a", day(-1))
	must(t, err)
	if len(ws) != 1 || !ws[0].WindowStart.Equal(day(2)) {
		t.Errorf("windows left = %+v, want only the one of day 2", ws)
	}
	again, err := s.DropPartitionsBefore(ctx(t), day(2))
	must(t, err)
	if len(again) != 0 {
		t.Errorf("second DropPartitionsBefore = %v, want nothing", again)
	}
}

func testAlertByID(t *testing.T, s store.Store) {
	a := schemas.Alert{ID: "al-x", DedupKey: "agent-a|d|s", Detector: "d", Severity: schemas.SeverityHigh, Score: 70,
		Boundary: schemas.BoundaryLearned, Identity: schemas.Identity{AgentID: "agent-a"}, Summary: "x",
		FirstSeen: base, LastSeen: base, Count: 1, Status: schemas.StatusFiring}
	b := a
	b.ID, b.DedupKey = "al-y", "agent-a|d|t"
	must(t, s.UpsertAlerts(ctx(t), []schemas.Alert{a, b}))
	got, err := s.LoadAlerts(ctx(t), store.AlertFilter{ID: "al-y"})
	must(t, err)
	if len(got) != 1 || got[0].ID != "al-y" {
		t.Errorf("LoadAlerts(ID al-y) = %+v, want only al-y", got)
	}
}

func testSearch(t *testing.T, s store.Store) {
	e1 := Event("s1", "agent-a", base)
	e2 := Event("s2", "agent-a", base.Add(time.Minute))
	e2.AgentInstance, e2.OnBehalfOf, e2.Action = "pod-2", "bob@example.com", "s3:PutObject"
	e3 := Event("s3", "agent-b", base.Add(2*time.Minute))
	e3.CredentialID, e3.Resource = "AKIAOTHER", "arn:aws:s3:::b/other"
	must(t, s.InsertEvents(ctx(t), []schemas.AgentEvent{e1, e2, e3}))
	must(t, s.InsertEvents(ctx(t), []schemas.AgentEvent{e3})) // redelivered
	cases := []struct {
		q    store.EventSearch
		want []string
	}{
		{store.EventSearch{}, []string{"s3", "s2", "s1"}},
		{store.EventSearch{AgentID: "agent-a"}, []string{"s2", "s1"}},
		{store.EventSearch{Instance: "pod-2"}, []string{"s2"}},
		{store.EventSearch{OnBehalfOf: "alice@example.com"}, []string{"s3", "s1"}},
		{store.EventSearch{CredentialID: "AKIAOTHER"}, []string{"s3"}},
		{store.EventSearch{Action: "s3:PutObject"}, []string{"s2"}},
		{store.EventSearch{Resource: "arn:aws:s3:::b/other"}, []string{"s3"}},
		{store.EventSearch{EventIDs: []string{"s1", "s3"}}, []string{"s3", "s1"}},
		{store.EventSearch{From: base.Add(30 * time.Second), To: base.Add(2 * time.Minute)}, []string{"s2"}},
		{store.EventSearch{Limit: 1}, []string{"s3"}},
	}
	for _, c := range cases {
		got, err := s.SearchEvents(ctx(t), c.q)
		must(t, err)
		if g := ids(got); !reflect.DeepEqual(g, c.want) {
			t.Errorf("SearchEvents(%+v) = %v, want %v", c.q, g, c.want)
		}
	}
	got, err := s.SearchEvents(ctx(t), store.EventSearch{EventIDs: []string{"s2"}})
	must(t, err)
	if len(got) != 1 || !reflect.DeepEqual(got[0], e2) {
		t.Errorf("SearchEvents round trip:\n got %+v\nwant %+v", got, e2)
	}
}

func testActions(t *testing.T, s store.Store) {
	until := base.Add(30 * 24 * time.Hour)
	accept := schemas.ActionRow{ID: "act-1", Time: base, Actor: "alice", Action: schemas.ActionAccept, AlertID: "al-1",
		AgentID: "agent-a", Detector: "playground.first_action", Subject: "s3:DeleteObject", Subjects: []string{"s3:DeleteObject", "s3:DeleteBucket"}, DedupKey: "agent-a|playground.first_action",
		Boundary: schemas.BoundaryLearned, Reason: "new cleanup job", ExpiresAt: &until}
	silence := schemas.ActionRow{ID: "act-2", Time: base.Add(time.Minute), Actor: "bob", Action: schemas.ActionSilence, AlertID: "al-2",
		AgentID: "agent-b", Reason: "maintenance", ExpiresAt: &until, Matchers: []string{"agent=agent-b", "detector=volume.spike"}, Detail: "silence 3"}
	resolve := schemas.ActionRow{ID: "act-3", Time: base.Add(2 * time.Minute), Actor: "alice", Action: schemas.ActionResolve, AlertID: "al-1",
		AgentID: "agent-a", Reason: "fixed"}
	must(t, s.InsertActions(ctx(t), []schemas.ActionRow{accept, silence}))
	must(t, s.InsertActions(ctx(t), []schemas.ActionRow{resolve, accept})) // accept redelivered
	all, err := s.LoadActions(ctx(t), store.ActionFilter{})
	must(t, err)
	if want := []schemas.ActionRow{resolve, silence, accept}; !reflect.DeepEqual(all, want) {
		t.Errorf("LoadActions(all):\n got %+v\nwant %+v", all, want)
	}
	cases := []struct {
		f    store.ActionFilter
		want []string
	}{
		{store.ActionFilter{AgentID: "agent-a"}, []string{"act-3", "act-1"}},
		{store.ActionFilter{AlertID: "al-2"}, []string{"act-2"}},
		{store.ActionFilter{Action: schemas.ActionAccept}, []string{"act-1"}},
		{store.ActionFilter{Since: base.Add(time.Minute)}, []string{"act-3", "act-2"}},
		{store.ActionFilter{Limit: 1}, []string{"act-3"}},
	}
	for _, c := range cases {
		got, err := s.LoadActions(ctx(t), c.f)
		must(t, err)
		var g []string
		for _, r := range got {
			g = append(g, r.ID)
		}
		if !reflect.DeepEqual(g, c.want) {
			t.Errorf("LoadActions(%+v) = %v, want %v", c.f, g, c.want)
		}
	}
	if n := queryInt(t, s, "SELECT count(DISTINCT id) FROM actions WHERE action = 'accept'"); n != 1 {
		t.Errorf("actions queryable by SQL: %d accept rows, want 1", n)
	}
}
