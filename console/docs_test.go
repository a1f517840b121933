package console

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
)

// docOrder and docDescriptions are how the console's queries appear in
// docs/queries.sql.
var docOrder = []string{"fleet_windows", "fleet_recent", "fleet_baselines", "latest_event_time", "agent_instances", "agent_credentials"}

var docDescriptions = map[string]string{
	"fleet_windows":     "Events per agent and closed window over a day (the fleet page's sparklines; replace the two times with yours).",
	"fleet_recent":      "Events per agent and hour in the last two hours, whose windows may still be open, with the latest time and whether any was unattributed.",
	"fleet_baselines":   "Each agent's learned hourly event band and maturity (the fleet page's usual band).",
	"latest_event_time": "The time of the latest stored event (the fleet page shows the 24 hours before it when it is in the past).",
	"agent_instances":   "The instances one agent ran since a time, with how many credentials and delegators each used.",
	"agent_credentials": "The credentials one agent used since a time, with their type, issue time and instances.",
}

var (
	docFrom = time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)
	docTo   = docFrom.Add(24 * time.Hour)
	docWeek = docFrom.Add(-7 * 24 * time.Hour)
)

// docExampleArgs are the values docs/queries.sql shows in place of the
// console's placeholders.
func docExampleArgs(d string) map[string][]any {
	return map[string][]any{
		"fleet_windows":     {store.TimeArg(d, docFrom), store.TimeArg(d, docTo.Add(-2*time.Hour))},
		"fleet_recent":      {store.TimeArg(d, docTo.Add(-2*time.Hour)), store.TimeArg(d, docTo)},
		"agent_instances":   {"support-bot", store.TimeArg(d, docWeek)},
		"agent_credentials": {"support-bot", store.TimeArg(d, docWeek)},
	}
}

// docSearch is the example search of search_events in docs/queries.sql.
var docSearch = store.EventSearch{AgentID: "support-bot", OnBehalfOf: "customer:cus_04711", From: docFrom, To: docTo, Limit: 100}

func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestQueriesAreDocumented holds the console's queries, and the store's
// search, to the text of docs/queries.sql: what the pages show is what
// `agentwatch sql` with the documented query answers.
func TestQueriesAreDocumented(t *testing.T) {
	const file = "../docs/queries.sql"
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := store.ParseQueries(file, string(b))
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]string{}
	for _, q := range qs {
		doc[q.Name+"/"+q.Dialect] = q.SQL
	}
	for _, d := range []string{store.DialectClickHouse, store.DialectSQLite} {
		for name, byDialect := range consoleQueries {
			want := store.Inline(byDialect[d], docExampleArgs(d)[name])
			got, ok := doc[name+"/"+d]
			if !ok {
				t.Errorf("%s: no %s query named %s", file, d, name)
				continue
			}
			if normalize(got) != normalize(want) {
				t.Errorf("%s: %s (%s) differs from the console's:\n doc: %s\nwant: %s", file, name, d, normalize(got), normalize(want))
			}
		}
		q, args := store.SearchSQL(d, docSearch)
		if got := doc["search_events/"+d]; normalize(got) != normalize(store.Inline(q, args)) {
			t.Errorf("%s: search_events (%s) differs from the store's search:\n doc: %s\nwant: %s", file, d, normalize(got), normalize(store.Inline(q, args)))
		}
	}
}
