package store

import (
	"fmt"
	"strings"
	"time"
)

// EventColumns are the columns every event read selects, in the order
// both backends scan them.
const EventColumns = `event_id, time, time_nanos, source, agent_id, agent_instance, principal, credential_id,
    credential_type, credential_issued_at, credential_expires_at, on_behalf_of, delegation_chain,
    action, system, resource, resource_type, outcome, error_code, src_ip, user_agent, bytes,
    records, attributes, unattributed, principal_kind`

// SearchSQL builds the statement behind SearchEvents for dialect
// (DialectSQLite or DialectClickHouse), with ? placeholders and their
// arguments. The same statement, with example values in place of the
// placeholders, is the search_events query of docs/queries.sql (a test
// holds them equal). Time bounds are compared at whole seconds: From is
// rounded down, To up.
func SearchSQL(dialect string, s EventSearch) (string, []any) {
	var conds []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			conds = append(conds, col+" = ?")
			args = append(args, v)
		}
	}
	eq("agent_id", s.AgentID)
	eq("agent_instance", s.Instance)
	eq("on_behalf_of", s.OnBehalfOf)
	eq("credential_id", s.CredentialID)
	eq("action", s.Action)
	eq("resource", s.Resource)
	if len(s.EventIDs) > 0 {
		conds = append(conds, "event_id IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(s.EventIDs)), ", ")+")")
		for _, id := range s.EventIDs {
			args = append(args, id)
		}
	}
	bound := func(op string, t time.Time) {
		if dialect == DialectClickHouse {
			conds = append(conds, "time "+op+" toDateTime(?)")
		} else {
			conds = append(conds, "time "+op+" ?")
		}
		args = append(args, TimeArg(dialect, t))
	}
	if !s.From.IsZero() {
		bound(">=", s.From.Truncate(time.Second))
	}
	if !s.To.IsZero() {
		to := s.To.Truncate(time.Second)
		if !to.Equal(s.To) {
			to = to.Add(time.Second)
		}
		bound("<", to)
	}
	limit := s.Limit
	if limit <= 0 {
		limit = DefaultSearchLimit
	}
	q := "SELECT " + EventColumns + "\nFROM events"
	if len(conds) > 0 {
		q += "\nWHERE " + strings.Join(conds, "\n  AND ")
	}
	q += "\nORDER BY time DESC, time_nanos DESC, event_id"
	if dialect == DialectClickHouse {
		// A redelivered event is stored twice until a merge collapses it.
		q += "\nLIMIT 1 BY event_id"
	}
	return q + fmt.Sprintf("\nLIMIT %d", limit), args
}

// Inline replaces each ? of query with its argument as a SQL literal
// (strings quoted, quotes and backslashes escaped), for showing a query
// with its values and for comparing it with docs/queries.sql. It assumes
// no ? inside the query's own literals, which holds for SearchSQL.
func Inline(query string, args []any) string {
	var b strings.Builder
	i := 0
	for _, r := range query {
		if r != '?' || i >= len(args) {
			b.WriteRune(r)
			continue
		}
		switch v := args[i].(type) {
		case string:
			b.WriteString("'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(v) + "'")
		default:
			fmt.Fprint(&b, v)
		}
		i++
	}
	return b.String()
}
