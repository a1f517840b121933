package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"

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
		return encodeStringMap(x), nil
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

// encodeStringMap writes a map[string]string as JSON with sorted keys,
// like encoding/json but without reflection: it runs once per stored
// event, so it is on the hot path of the ClickHouse writer.
func encodeStringMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	size := 2
	for k, v := range m {
		keys = append(keys, k)
		size += len(k) + len(v) + 6
	}
	sort.Strings(keys)
	b := make([]byte, 0, size)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	return string(append(b, '}'))
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 goes through
// encoding/json, which replaces it, so the output always parses.
func appendJSONString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		enc, _ := json.Marshal(s)
		return append(b, enc...)
	}
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
