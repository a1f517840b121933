package schemas

import (
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

func validEvent() AgentEvent {
	return AgentEvent{
		EventID: "e1", Time: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), Source: "test",
		AgentID: "bot", Action: "tickets.read", System: "mcp:zendesk", Outcome: OutcomeSuccess,
	}
}

func TestValidateNamesEveryBadField(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*AgentEvent)
		fields []string
	}{
		{"valid", func(*AgentEvent) {}, nil},
		{"missing agent and time", func(e *AgentEvent) { e.AgentID = ""; e.Time = time.Time{} }, []string{"agent_id", "time"}},
		{"bad enums", func(e *AgentEvent) { e.Outcome = "ok"; e.CredentialType = "magic" }, []string{"credential_type", "outcome"}},
		{"bad ip and negatives", func(e *AgentEvent) { e.SrcIP = "10.0.0"; e.Bytes = -1; e.Records = -2 }, []string{"bytes", "records", "src_ip"}},
		{"empty delegation hop", func(e *AgentEvent) { e.DelegationChain = []string{"a", ""} }, []string{"delegation_chain[1]"}},
		{"long field", func(e *AgentEvent) { e.Resource = strings.Repeat("r", MaxFieldLen+1) }, []string{"resource"}},
		{"year", func(e *AgentEvent) { e.Time = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC) }, []string{"time"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := validEvent()
			c.mutate(&ev)
			err := ev.Validate()
			var ve *ValidationError
			if c.fields == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
			if !reflect.DeepEqual(got, c.fields) {
				t.Fatalf("fields = %v, want %v (%v)", got, c.fields, err)
			}
		})
	}
}

func TestDecodeEventRejectsUnknownFieldsAndTrailingData(t *testing.T) {
	good, _ := json.Marshal(validEvent())
	if _, err := DecodeEvent(good); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(good), `"agent_id"`, `"agentid"`, 1)
	if _, err := DecodeEvent([]byte(bad)); err == nil || !strings.Contains(err.Error(), "agentid") {
		t.Errorf("misspelt field: err = %v", err)
	}
	for _, tail := range []string{` {}`, ` }`, `]`, "\n}"} {
		if _, err := DecodeEvent(append(slices.Clone(good), tail...)); err == nil {
			t.Errorf("trailing %q accepted", tail)
		}
	}
}

func TestNetworkOf(t *testing.T) {
	for ip, want := range map[string]string{"10.1.2.3": "10.1.2.0/24", "2001:db8:1:2::5": "2001:db8:1::/48", "::ffff:10.9.8.7": "10.9.8.0/24", "nope": "", "": ""} {
		if got := NetworkOf(ip); got != want {
			t.Errorf("NetworkOf(%q) = %q, want %q", ip, got, want)
		}
	}
}

func TestAlertValidateAndLine(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	a := Alert{ID: "a1", DedupKey: DedupKeyFor("bot", "playground.declared", "system=payroll"), Detector: "playground.declared",
		Severity: SeverityHigh, Score: 75, Boundary: BoundaryDeclared, Identity: Identity{AgentID: "bot", AgentInstance: "pod-1", OnBehalfOf: "customer:7", CredentialID: "tok", CredentialType: CredOAuthToken},
		Summary: "read payroll", Reason: "outside the declared playground", FirstSeen: now, LastSeen: now, Count: 1, Status: StatusFiring}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	line := a.Line()
	for _, want := range []string{"HIGH", "bot/pod-1", "for customer:7", "cred=tok(oauth_token)", "[playground.declared score=75]", "read payroll", "outside the declared playground"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
	a.Score, a.Status, a.Count = 101, "open", 0
	err := a.Validate()
	for _, f := range []string{"score", "status", "count"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("err = %v, want it to name %s", err, f)
		}
	}
	if SeverityForScore(95) != SeverityCritical || SeverityForScore(10) != SeverityInfo {
		t.Error("SeverityForScore")
	}
}

// jsonFields lists the JSON names of a struct's fields.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func schemaProps(t *testing.T, doc []byte, path ...string) []string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatalf("schema does not parse: %v", err)
	}
	cur := m
	for _, p := range path {
		cur = cur[p].(map[string]any)
	}
	var out []string
	for k := range cur["properties"].(map[string]any) {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestJSONSchemasMatchTypes keeps the published schemas and the Go types
// in step: a field added to one and not the other fails here.
func TestJSONSchemasMatchTypes(t *testing.T) {
	checks := []struct {
		name string
		doc  []byte
		path []string
		typ  reflect.Type
	}{
		{"event", AgentEventSchema, nil, reflect.TypeOf(AgentEvent{})},
		{"alert", AlertSchema, nil, reflect.TypeOf(Alert{})},
		{"identity", AlertSchema, []string{"$defs", "identity"}, reflect.TypeOf(Identity{})},
		{"evidence", AlertSchema, []string{"$defs", "evidence"}, reflect.TypeOf(Evidence{})},
	}
	for _, c := range checks {
		if got, want := schemaProps(t, c.doc, c.path...), jsonFields(c.typ); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: schema properties %v, Go fields %v", c.name, got, want)
		}
	}
}

// TestYearInRangeBoundaries: the UTC shortcut agrees with Year() at the
// edges, and zoned times use their own year.
func TestYearInRangeBoundaries(t *testing.T) {
	plus2 := time.FixedZone("", 2*3600)
	for _, tc := range []time.Time{
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2200, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(2201, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 1, 1, 1, 0, 0, 0, plus2), time.Date(2201, 1, 1, 0, 30, 0, 0, plus2), time.Date(2200, 12, 31, 23, 0, 0, 0, plus2),
	} {
		y := tc.Year()
		if got, want := yearInRange(tc), y >= 2000 && y <= 2200; got != want {
			t.Errorf("yearInRange(%v) = %v, want %v", tc, got, want)
		}
	}
}

func TestPlainIPv4(t *testing.T) {
	for _, s := range []string{"0.0.0.0", "10.0.3.7", "255.255.255.255", "192.168.100.10"} {
		if !plainIPv4(s) {
			t.Errorf("plainIPv4(%q) = false", s)
		}
	}
	for _, s := range []string{"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.04", "1..3.4", ".1.2.3", "1.2.3.4.",
		"1.2.3.4%eth0", "::1", "1.2.3.-4", "1.2.3.4 ", "1000.2.3.4"} {
		if plainIPv4(s) {
			t.Errorf("plainIPv4(%q) = true", s)
		}
	}
}

// FuzzPlainIPv4: whatever the shortcut accepts, netip.ParseAddr accepts.
func FuzzPlainIPv4(f *testing.F) {
	for _, s := range []string{"10.0.3.7", "01.2.3.4", "255.255.255.255", "256.1.1.1", "1.2.3.4.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !plainIPv4(s) {
			return
		}
		if a, err := netip.ParseAddr(s); err != nil || !a.Is4() {
			t.Fatalf("plainIPv4(%q) = true, netip: %v, %v", s, a, err)
		}
	})
}

// TestValidSwitchesMatchLists: validOutcome and validCredentialType accept
// exactly the members of Outcomes and CredentialTypes (each member, and
// no neighbour of one or value of the other list).
func TestValidSwitchesMatchLists(t *testing.T) {
	for _, c := range []struct {
		name  string
		valid func(string) bool
		list  []string
	}{{"outcome", validOutcome, Outcomes}, {"credential type", validCredentialType, CredentialTypes}} {
		var probes []string
		for _, v := range append(slices.Clone(Outcomes), CredentialTypes...) {
			probes = append(probes, v, v+"x", strings.ToUpper(v), "")
		}
		for _, v := range probes {
			if got, want := c.valid(v), slices.Contains(c.list, v); got != want {
				t.Errorf("%s %q: valid = %v, want %v", c.name, v, got, want)
			}
		}
	}
}
