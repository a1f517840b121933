package store

import (
	"fmt"
	"strings"
	"time"
)

// Dialects of a documented query.
const (
	DialectClickHouse = "clickhouse"
	DialectSQLite     = "sqlite"
)

// DialectOf is the SQL dialect of st's backend.
func DialectOf(st Store) string {
	if st.Backend() == "clickhouse" {
		return DialectClickHouse
	}
	return DialectSQLite
}

// Epoch clamps t to what a ClickHouse DateTime holds (1970 to 2106), so
// that a zero time.Time means "from the beginning" and a far future "to
// the end".
func Epoch(t time.Time) int64 { return min(max(t.Unix(), 0), 1<<32-1) }

// TimeArg renders a time bound as dialect compares it: seconds for
// ClickHouse's toDateTime(?), the stored text for SQLite.
func TimeArg(dialect string, t time.Time) any {
	if dialect == DialectClickHouse {
		return Epoch(t)
	}
	return FormatTime(t)
}

// NamedQuery is one documented query of docs/queries.sql.
type NamedQuery struct {
	Name        string
	Description string
	Dialect     string // clickhouse or sqlite
	SQL         string
	Line        int // line of the "-- name:" comment
}

// ParseQueries reads the documented-queries format: a "-- name: x" line,
// a one-line "-- description", a "-- dialect: clickhouse|sqlite" line, then
// the statement, ended by a semicolon at the end of a line. Comments
// before the first name are the file's introduction. file names the input
// in errors.
func ParseQueries(file, text string) ([]NamedQuery, error) {
	var out []NamedQuery
	var cur *NamedQuery
	var sql strings.Builder
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		n := i + 1
		trimmed := strings.TrimSpace(line)
		if name, ok := strings.CutPrefix(trimmed, "-- name:"); ok {
			if cur != nil {
				return nil, fmt.Errorf("%s:%d: query %q has no terminating semicolon", file, cur.Line, cur.Name)
			}
			cur = &NamedQuery{Name: strings.TrimSpace(name), Line: n}
			if cur.Name == "" {
				return nil, fmt.Errorf("%s:%d: empty query name", file, n)
			}
			sql.Reset()
			continue
		}
		if cur == nil {
			if trimmed != "" && !strings.HasPrefix(trimmed, "--") {
				return nil, fmt.Errorf("%s:%d: statement outside a named query (add a \"-- name:\" line)", file, n)
			}
			continue
		}
		if strings.HasPrefix(trimmed, "--") && sql.Len() == 0 {
			c := strings.TrimSpace(strings.TrimPrefix(trimmed, "--"))
			if d, ok := strings.CutPrefix(c, "dialect:"); ok {
				cur.Dialect = strings.TrimSpace(d)
			} else if cur.Description == "" {
				cur.Description = c
			}
			continue
		}
		sql.WriteString(line)
		sql.WriteString("\n")
		if strings.HasSuffix(trimmed, ";") {
			cur.SQL = strings.TrimSuffix(strings.TrimSpace(sql.String()), ";")
			switch {
			case cur.Description == "":
				return nil, fmt.Errorf("%s:%d: query %q has no description line", file, cur.Line, cur.Name)
			case cur.Dialect != DialectClickHouse && cur.Dialect != DialectSQLite:
				return nil, fmt.Errorf("%s:%d: query %q: dialect %q must be clickhouse or sqlite", file, cur.Line, cur.Name, cur.Dialect)
			}
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: query %q has no terminating semicolon", file, cur.Line, cur.Name)
	}
	return out, nil
}
