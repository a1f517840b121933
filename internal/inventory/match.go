package inventory

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// Glob reports whether name matches pattern. "*" matches within one path
// segment ("/" and ":" are not crossed in resources), "**" matches anything.
// Patterns without "/" behave like path.Match with "*" matching any run.
func Glob(pattern, name string) bool {
	if pattern == "*" || pattern == "**" {
		return true
	}
	if strings.Contains(pattern, "**") {
		return globAny(pattern, name)
	}
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// globAny matches pattern where "**" and "*" both match any run of bytes.
func globAny(pattern, name string) bool {
	parts := strings.Split(strings.ReplaceAll(pattern, "**", "*"), "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	for i := 1; i < len(parts)-1; i++ {
		idx := strings.Index(name, parts[i])
		if idx < 0 {
			return false
		}
		name = name[idx+len(parts[i]):]
	}
	return strings.HasSuffix(name, parts[len(parts)-1])
}

// AnyGlob reports whether name matches any of patterns.
func AnyGlob(patterns []string, name string) bool {
	for _, p := range patterns {
		if Glob(p, name) {
			return true
		}
	}
	return false
}

// AllowsSystem reports whether the declared playground allows system; an
// empty list allows everything.
func (p *Playground) AllowsSystem(s string) bool {
	return len(p.Systems) == 0 || AnyGlob(p.Systems, s)
}

// AllowsAction reports whether the declared playground allows action.
func (p *Playground) AllowsAction(a string) bool {
	return len(p.Actions) == 0 || AnyGlob(p.Actions, a)
}

// AllowsResource reports whether the declared playground allows resource.
// An event without a resource is not judged on it.
func (p *Playground) AllowsResource(r string) bool {
	return len(p.Resources) == 0 || r == "" || AnyGlob(p.Resources, r)
}

// AllowsDelegator reports whether the agent may act for onBehalfOf. With no
// declared delegators, any is allowed.
func (p *Playground) AllowsDelegator(onBehalfOf string) bool {
	return len(p.Delegators) == 0 || onBehalfOf == "" || AnyGlob(p.Delegators, onBehalfOf)
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
	minute := t.Hour()*60 + t.Minute()
	for _, r := range p.hours {
		if r.days&(1<<uint(t.Weekday())) != 0 && minute >= r.from && minute < r.to {
			return true
		}
	}
	return false
}

type hourRange struct {
	days     uint8 // bit per time.Weekday
	from, to int   // minutes since midnight, to exclusive
}

var dayNames = map[string]time.Weekday{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

// parseHourRange reads "Mon-Fri 08:00-18:00", "Sat,Sun 10:00-12:00" or
// "* 00:00-24:00" (UTC).
func parseHourRange(s string) (hourRange, error) {
	var r hourRange
	f := strings.Fields(s)
	if len(f) != 2 {
		return r, fmt.Errorf("%q: want \"DAYS HH:MM-HH:MM\" such as \"Mon-Fri 08:00-18:00\"", s)
	}
	if f[0] == "*" {
		r.days = 0x7f
	} else {
		for _, part := range strings.Split(strings.ToLower(f[0]), ",") {
			lo, hi, isRange := strings.Cut(part, "-")
			a, ok1 := dayNames[lo]
			b := a
			ok2 := true
			if isRange {
				b, ok2 = dayNames[hi]
			}
			if !ok1 || !ok2 {
				return r, fmt.Errorf("%q: bad day %q", s, part)
			}
			for d := a; ; d = (d + 1) % 7 {
				r.days |= 1 << uint(d)
				if d == b {
					break
				}
			}
		}
	}
	from, to, ok := strings.Cut(f[1], "-")
	if !ok {
		return r, fmt.Errorf("%q: bad time range %q", s, f[1])
	}
	var err error
	if r.from, err = parseClock(from); err != nil {
		return r, fmt.Errorf("%q: %w", s, err)
	}
	if r.to, err = parseClock(to); err != nil {
		return r, fmt.Errorf("%q: %w", s, err)
	}
	if r.to <= r.from {
		return r, fmt.Errorf("%q: end is not after start", s)
	}
	return r, nil
}

func parseClock(s string) (int, error) {
	var h, m int
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("bad clock time %q", s)
	}
	return h*60 + m, nil
}
