package detect

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/baseline/basetest"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// checkInv declares a reporting agent's playground too narrowly, the way
// a first inventory often is: the bucket listing, the monthly reports and
// the nightly export are missing.
const checkInv = `
agents:
  - id: reporter
    kind: reporting
    owner: team-data
    playground:
      systems: [aws:s3]
      actions: [s3:GetObject]
      resources: ["arn:aws:s3:::reports/daily/*"]
      hours: ["Mon-Fri 08:00-18:00"]
      credentials: {allowed_types: [sts_session]}
`

// checkTraffic stores a week of the reporter's ordinary traffic and one
// odd event. It returns the events' time range.
func checkTraffic(t *testing.T, st interface {
	InsertEvents(context.Context, []schemas.AgentEvent) error
}, oneOff bool) (time.Time, time.Time) {
	t.Helper()
	var evs []schemas.AgentEvent
	n := 0
	ev := func(at time.Time, action, resource string) {
		n++
		evs = append(evs, schemas.AgentEvent{EventID: fmt.Sprintf("ev-%06d", n), Time: at, Source: "cloudtrail", AgentID: "reporter",
			AgentInstance: "i-1", Principal: "arn:aws:sts::123456789012:assumed-role/reporter/i-1", CredentialID: "ASIA1",
			CredentialType: schemas.CredSTSSession, Action: action, System: "aws:s3", Resource: resource, Outcome: schemas.OutcomeSuccess,
			SrcIP: "10.0.1.7", UserAgent: "aws-sdk-go/1.0"})
	}
	for day := 0; day < 7; day++ {
		d := t0.Add(time.Duration(day) * 24 * time.Hour)
		// The nightly export, every day at 02:00: outside the declared hours.
		for i := 0; i < 4; i++ {
			ev(d.Add(2*time.Hour+time.Duration(i)*time.Minute), "s3:GetObject", fmt.Sprintf("arn:aws:s3:::reports/daily/%d-%d.csv", day, i))
		}
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for h := 8; h < 18; h++ {
			at := d.Add(time.Duration(h) * time.Hour)
			for i := 0; i < 6; i++ {
				ev(at.Add(time.Duration(i)*7*time.Minute), "s3:GetObject", fmt.Sprintf("arn:aws:s3:::reports/daily/%d.csv", day*100+h*6+i))
			}
			// Listing the bucket (an undeclared action on an undeclared
			// resource) and reading monthly summaries, every hour.
			ev(at.Add(50*time.Minute), "s3:ListBucket", "arn:aws:s3:::reports")
			ev(at.Add(55*time.Minute), "s3:GetObject", fmt.Sprintf("arn:aws:s3:::reports/monthly/2026-0%d/summary-%d.csv", 1+h%3, h))
		}
	}
	if oneOff {
		ev(t0.Add(4*24*time.Hour+11*time.Hour+30*time.Minute), "s3:DeleteObject", "arn:aws:s3:::reports/daily/417.csv")
	}
	slices.SortFunc(evs, func(a, b schemas.AgentEvent) int { return a.Time.Compare(b.Time) })
	if err := st.InsertEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	return t0, t0.Add(7 * 24 * time.Hour)
}

// TestPlaygroundCheck replays a week of stored traffic: it finds the
// incidents a live engine would have raised, per agent and detector, with
// the top offending actions and resources; its suggested playground,
// applied, makes the same replay quiet except for the one-off event it
// deliberately left out.
func TestPlaygroundCheck(t *testing.T) {
	ctx := context.Background()
	inv, err := inventory.Parse("agents.yaml", []byte(checkInv))
	if err != nil {
		t.Fatal(err)
	}
	st := basetest.New()
	from, to := checkTraffic(t, st, true)
	c, err := Check(ctx, st, DefaultConfig(), inv, CheckOptions{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]CheckRow{}
	for _, r := range c.Rows() {
		got[r.Detector] = r
	}
	// The bucket listings and monthly reads of the week (and the odd
	// delete) are one declared-playground incident: they never pause for
	// the quiet period (a day) from Monday to Friday. The nightly export
	// is one outside-hours incident, daily for the whole week.
	decl, hours := got[DPlaygroundDeclared], got[DOutsideHours]
	if decl.Incidents != 1 || decl.Events != 5*10*2+1 || hours.Incidents != 1 || hours.Events != 7*4 || len(got) != 2 {
		t.Fatalf("rows = %+v", c.Rows())
	}
	if a := decl.actions.top(2); a != "s3:GetObject (50), s3:ListBucket (50), +1 more" {
		t.Errorf("top actions = %s", a)
	}
	// (Objects count by their folder: the monthly summaries are one.)
	if r := decl.resources.top(1); r != "arn:aws:s3:::reports (50), +2 more" {
		t.Errorf("top resources = %s", r)
	}
	var out strings.Builder
	if err := c.WriteReport(&out, "playground check: test"); err != nil {
		t.Fatal(err)
	}
	report := out.String()
	for _, want := range []string{"reporter  playground.declared", "2 incidents in all.",
		"- s3:ListBucket  # added: 50 events in 50 hours", `- arn:aws:s3:::reports/monthly/*-*/*  # added`,
		`- '* 02:00-03:00'  # added: 28 events on 7 days`,
		"#   actions: s3:DeleteObject (1 event at 2026-03-06 11:30)"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}

	// The suggestion parses as agents.yaml and is the playground applied.
	sugs := c.Suggestions()
	if len(sugs) != 1 {
		t.Fatalf("suggestions = %+v", sugs)
	}
	_, parsed := renderParsed(t, sugs...)
	if p, w := parsed.Get("reporter").Playground, sugs[0].Agent.Playground; !slices.Equal(p.Actions, w.Actions) ||
		!slices.Equal(p.Resources, w.Resources) || !slices.Equal(p.Hours, w.Hours) || !slices.Equal(p.Systems, w.Systems) {
		t.Fatalf("parsed %+v, want %+v", p, w)
	}
	applied, err := inventory.New([]inventory.Agent{sugs[0].Agent})
	if err != nil {
		t.Fatal(err)
	}
	again, err := Check(ctx, st, DefaultConfig(), applied, CheckOptions{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	rows := again.Rows()
	if len(rows) != 1 || rows[0].Detector != DPlaygroundDeclared || rows[0].Incidents != 1 || rows[0].Events != 1 ||
		rows[0].actions.top(1) != "s3:DeleteObject (1)" {
		t.Fatalf("after applying the suggestion: %+v", rows)
	}
	if s := again.Suggestions(); len(s) != 1 || len(s[0].Added) != 0 || len(s[0].Skipped) != 1 {
		t.Fatalf("second suggestion = %+v", s)
	}

	// Without the odd event, the widened playground is quiet.
	st2 := basetest.New()
	checkTraffic(t, st2, false)
	quiet, err := Check(ctx, st2, DefaultConfig(), applied, CheckOptions{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if n := quiet.Incidents(); n != 0 {
		t.Fatalf("widened playground on normal traffic: %d incidents: %+v", n, quiet.Rows())
	}
	out.Reset()
	if err := quiet.WriteReport(&out, "t"); err != nil || !strings.Contains(out.String(), "quiet: no incident would have been raised") {
		t.Fatalf("quiet report: %v\n%s", err, out.String())
	}
}

// TestSuggestionPieces covers the generalisation rules on their own.
func TestSuggestionPieces(t *testing.T) {
	for in, want := range map[string]string{
		// An S3 object's name is not a habit: its folder is, written as
		// an IAM policy writes a prefix.
		"arn:aws:s3:::lake/events/dt=2026-10-01/part-00000.parquet": "arn:aws:s3:::lake/events/dt=*/*",
		"tickets/123":        "tickets/*",
		"customer:cus_04711": "customer:cus_*",
		"prod/db-password":   "prod/db-password",
	} {
		if got := resourceGlob(in); got != want {
			t.Errorf("resourceGlob(%q) = %q, want %q", in, got, want)
		}
	}
	at := t0
	m := map[string]*crossing{}
	for i, r := range []string{"docs/readme.md", "docs/guide.md", "docs/faq.md", "other/x.md"} {
		addTo(m, r, at.Add(time.Duration(i)*time.Hour), r, false)
	}
	c := collapseResources(m)
	if len(c) != 2 || c["docs/*"] == nil || c["docs/*"].events != 3 || !c["docs/*"].recurring() || c["other/x.md"].recurring() {
		t.Fatalf("collapse = %v", c)
	}
	hs := map[int]*hourCrossing{}
	for _, day := range []int{0, 1, 2, 7} { // Mon, Tue, Wed, next Mon
		for _, h := range []int{5, 6} {
			tm := t0.Add(time.Duration(day*24+h) * time.Hour)
			x := hs[h]
			if x == nil {
				x = &hourCrossing{days: map[string]bool{}}
				hs[h] = x
			}
			x.add(tm, "", false)
			x.days[tm.Format(time.DateOnly)] = true
			x.weekdays |= 1 << uint(tm.Weekday())
		}
	}
	if r := hourRanges(hs, true); len(r) != 1 || r[0].text != "Mon,Tue,Wed 05:00-07:00" {
		t.Fatalf("hour ranges = %+v", r)
	}
	if dayList(0x7f) != "*" || dayList(1<<uint(time.Sunday)|1<<uint(time.Saturday)) != "Sat,Sun" {
		t.Fatal("dayList")
	}
}
