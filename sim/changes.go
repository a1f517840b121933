package sim

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Change types: benign drifts a real fleet goes through.
const (
	// ChangeRate multiplies the agent's volume by Factor in [From, Until)
	// (a holiday lull is Factor 0.1 over a few days).
	ChangeRate = "rate"
	// ChangeRamp grows the volume linearly from 1x at From to Factor at
	// Until, and keeps Factor afterwards (a traffic ramp after a launch).
	ChangeRamp = "ramp"
	// ChangeAddHabit adds a new action from From on, about Rate events in
	// a busy hour following the agent's rhythm (a deploy added a feature).
	ChangeAddHabit = "add_habit"
	// ChangeNewInstance starts one more instance (a scale-out).
	ChangeNewInstance = "new_instance"
	// ChangeSubnet moves every instance into Network (a VPC change).
	ChangeSubnet = "subnet"
	// ChangeUserAgent switches the user agent (a new release).
	ChangeUserAgent = "user_agent"
	// ChangeRotateKey replaces the agent's long-lived key with a new one,
	// issued at From (a scheduled rotation). Only agents that use a static
	// key (the sales agent) are affected.
	ChangeRotateKey = "rotate_key"
)

// ChangeTypes lists the valid Change.Type values.
var ChangeTypes = []string{ChangeRate, ChangeRamp, ChangeAddHabit, ChangeNewInstance, ChangeSubnet, ChangeUserAgent, ChangeRotateKey}

// Change is one benign drift of one agent's behaviour. From and Until are
// offsets from the fleet's start; Until 0 means "until the end".
type Change struct {
	Type  string
	Agent string
	From  time.Duration
	Until time.Duration

	Factor float64 // rate, ramp

	System       string  // add_habit
	Action       string  // add_habit
	Resource     string  // add_habit; "{n}" is replaced by a small random number, "{date}" by the day
	ResourceType string  // add_habit
	Rate         float64 // add_habit: events in a busy hour

	Instance  string // new_instance
	Network   string // subnet, e.g. "10.20.9.0/24"
	UserAgent string // user_agent
	KeyID     string // rotate_key: the new key's id

	prefix netip.Prefix
	from   time.Time
	until  time.Time
}

func (c *Change) validate() error {
	if c.Agent == "" {
		return fmt.Errorf("agent: is required")
	}
	if c.From < 0 || c.Until < 0 || (c.Until != 0 && c.Until <= c.From) {
		return fmt.Errorf("from/until: want 0 <= from < until (got %v, %v)", c.From, c.Until)
	}
	switch c.Type {
	case ChangeRate:
		if c.Factor < 0 || c.Factor > 100 {
			return fmt.Errorf("factor: %v is outside 0-100", c.Factor)
		}
	case ChangeRamp:
		if c.Factor <= 0 || c.Factor > 100 || c.Until == 0 {
			return fmt.Errorf("factor/until: a ramp needs 0 < factor <= 100 and an until")
		}
	case ChangeAddHabit:
		if c.System == "" || c.Action == "" {
			return fmt.Errorf("system/action: add_habit needs both")
		}
		if c.Rate <= 0 || c.Rate > 1000 {
			return fmt.Errorf("rate: %v is outside (0, 1000]", c.Rate)
		}
	case ChangeNewInstance:
		if c.Instance == "" {
			return fmt.Errorf("instance: is required for new_instance")
		}
	case ChangeSubnet:
		p, err := netip.ParsePrefix(c.Network)
		if err != nil || !p.Addr().Is4() || p.Bits() != 24 {
			return fmt.Errorf("network: %q is not an IPv4 /24", c.Network)
		}
		c.prefix = p.Masked()
	case ChangeUserAgent:
		if c.UserAgent == "" {
			return fmt.Errorf("user_agent: is required for user_agent")
		}
	case ChangeRotateKey:
		if c.KeyID == "" {
			return fmt.Errorf("key_id: is required for rotate_key")
		}
	default:
		return fmt.Errorf("type: %q is not one of %s", c.Type, strings.Join(ChangeTypes, ", "))
	}
	return nil
}

// bind fixes the change's absolute times once the fleet's start is known.
func (c *Change) bind(start time.Time) {
	c.from = start.Add(c.From)
	if c.Until != 0 {
		c.until = start.Add(c.Until)
	}
}

func (c *Change) active(t time.Time) bool {
	return !t.Before(c.from) && (c.until.IsZero() || t.Before(c.until))
}

// volumeFactor is the product of the agent's rate and ramp changes at t.
func (a *agent) volumeFactor(t time.Time) float64 {
	f := 1.0
	for _, c := range a.changes {
		switch c.Type {
		case ChangeRate:
			if c.active(t) {
				f *= c.Factor
			}
		case ChangeRamp:
			if t.Before(c.from) {
				continue
			}
			if !t.Before(c.until) {
				f *= c.Factor
				continue
			}
			frac := float64(t.Sub(c.from)) / float64(c.until.Sub(c.from))
			f *= 1 + (c.Factor-1)*frac
		}
	}
	return f
}

// staticKey is the agent's long-lived key id and issue time at t, after any
// rotation.
func (a *agent) staticKey(t time.Time) (string, time.Time) {
	id, issued := a.staticID, a.issued
	for _, c := range a.changes {
		if c.Type == ChangeRotateKey && c.active(t) {
			id, issued = c.KeyID, c.from
		}
	}
	return id, issued
}
