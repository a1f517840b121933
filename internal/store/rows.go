package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// TimeLayout is how both backends show a time: UTC, whole seconds. SQLite
// stores times as this text so that they sort and its date functions work;
// ClickHouse's DateTime prints the same way.
const TimeLayout = "2006-01-02 15:04:05"

// DayLayout names a day in DropPartitionsBefore's result.
const DayLayout = "2006-01-02"

// FormatTime renders t in UTC as TimeLayout.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// ParseTime reads a TimeLayout text as UTC.
func ParseTime(s string) (time.Time, error) {
	t, err := time.ParseInLocation(TimeLayout, s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time %q: %w", s, err)
	}
	return t, nil
}

// AlertVersion orders the states of one alert so that a redelivered older
// state never replaces a newer one: a later last_seen wins, then a higher
// count, then resolved over firing. The Alert type has no updated_at of
// its own, and the time of the write would let a late redelivery win.
// Milliseconds since 1970 fill 41 bits until the year 2039 and 43 bits
// until 2248, so 20 bits remain for count and status inside an int64.
func AlertVersion(a *schemas.Alert) int64 {
	ms := a.LastSeen.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	count := int64(a.Count)
	const maxCount = 1<<19 - 1
	if count > maxCount {
		count = maxCount
	}
	if count < 0 {
		count = 0
	}
	var resolved int64
	if a.Status == schemas.StatusResolved {
		resolved = 1
	}
	return ms<<20 | count<<1 | resolved
}

// EncodeJSON renders v (a map or slice) as JSON text, "{}"/"[]" for nil,
// so that the text columns are never NULL and always parse.
func EncodeJSON(v any, empty string) (string, error) {
	switch x := v.(type) {
	case map[string]string:
		if len(x) == 0 {
			return empty, nil
		}
	case map[string]int64:
		if len(x) == 0 {
			return empty, nil
		}
	case []string:
		if len(x) == 0 {
			return empty, nil
		}
	case []float64:
		if len(x) == 0 {
			return empty, nil
		}
	case []schemas.Evidence:
		if len(x) == 0 {
			return empty, nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// DecodeJSON parses s into dst unless s is empty, "{}", "[]" or "null",
// leaving dst nil so that a round trip keeps nil as nil.
func DecodeJSON(s string, dst any) error {
	switch s {
	case "", "{}", "[]", "null":
		return nil
	}
	return json.Unmarshal([]byte(s), dst)
}

// SortBaselines orders rows by agent and feature, as LoadBaselines returns them.
func SortBaselines(rows []schemas.BaselineRow) {
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].AgentID != rows[j].AgentID {
			return rows[i].AgentID < rows[j].AgentID
		}
		return rows[i].Feature < rows[j].Feature
	})
}

// SortPlayground orders rows by their key, as LoadPlayground returns them.
func SortPlayground(rows []schemas.PlaygroundRow) {
	key := func(r *schemas.PlaygroundRow) [6]string {
		return [6]string{r.AgentID, r.Kind, r.System, r.Action, r.ResourcePattern, r.Value}
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := key(&rows[i]), key(&rows[j])
		for k := range a {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return false
	})
}
