package inventory

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Declared hours are calendar ranges in UTC:
//
//	"Mon-Fri 07:00-20:00"     weekdays
//	"Sat,Sun 09:00-18:00"     a list of days
//	"* 00:00-24:00"           every day
//	"1st 04:00-05:00"         the first of every month ("1", "1st", "2nd", "15th")
//	"1,15 02:00-03:00"        days of the month, listed
//	"1-7 Mon 06:00-07:00"     the first Monday of every month (both must hold)
//	"last 22:00-24:00"        the last day of every month
//
// A time is inside the declared hours when any range holds it.

// calRange is one parsed calendar range.
type calRange struct {
	days     uint8  // bit per time.Weekday; 0x7f = any
	dates    uint32 // bit per day of the month (1..31); 0 = any
	last     bool   // the last day of the month (with dates, either)
	from, to int    // minutes since midnight, to exclusive
}

var dayNames = map[string]time.Weekday{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

// parseHourRange reads one calendar range.
func parseHourRange(s string) (calRange, error) {
	r := calRange{days: 0x7f}
	f := strings.Fields(s)
	if len(f) < 2 || len(f) > 3 {
		return r, fmt.Errorf("%q: want \"DAYS HH:MM-HH:MM\" such as \"Mon-Fri 08:00-18:00\", \"1st 04:00-05:00\" or \"1-7 Mon 06:00-07:00\"", s)
	}
	sawDays, sawDates := false, false
	for _, part := range f[:len(f)-1] {
		if part == "*" {
			if sawDays {
				return r, fmt.Errorf("%q: days given twice", s)
			}
			sawDays = true
			continue
		}
		if days, err := parseWeekdays(part); err == nil {
			if sawDays {
				return r, fmt.Errorf("%q: days of the week given twice", s)
			}
			r.days, sawDays = days, true
			continue
		}
		dates, last, err := parseDates(part)
		if err != nil {
			return r, fmt.Errorf("%q: %q is neither days of the week (Mon-Fri, Sat,Sun, *) nor days of the month (1st, 1-7, 15, last)", s, part)
		}
		if sawDates {
			return r, fmt.Errorf("%q: days of the month given twice", s)
		}
		r.dates, r.last, sawDates = dates, last, true
	}
	from, to, ok := strings.Cut(f[len(f)-1], "-")
	if !ok {
		return r, fmt.Errorf("%q: bad time range %q", s, f[len(f)-1])
	}
	var err error
	if r.from, err = parseClock(from); err != nil {
		return r, fmt.Errorf("%q: %w", s, err)
	}
	if r.to, err = parseClock(to); err != nil {
		return r, fmt.Errorf("%q: %w", s, err)
	}
	if r.to <= r.from {
		return r, fmt.Errorf("%q: end is not after start (split a range over midnight in two)", s)
	}
	return r, nil
}

func parseWeekdays(s string) (uint8, error) {
	var days uint8
	for _, part := range strings.Split(strings.ToLower(s), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, ok1 := dayNames[lo]
		b := a
		ok2 := true
		if isRange {
			b, ok2 = dayNames[hi]
		}
		if !ok1 || !ok2 {
			return 0, fmt.Errorf("bad day %q", part)
		}
		for d := a; ; d = (d + 1) % 7 {
			days |= 1 << uint(d)
			if d == b {
				break
			}
		}
	}
	return days, nil
}

// parseDates reads "1st", "15", "1-7", "1,15", "last".
func parseDates(s string) (uint32, bool, error) {
	var dates uint32
	last := false
	for _, part := range strings.Split(strings.ToLower(s), ",") {
		if part == "last" {
			last = true
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := parseDate(lo)
		if err != nil {
			return 0, false, err
		}
		b := a
		if isRange {
			if b, err = parseDate(hi); err != nil {
				return 0, false, err
			}
			if b < a {
				return 0, false, fmt.Errorf("range %q runs backwards", part)
			}
		}
		for d := a; d <= b; d++ {
			dates |= 1 << uint(d)
		}
	}
	return dates, last, nil
}

func parseDate(s string) (int, error) {
	num := strings.TrimRight(s, "stndrh")
	suffix := s[len(num):]
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > 31 {
		return 0, fmt.Errorf("bad day of the month %q", s)
	}
	if suffix != "" && suffix != ordinal(n) {
		return 0, fmt.Errorf("bad day of the month %q", s)
	}
	return n, nil
}

func ordinal(n int) string {
	switch {
	case n%100 >= 11 && n%100 <= 13:
		return "th"
	case n%10 == 1:
		return "st"
	case n%10 == 2:
		return "nd"
	case n%10 == 3:
		return "rd"
	}
	return "th"
}

func parseClock(s string) (int, error) {
	var h, m int
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("bad clock time %q", s)
	}
	return h*60 + m, nil
}

// holds reports whether the range holds t (UTC).
func (r *calRange) holds(t time.Time) bool {
	if r.days&(1<<uint(t.Weekday())) == 0 {
		return false
	}
	if r.dates != 0 || r.last {
		d := t.Day()
		lastDay := t.AddDate(0, 0, 1).Day() == 1
		if r.dates&(1<<uint(d)) == 0 && !(r.last && lastDay) {
			return false
		}
	}
	minute := t.Hour()*60 + t.Minute()
	return minute >= r.from && minute < r.to
}

// AllowsTime reports whether t (taken in UTC) falls in the declared hours.
func (p *Playground) AllowsTime(t time.Time) bool {
	if len(p.Hours) == 0 {
		return true
	}
	if p.hours == nil {
		for _, h := range p.Hours {
			if r, err := parseHourRange(h); err == nil {
				p.hours = append(p.hours, r)
			}
		}
	}
	t = t.UTC()
	for i := range p.hours {
		if p.hours[i].holds(t) {
			return true
		}
	}
	return false
}

// InDatedSlot reports whether t (taken in UTC) falls in a declared range
// that names days of the month ("1st 04:00-05:00", "last 22:00-24:00"):
// a periodic run the owner declared, which weeks of learning by hour of
// the week cannot have seen.
func (p *Playground) InDatedSlot(t time.Time) bool {
	if len(p.Hours) == 0 || !p.AllowsTime(t) {
		return false
	}
	t = t.UTC()
	for i := range p.hours {
		if r := &p.hours[i]; (r.dates != 0 || r.last) && r.holds(t) {
			return true
		}
	}
	return false
}
