package inventory

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var loadClock = time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestStatusAt(t *testing.T) {
	inv, err := ParseAt("agents.yaml", []byte(`agents:
  - id: gone
    status: decommissioned
    decommissioned_at: 2026-03-10T17:00:00Z
  - id: gone-after-suspension
    status: decommissioned
    suspended_at: 2026-03-01
    decommissioned_at: 2026-03-10T17:00:00Z
  - id: paused
    status: suspended
    suspended_at: 2026-03-05
  - id: was-paused
    status: active
    suspended_at: 2026-02-01
    resumed_at: 2026-02-03T09:30:00Z
  - id: gone-forever
    status: decommissioned
  - id: paused-forever
    status: suspended
`), loadClock)
	if err != nil {
		t.Fatal(err)
	}
	const (
		A = StatusActive
		S = StatusSuspended
		D = StatusDecommissioned
	)
	for _, c := range []struct {
		agent, at, want string
	}{
		{"gone", "2026-03-10T16:59:59Z", A},
		{"gone", "2026-03-10T17:00:00Z", D}, // from the date on, inclusive
		{"gone", "2026-05-01T00:00:00Z", D},
		{"gone-after-suspension", "2026-02-28T23:59:59Z", A},
		{"gone-after-suspension", "2026-03-01T00:00:00Z", S},
		{"gone-after-suspension", "2026-03-10T16:59:59Z", S},
		{"gone-after-suspension", "2026-03-10T17:00:00Z", D},
		{"paused", "2026-03-04T23:00:00Z", A},
		{"paused", "2026-03-05T00:00:00Z", S},
		{"was-paused", "2026-01-31T00:00:00Z", A},
		{"was-paused", "2026-02-02T00:00:00Z", S},
		{"was-paused", "2026-02-03T09:30:00Z", A}, // resumed_at is the first active instant
		{"gone-forever", "2020-01-01T00:00:00Z", D},
		{"paused-forever", "2020-01-01T00:00:00Z", S},
	} {
		if got := inv.Get(c.agent).StatusAt(day(c.at)); got != c.want {
			t.Errorf("%s at %s: %s, want %s", c.agent, c.at, got, c.want)
		}
	}
	if s := inv.Get("gone").StatusSince(day("2026-04-01T00:00:00Z")); s == nil || !s.Equal(day("2026-03-10T17:00:00Z")) {
		t.Errorf("StatusSince = %v, want decommissioned_at", s)
	}
	if s := inv.Get("gone-forever").StatusSince(day("2026-04-01T00:00:00Z")); s != nil {
		t.Errorf("undated status: StatusSince = %v, want nil", s)
	}
	row := inv.Get("gone-after-suspension").Row(loadClock)
	if row.DecommissionedAt == nil || row.SuspendedAt == nil || row.ResumedAt != nil {
		t.Errorf("agents row lifecycle dates %+v", row)
	}
}

// TestLifecycleErrors: every combination that cannot be meant is an error
// naming the file, the line of the offending key, and the key.
func TestLifecycleErrors(t *testing.T) {
	for _, c := range []struct {
		name, entry string
		line        int // of the key, counting "agents:" as line 1
		want        string
	}{
		{"active with a decommissioning date", `
    status: active
    decommissioned_at: 2026-03-10`, 4, "key decommissioned_at: is set but status is active"},
		{"active with an open suspension", `
    status: active
    suspended_at: 2026-03-10`, 4, "key suspended_at: is set but status is active"},
		{"suspended with a decommissioning date", `
    status: suspended
    decommissioned_at: 2026-03-10`, 4, "key decommissioned_at: is set but status is suspended"},
		{"suspended and resumed", `
    status: suspended
    suspended_at: 2026-03-01
    resumed_at: 2026-03-10`, 5, "key resumed_at: is set but status is suspended"},
		{"resumed without suspension", `
    status: decommissioned
    resumed_at: 2026-03-01`, 4, "key resumed_at: needs suspended_at"},
		{"resumed before suspended", `
    status: active
    suspended_at: 2026-03-05
    resumed_at: 2026-03-01`, 5, "key resumed_at: 2026-03-01T00:00:00Z is not after suspended_at"},
		{"suspended after decommissioned", `
    status: decommissioned
    decommissioned_at: 2026-03-01
    suspended_at: 2026-03-05`, 5, "key suspended_at: 2026-03-05T00:00:00Z is after decommissioned_at"},
		{"decommissioned before created", `
    created: 2026-03-01
    status: decommissioned
    decommissioned_at: 2026-02-01`, 5, "key decommissioned_at: 2026-02-01T00:00:00Z is before created"},
		{"decommissioned in the future", `
    status: decommissioned
    decommissioned_at: 2026-04-03`, 4, "key decommissioned_at: 2026-04-03T00:00:00Z is in the future (now 2026-04-01T12:00:00Z)"},
		{"suspended in the future", `
    status: suspended
    suspended_at: 2026-06-01`, 4, "key suspended_at: 2026-06-01T00:00:00Z is in the future"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseAt("fleet/agents.yaml", []byte("agents:\n  - id: x"+c.entry+"\n"), loadClock)
			if err == nil {
				t.Fatal("no error")
			}
			prefix := fmt.Sprintf("fleet/agents.yaml:%d: agent \"x\": ", c.line)
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant prefix %q and %q", err, prefix, c.want)
			}
		})
	}
	// Within a day ahead is not "the future": a whole-day date east of UTC.
	if _, err := ParseAt("agents.yaml", []byte("agents:\n  - id: x\n    status: decommissioned\n    decommissioned_at: 2026-04-02\n"), loadClock); err != nil {
		t.Errorf("a date less than a day ahead: %v", err)
	}
	// Inventories built in code keep their own clock: no future check.
	d := day("2030-01-01T00:00:00Z")
	if _, err := New([]Agent{{ID: "sim", Status: StatusDecommissioned, DecommissionedAt: &d}}); err != nil {
		t.Errorf("New with a date past the wall clock: %v", err)
	}
}
