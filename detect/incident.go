package detect

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// IncidentConfig says which findings make one incident and when it ends.
//
// The defaults are what a security team would pick for identity alarms:
// one incident per agent and boundary (detector), the way Alertmanager
// groups by alert name and PagerDuty's content-based grouping on component
// and class (our PagerDuty events carry agent and detector there), and a
// day of quiet before the same boundary crossed again is a new incident,
// the way GuardDuty folds repeats of a finding into one finding with a
// count. An owner then gets one message per thing that went wrong, kept up
// to date, instead of one per resource touched; a crossing that stops and
// comes back the next day is news again.
type IncidentConfig struct {
	// GroupBy names the parts of the grouping key; it must contain agent
	// and detector. Others: instance, subject (what crossed: the action,
	// network, credential...), on_behalf_of, credential, system.
	GroupBy []string `koanf:"group_by"`
	// QuietPeriod is how long no event may cross the boundary before the
	// incident resolves; a later crossing opens a new incident.
	QuietPeriod time.Duration `koanf:"quiet_period"`
	// Examples is how many distinct resources, actions and subjects an
	// incident keeps as examples (at most schemas.MaxAlertExamples).
	Examples int `koanf:"examples"`
	// Rules override GroupBy and QuietPeriod for some detectors; the first
	// rule whose detectors match applies.
	Rules []IncidentRule `koanf:"rules"`
}

// IncidentRule overrides the grouping of the detectors it matches.
type IncidentRule struct {
	// Detectors are globs of detector names ("network.*").
	Detectors []string `koanf:"detectors"`
	// GroupBy replaces IncidentConfig.GroupBy when set.
	GroupBy []string `koanf:"group_by"`
	// QuietPeriod replaces IncidentConfig.QuietPeriod when positive.
	QuietPeriod time.Duration `koanf:"quiet_period"`
}

// Grouping key parts.
const (
	GroupAgent      = "agent"
	GroupInstance   = "instance"
	GroupDetector   = "detector"
	GroupSubject    = "subject"
	GroupOnBehalfOf = "on_behalf_of"
	GroupCredential = "credential"
	GroupSystem     = "system"
)

var groupParts = []string{GroupAgent, GroupInstance, GroupDetector, GroupSubject, GroupOnBehalfOf, GroupCredential, GroupSystem}

// DefaultIncidentConfig returns the documented defaults.
func DefaultIncidentConfig() IncidentConfig {
	return IncidentConfig{GroupBy: []string{GroupAgent, GroupDetector}, QuietPeriod: 24 * time.Hour, Examples: 5}
}

// Validate reports the first invalid key under detect.incidents.
func (c IncidentConfig) Validate() error {
	if err := validGroupBy("detect.incidents.group_by", c.GroupBy); err != nil {
		return err
	}
	switch {
	case c.QuietPeriod <= 0:
		return fmt.Errorf("detect.incidents.quiet_period: must be positive")
	case c.Examples < 0 || c.Examples > schemas.MaxAlertExamples:
		return fmt.Errorf("detect.incidents.examples: %d is outside 0-%d", c.Examples, schemas.MaxAlertExamples)
	}
	for i, r := range c.Rules {
		key := fmt.Sprintf("detect.incidents.rules[%d]", i)
		if len(r.Detectors) == 0 {
			return fmt.Errorf("%s.detectors: is required (globs of detector names)", key)
		}
		for _, d := range r.Detectors {
			if !slices.ContainsFunc(Detectors, func(name string) bool { return inventory.Glob(d, name) }) {
				return fmt.Errorf("%s.detectors: %q matches no detector (known: %s)", key, d, strings.Join(Detectors, ", "))
			}
		}
		if len(r.GroupBy) > 0 {
			if err := validGroupBy(key+".group_by", r.GroupBy); err != nil {
				return err
			}
		}
		if r.QuietPeriod < 0 {
			return fmt.Errorf("%s.quiet_period: must not be negative", key)
		}
	}
	return nil
}

func validGroupBy(key string, parts []string) error {
	seen := map[string]bool{}
	for _, p := range parts {
		if !slices.Contains(groupParts, p) {
			return fmt.Errorf("%s: %q is not one of %s", key, p, strings.Join(groupParts, ", "))
		}
		if seen[p] {
			return fmt.Errorf("%s: %q is listed twice", key, p)
		}
		seen[p] = true
	}
	// Without the agent an incident would mix owners; without the
	// detector, kinds of problem that route and resolve differently.
	if !seen[GroupAgent] || !seen[GroupDetector] {
		return fmt.Errorf("%s: must contain agent and detector (got [%s])", key, strings.Join(parts, ", "))
	}
	return nil
}

// incidentPolicy is the grouping of one detector, resolved from the config.
type incidentPolicy struct {
	parts []string
	quiet time.Duration
}

// policies resolves every detector's policy once, so a finding costs a map
// lookup rather than glob matching.
func (c IncidentConfig) policies() map[string]*incidentPolicy {
	out := make(map[string]*incidentPolicy, len(Detectors))
	def := &incidentPolicy{parts: c.GroupBy, quiet: c.QuietPeriod}
	for _, d := range Detectors {
		out[d] = def
		for _, r := range c.Rules {
			if !slices.ContainsFunc(r.Detectors, func(g string) bool { return inventory.Glob(g, d) }) {
				continue
			}
			p := &incidentPolicy{parts: c.GroupBy, quiet: c.QuietPeriod}
			if len(r.GroupBy) > 0 {
				p.parts = r.GroupBy
			}
			if r.QuietPeriod > 0 {
				p.quiet = r.QuietPeriod
			}
			out[d] = p
			break
		}
	}
	return out
}

// appendKey appends the grouping key of a finding on ev to dst: the parts
// in the configured order, joined by "|".
func (p *incidentPolicy) appendKey(dst []byte, agentID string, f *finding, ev *schemas.AgentEvent) []byte {
	for i, part := range p.parts {
		if i > 0 {
			dst = append(dst, '|')
		}
		switch part {
		case GroupAgent:
			dst = append(dst, agentID...)
		case GroupInstance:
			dst = append(dst, ev.AgentInstance...)
		case GroupDetector:
			dst = append(dst, f.detector...)
		case GroupSubject:
			dst = append(dst, f.subject...)
		case GroupOnBehalfOf:
			dst = append(dst, ev.OnBehalfOf...)
		case GroupCredential:
			dst = append(dst, ev.CredentialID...)
		case GroupSystem:
			dst = append(dst, ev.System...)
		}
	}
	return dst
}

// spreadBonus is the score an incident gains as it reaches more distinct
// resources, actions or subjects: ten things outside a boundary are a
// pattern, a hundred a sweep, a thousand an enumeration or a bulk read.
func spreadBonus(distinct int) int {
	switch {
	case distinct >= 1000:
		return 15
	case distinct >= 100:
		return 10
	case distinct >= 10:
		return 5
	}
	return 0
}

// nextMilestone is the least milestone (1, 2, 5, 10, 20, 50, ...) above n.
func nextMilestone(n int) int {
	for m := 1; ; m *= 10 {
		for _, k := range [3]int{1, 2, 5} {
			if k*m > n {
				return k * m
			}
		}
	}
}

// milestone reports whether a count is worth re-sending: the sinks update
// their message on these counts rather than on every repeat.
func milestone(n int) bool { return n >= 1 && nextMilestone(n-1) == n }

// spread counts the distinct values of one dimension of an incident with
// bounded memory: exact up to smallCap values, then a HyperLogLog sketch
// of hllM registers: linear counting while most registers are empty
// (about 1% error up to a few thousand values), about 2.3% beyond. An
// open incident so costs at most about 2 KiB per dimension, whatever it
// touches. It keeps the first values as examples. The hash is fixed
// (FNV-1a, then mixed), so the same events always give the same counts.
type spread struct {
	offset int // counted before a restart: not in small, set or hll
	// The first values' hashes inline, then the sketch: most incidents
	// touch a few actions and subjects, and a scan of the incident's own
	// memory costs less than a hash set, whose accesses miss the cache
	// when thousands of incidents are open.
	small    [smallCap]uint64
	nsmall   int
	hll      *[hllM]uint8
	examples []string
	// The sketch's harmonic sum and empty registers, kept up to date as
	// registers change, and its estimate, computed only after a change:
	// a count then costs nothing per event.
	sum   float64
	zeros int
	est   int
}

const (
	smallCap = 16
	hllP     = 11
	hllM     = 1 << hllP
)

// add records v and reports how the count moved.
func (s *spread) add(v string, maxExamples int) (before, after int) {
	before = s.count()
	if v == "" {
		return before, before
	}
	h := hash64(v)
	if s.hll != nil {
		if s.hllAdd(h) {
			s.est = s.estimate()
		}
		return before, s.count()
	}
	if slices.Contains(s.small[:s.nsmall], h) {
		return before, before
	}
	if len(s.examples) < maxExamples {
		s.examples = append(s.examples, strings.Clone(v))
	}
	if s.nsmall < smallCap {
		s.small[s.nsmall] = h
		s.nsmall++
		return before, s.count()
	}
	s.hll = new([hllM]uint8)
	s.sum, s.zeros = hllM, hllM
	for _, x := range s.small[:s.nsmall] {
		s.hllAdd(x)
	}
	s.hllAdd(h)
	s.nsmall = 0
	s.est = s.estimate()
	return before, s.count()
}

// hllAdd adds a hash to the sketch and reports whether a register moved.
func (s *spread) hllAdd(h uint64) bool {
	i := h >> (64 - hllP)
	r := uint8(bits.LeadingZeros64(h<<hllP|1<<(hllP-1)) + 1)
	old := s.hll[i]
	if r <= old {
		return false
	}
	s.hll[i] = r
	s.sum += math.Ldexp(1, -int(r)) - math.Ldexp(1, -int(old))
	if old == 0 {
		s.zeros--
	}
	return true
}

// count is the exact or estimated number of distinct values.
func (s *spread) count() int {
	if s.hll == nil {
		return s.offset + s.nsmall
	}
	return s.offset + s.est
}

// estimate is the sketch's estimate of the values added to it.
func (s *spread) estimate() int {
	const m = float64(hllM)
	est := 0.7213 / (1 + 1.079/m) * m * m / s.sum
	if est <= 2.5*m && s.zeros > 0 {
		est = m * math.Log(m/float64(s.zeros)) // linear counting is better here
	}
	n := int(math.Round(est))
	if n <= smallCap {
		n = smallCap + 1 // it held more than that exactly before switching
	}
	return n
}

// restoreSpread rebuilds a spread from a stored incident: its examples are
// known again, the rest of its count carries over. Values seen before the
// restart other than the examples may be counted once more.
func restoreSpread(distinct int, examples []string) spread {
	s := spread{offset: max(distinct-len(examples), 0)}
	for _, v := range examples {
		s.add(v, len(examples))
	}
	return s
}

// hash64 is FNV-1a followed by a 64-bit finaliser, so that the high bits
// the sketch uses are well mixed even for short, similar strings.
func hash64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
