package baseline

import (
	"sort"
	"time"
)

// Feature indexes the per-window features.
type Feature int

// The window features. DistinctDelegators is beyond the list: it
// feeds delegation.fanout.
const (
	FEvents Feature = iota
	FDistinctActions
	FDistinctResources
	FDistinctSystems
	FDistinctNetworks
	FFailures
	FDenials
	FBytes
	FRecords
	FDistinctDelegators
	NumFeatures
)

// FeatureNames are the feature column values in agent_baselines.
var FeatureNames = [NumFeatures]string{
	"events", "distinct_actions", "distinct_resources", "distinct_systems", "distinct_networks",
	"failures", "denials", "bytes", "records", "distinct_delegators",
}

// ringLen is how many recent windows the robust statistics (median, MAD,
// quantiles) are computed over.
const ringLen = 32

// maxDecay halves a Stat's Max in about six weeks of hourly windows.
const maxDecay = 0.9993

// Stat is one feature's profile: an EWMA mean, an EWMA variance of the
// residual against the seasonal expectation, and the recent windows.
type Stat struct {
	Mean float32
	Var  float32
	// Max is the largest window seen, decaying by maxDecay per window so
	// that one burst months ago does not blind the agent forever.
	Max  float32
	Ring [ringLen]float32
}

// Profile is one agent's (or peer group's) learned behaviour over windows.
// Every feature has an hour-of-day profile (an analyst's nightly batch
// moves more bytes per call than its daytime queries); the hour-of-week
// profile is kept for the event count only and scales the other features'
// hour-of-day values, which keeps an agent's profile near 3 KiB.
type Profile struct {
	N        uint32 // windows folded, empty ones included
	FirstWin int64  // unix seconds of the first folded window
	LastWin  int64  // unix seconds of the last folded window
	Stats    [NumFeatures]Stat
	How      [168]float32
	HowN     [168]uint8
	Hod      [NumFeatures][24]float32
	HodN     [24]uint8
}

// HourOfWeek is 0 for Monday 00:00-01:00 UTC.
func HourOfWeek(t time.Time) int {
	t = t.UTC()
	return ((int(t.Weekday())+6)%7)*24 + t.Hour()
}

// Span is the time the profile's windows cover.
func (p *Profile) Span() time.Duration {
	if p.N == 0 {
		return 0
	}
	return time.Duration(p.LastWin-p.FirstWin) * time.Second
}

// Seasonality names the seasonal model in use: hour_of_week once two weeks
// of history exist, hour_of_day after three days, flat before.
func (p *Profile) Seasonality() string {
	switch s := p.Span(); {
	case s >= 13*24*time.Hour:
		return "hour_of_week"
	case s >= 3*24*time.Hour:
		return "hour_of_day"
	}
	return "flat"
}

// seasonalFloor is the share of the flat mean that any hour is expected
// to carry at least: an hour in which an agent has so far been idle is
// unusual, not impossible.
const seasonalFloor = 0.1

// Expected is the seasonal expectation of feature f in hour-of-week slot how.
func (p *Profile) Expected(f Feature, how int) float64 {
	season := p.Seasonality()
	h := how % 24
	flat := float64(p.Stats[f].Mean)
	v := flat
	if season != "flat" && p.HodN[h] >= 3 {
		v = float64(p.Hod[f][h])
	}
	if season == "hour_of_week" && p.HowN[how] >= 2 {
		wk := float64(p.How[how])
		if f == FEvents {
			v = wk
		} else if day := float64(p.Hod[FEvents][h]); day > 0 {
			v *= min(max(wk/day, 0.2), 5)
		}
	}
	return max(v, seasonalFloor*flat)
}

// Variance is the residual variance of feature f around its expectation.
func (p *Profile) Variance(f Feature) float64 { return float64(p.Stats[f].Var) }

// Fold adds one closed window's feature values (window starting at start).
func (p *Profile) Fold(vals *[NumFeatures]float64, start int64, alpha, seasonalAlpha float64) {
	how := HourOfWeek(time.Unix(start, 0))
	a := alpha
	if n := 1 / float64(p.N+1); n > a {
		a = n // converge quickly while young
	}
	for f := Feature(0); f < NumFeatures; f++ {
		s := &p.Stats[f]
		v := vals[f]
		resid := v - p.Expected(f, how)
		if p.N == 0 {
			s.Mean, s.Var = float32(v), 0
		} else {
			s.Mean += float32(a * (v - float64(s.Mean)))
			s.Var = float32((1-a)*float64(s.Var) + a*resid*resid)
		}
		s.Ring[p.N%ringLen] = float32(v)
		s.Max *= maxDecay
		if float32(v) > s.Max {
			s.Max = float32(v)
		}
	}
	foldSlot(&p.How[how], &p.HowN[how], vals[FEvents], seasonalAlpha)
	h := how % 24
	ah := seasonalAlpha / 2
	if r := 1 / float64(p.HodN[h]+1); r > ah {
		ah = r
	}
	for f := Feature(0); f < NumFeatures; f++ {
		p.Hod[f][h] += float32(ah * (vals[f] - float64(p.Hod[f][h])))
	}
	if p.HodN[h] < 255 {
		p.HodN[h]++
	}
	if p.N == 0 {
		p.FirstWin = start
	}
	p.LastWin = start
	p.N++
}

func foldSlot(v *float32, n *uint8, x, alpha float64) {
	a := alpha
	if r := 1 / float64(*n+1); r > a {
		a = r
	}
	*v += float32(a * (x - float64(*v)))
	if *n < 255 {
		*n++
	}
}

// Robust returns median, MAD and the 50th/95th/99th percentiles of the
// recent windows of feature f.
func (p *Profile) Robust(f Feature) (median, mad, p50, p95, p99 float64) {
	n := int(p.N)
	if n == 0 {
		return
	}
	if n > ringLen {
		n = ringLen
	}
	vals := make([]float64, n)
	for i := 0; i < n; i++ {
		vals[i] = float64(p.Stats[f].Ring[i])
	}
	sort.Float64s(vals)
	q := func(x float64) float64 { return vals[int(x*float64(n-1)+0.5)] }
	median = q(0.5)
	dev := make([]float64, n)
	for i, v := range vals {
		d := v - median
		if d < 0 {
			d = -d
		}
		dev[i] = d
	}
	sort.Float64s(dev)
	mad = dev[int(0.5*float64(n-1)+0.5)]
	return median, mad, median, q(0.95), q(0.99)
}
