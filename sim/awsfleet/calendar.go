package awsfleet

import (
	"time"
)

// The company works from the US East Coast (EST, UTC-5 in the generated
// months); its people and customers follow that clock, while scheduled jobs
// run by UTC cron like most infrastructure.
var eastern = time.FixedZone("EST", -5*3600)

// holiday is a day of lower human activity, as a factor on human-driven
// work (customers, employees); scheduled jobs do not notice holidays.
type holiday struct {
	date   string // YYYY-MM-DD, local
	name   string
	factor float64
}

// holidays is the company calendar. The default four weeks hold the
// Thanksgiving week (the week before the test week).
var holidays = []holiday{
	{"2025-11-24", "Thanksgiving week", 0.85},
	{"2025-11-25", "Thanksgiving week", 0.8},
	{"2025-11-26", "Thanksgiving eve", 0.6},
	{"2025-11-27", "Thanksgiving", 0.12},
	{"2025-11-28", "Black Friday (company holiday)", 0.3},
	{"2025-12-24", "Christmas Eve", 0.35},
	{"2025-12-25", "Christmas", 0.1},
	{"2025-12-26", "Boxing Day", 0.3},
	{"2025-12-31", "New Year's Eve", 0.4},
	{"2026-01-01", "New Year's Day", 0.1},
	{"2026-01-19", "Martin Luther King Jr. Day", 0.5},
	{"2026-02-16", "Presidents' Day", 0.5},
}

func holidayFactor(t time.Time) float64 {
	d := t.In(eastern).Format(time.DateOnly)
	for _, h := range holidays {
		if h.date == d {
			return h.factor
		}
	}
	return 1
}

// rhythm is an hour-of-day profile (local time) for weekdays and weekends,
// and whether holidays apply.
type rhythm struct {
	weekday  [24]float64
	weekend  [24]float64
	holidays bool
	// loc is the clock the profile follows (nil: US Eastern).
	loc *time.Location
}

// at is the rhythm's factor for the hour starting at t.
func (r *rhythm) at(t time.Time) float64 {
	loc := r.loc
	if loc == nil {
		loc = eastern
	}
	l := t.In(loc)
	v := r.weekday[l.Hour()]
	if wd := l.Weekday(); wd == time.Saturday || wd == time.Sunday {
		v = r.weekend[l.Hour()]
	}
	if r.holidays {
		v *= holidayFactor(t)
	}
	return v
}

// office is people at work: 08:00-18:00 local on weekdays, little at night
// and on weekends.
var office = rhythm{
	weekday: [24]float64{0.03, 0.02, 0.02, 0.02, 0.02, 0.03, 0.06, 0.3, 0.75, 1, 1, 0.95,
		0.75, 0.9, 1, 0.95, 0.85, 0.6, 0.35, 0.2, 0.15, 0.1, 0.06, 0.04},
	weekend: [24]float64{0.02, 0.02, 0.01, 0.01, 0.01, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.1,
		0.1, 0.1, 0.1, 0.09, 0.08, 0.07, 0.07, 0.06, 0.05, 0.04, 0.03, 0.02},
	holidays: true,
}

// customers is a customer-facing service: never idle, busiest in the
// customers' working day, still busy at weekends.
var customers = rhythm{
	weekday: [24]float64{0.3, 0.25, 0.2, 0.2, 0.2, 0.25, 0.35, 0.55, 0.8, 0.95, 1, 1,
		0.95, 0.95, 1, 0.95, 0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.4, 0.35},
	weekend: [24]float64{0.2, 0.18, 0.15, 0.15, 0.15, 0.15, 0.2, 0.3, 0.4, 0.5, 0.55, 0.55,
		0.55, 0.55, 0.5, 0.5, 0.5, 0.45, 0.4, 0.35, 0.3, 0.3, 0.25, 0.2},
	holidays: true,
}

// euOffice is the EU finance team's working day (London, UTC in winter);
// US holidays do not apply.
var euOffice = rhythm{
	weekday: [24]float64{0, 0, 0, 0, 0, 0, 0, 0.35, 0.8, 1, 1, 0.95,
		0.7, 0.9, 1, 0.95, 0.8, 0.5, 0, 0, 0, 0, 0, 0},
	loc: time.UTC,
}

// flat is machinery: the same every hour.
var flat = rhythm{
	weekday: [24]float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
	weekend: [24]float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
}

func isWeekendLocal(t time.Time) bool {
	wd := t.In(eastern).Weekday()
	return wd == time.Saturday || wd == time.Sunday
}
