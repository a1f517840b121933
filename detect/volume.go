package detect

import (
	"fmt"
	"math"

	"github.com/agentwatch/agentwatch/baseline"
	"github.com/agentwatch/agentwatch/schemas"
)

// volumeCheck is one volume detector: which features it sums, its floor.
type volumeCheck struct {
	detector string
	features []baseline.Feature
	what     string
	floor    func(c *Config) int64
}

// Ordered most specific first: one volume alert per agent and window, and
// a data exfiltration that also raises the event count is volume.data.
var volumeChecks = []volumeCheck{
	{DVolumeData, []baseline.Feature{baseline.FBytes}, "bytes", func(*Config) int64 { return 1 << 20 }},
	{DVolumeData, []baseline.Feature{baseline.FRecords}, "records", func(*Config) int64 { return 1000 }},
	{DVolumeFailures, []baseline.Feature{baseline.FFailures, baseline.FDenials}, "failed or denied calls", func(c *Config) int64 { return c.MinFailures }},
	{DVolumeResources, []baseline.Feature{baseline.FDistinctResources}, "distinct resources", func(c *Config) int64 { return c.MinResources }},
	{DVolumeSpike, []baseline.Feature{baseline.FEvents}, "events", func(c *Config) int64 { return c.MinSpikeEvents }},
}

// volume compares the open window so far with the seasonal baseline. The
// critical value comes from a Poisson or negative-binomial tail (see
// baseline.Critical) at the expected count for this hour, computed once per
// window and feature and cached in the window.
func (e *Engine) volume(ev *schemas.AgentEvent, o *baseline.Obs, own bool, out []finding) []finding {
	a := o.Agent
	w := &a.W
	if o.Late || w.Flags&wfVolume != 0 {
		return e.fanout(ev, o, own, out)
	}
	prof := &a.P
	if !own {
		prof = &o.Peer.P
	}
	how := baseline.HourOfWeek(ev.Time)
	vals := [baseline.NumFeatures]int64{
		baseline.FBytes: w.Bytes, baseline.FRecords: w.Records, baseline.FFailures: int64(w.Failures),
		baseline.FDenials: int64(w.Denials), baseline.FDistinctResources: -1, baseline.FEvents: int64(w.Events),
	}
	for i := range volumeChecks {
		c := &volumeChecks[i]
		if !e.cfg.enabled(c.detector) {
			continue
		}
		var obs int64
		for _, f := range c.features {
			v := vals[f]
			if f == baseline.FDistinctResources {
				v = w.Resources.Count() // only counted when checked
			}
			obs += v
		}
		floor := c.floor(&e.cfg)
		if obs < floor {
			continue
		}
		key := c.features[0]
		crit := w.Crit[key]
		var mean, variance, most float64
		for _, f := range c.features {
			mean += prof.Expected(f, how)
			variance += prof.Variance(f)
			most += float64(prof.Stats[f].Max)
		}
		if crit == 0 {
			crit = baseline.Critical(mean, variance, e.cfg.Alpha)
			if r := int64(math.Ceil(e.cfg.SpikeRatio * mean)); r > crit {
				crit = r
			}
			// Heavy-tailed features (bytes, records) defeat any
			// single-window law; never firing below the largest window
			// recently seen, with a margin, keeps the nightly batch quiet.
			if r := int64(math.Ceil(e.cfg.MaxRatio * most)); r > crit {
				crit = r
			}
			if crit < floor {
				crit = floor
			}
			w.Crit[key] = crit
		}
		if obs < crit {
			continue
		}
		w.Flags |= wfVolume
		ratio := float64(obs) / math.Max(mean, 0.5)
		score := 50 + int(12*math.Log2(ratio/e.cfg.SpikeRatio+1))
		if score > 90 {
			score = 90
		}
		src := "its own"
		if !own {
			src = "its peer group's (" + o.Peer.Kind + ")"
		}
		out = append(out, finding{detector: c.detector, score: score, boundary: schemas.BoundaryLearned,
			summary: fmt.Sprintf("%d %s in the window from %s UTC, %.1fx the %.1f expected (latest: %s)",
				obs, c.what, hourLabel(w.Start), ratio, mean, verb(ev)),
			reason: fmt.Sprintf("above %s seasonal baseline (%s): tail probability below %g", src, prof.Seasonality(), e.cfg.Alpha),
			evidence: []schemas.Evidence{{Feature: c.what, Observed: fmt.Sprint(obs),
				Baseline: fmt.Sprintf("expected %.1f at this hour (sd %.1f, largest recent window %.0f), threshold %d", mean, math.Sqrt(variance), most, crit)}}})
		break
	}
	return e.fanout(ev, o, own, out)
}

// fanout watches the number of distinct delegators per window.
func (e *Engine) fanout(ev *schemas.AgentEvent, o *baseline.Obs, own bool, out []finding) []finding {
	a := o.Agent
	w := &a.W
	if o.Late || o.Delegator == 0 || !own || w.Flags&wfFanout != 0 || !e.cfg.enabled(DFanout) {
		return out
	}
	n := w.Delegators.Count()
	if n < 5 {
		return out
	}
	f := baseline.FDistinctDelegators
	crit := w.Crit[f]
	mean := a.P.Expected(f, baseline.HourOfWeek(ev.Time))
	if crit == 0 {
		crit = baseline.Critical(mean, a.P.Variance(f), e.cfg.Alpha)
		if r := int64(math.Ceil(e.cfg.SpikeRatio * mean)); r > crit {
			crit = r
		}
		w.Crit[f] = crit
	}
	if n < crit {
		return out
	}
	w.Flags |= wfFanout
	return append(out, finding{detector: DFanout, score: 60, boundary: schemas.BoundaryLearned,
		summary:  fmt.Sprintf("acted on behalf of %d different principals in one window, about %.1f is normal", n, mean),
		reason:   "above its learned delegation fan-out",
		evidence: []schemas.Evidence{{Feature: "distinct_delegators", Observed: fmt.Sprint(n), Baseline: fmt.Sprintf("expected %.1f, threshold %d", mean, crit)}}})
}
