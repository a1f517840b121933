package posture

import (
	"fmt"
	"strings"
	"time"
)

// Schedule is a weekly (or daily) time in UTC: "Mon 09:00", "* 09:00".
type Schedule struct {
	Daily        bool
	Day          time.Weekday
	Hour, Minute int
}

var weekdays = map[string]time.Weekday{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

// ParseSchedule reads "DAY HH:MM" (DAY one of Mon..Sun, or "*" for every
// day), in UTC.
func ParseSchedule(s string) (Schedule, error) {
	var sc Schedule
	f := strings.Fields(s)
	if len(f) != 2 {
		return sc, fmt.Errorf("%q: want \"DAY HH:MM\" in UTC, such as \"Mon 09:00\" or \"* 09:00\"", s)
	}
	if f[0] == "*" {
		sc.Daily = true
	} else {
		d, ok := weekdays[strings.ToLower(f[0])]
		if !ok {
			return sc, fmt.Errorf("%q: day %q is not Mon, Tue, Wed, Thu, Fri, Sat, Sun or *", s, f[0])
		}
		sc.Day = d
	}
	if _, err := fmt.Sscanf(f[1], "%d:%d", &sc.Hour, &sc.Minute); err != nil || sc.Hour < 0 || sc.Hour > 23 ||
		sc.Minute < 0 || sc.Minute > 59 || len(f[1]) != 5 {
		return sc, fmt.Errorf("%q: time %q is not HH:MM", s, f[1])
	}
	return sc, nil
}

// Last returns the latest scheduled instant at or before t.
func (s Schedule) Last(t time.Time) time.Time {
	t = t.UTC()
	at := time.Date(t.Year(), t.Month(), t.Day(), s.Hour, s.Minute, 0, 0, time.UTC)
	for at.After(t) || (!s.Daily && at.Weekday() != s.Day) {
		at = at.AddDate(0, 0, -1)
	}
	return at
}

// Next returns the first scheduled instant after t.
func (s Schedule) Next(t time.Time) time.Time {
	step := 24 * time.Hour
	if !s.Daily {
		step = 7 * 24 * time.Hour
	}
	return s.Last(t).Add(step)
}
