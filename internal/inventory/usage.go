package inventory

import "net/netip"

// What follows lets a report say which declared entries were used (the
// posture report's least privilege), judging each event exactly as the
// detectors judge it: the same compiled rules, in ActionRules' bit order.

// RuleEntries says which entries of rule i an event of action on resource
// matches: the indexes (in Rule's lists) of the rule's action patterns
// that match action, and of its resource patterns that match resource.
// An event that names no resource (a call IAM authorises against "*")
// matches the resource entries that match anything. Out-of-range i
// matches nothing.
func (p *Playground) RuleEntries(i int, action, resource string) (actions, resources []int) {
	c := p.compiled()
	if i < 0 || i >= len(c.rules) {
		return nil, nil
	}
	r := &c.rules[i]
	if len(r.actions) > 0 {
		lower, iamLower := actionForms(action)
		for j := range r.actions {
			if r.actions[j].match(action, lower, iamLower) {
				actions = append(actions, j)
			}
		}
	}
	for j := range r.resources {
		m := &r.resources[j]
		if m.all || (resource != "" && m.match(resource)) {
			resources = append(resources, r.resAt[j])
		}
	}
	return actions, resources
}

// NetworkEntries returns the indexes of the declared networks that hold
// ip; none when ip is not an address (an AWS service acting for the
// agent is named by its host name).
func (p *Playground) NetworkEntries(ip string) []int {
	if len(p.Networks) == 0 || ip == "" {
		return nil
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return nil
	}
	a = a.Unmap()
	var out []int
	for i, n := range p.compiled().networks {
		if n.IsValid() && n.Contains(a) {
			out = append(out, i)
		}
	}
	return out
}

// ClientEntry returns the index of the declared client family a call with
// user agent ua from srcIP was made with, or -1: none declared, no user
// agent, another family, or a call an AWS service made for the agent
// (which AllowsClient does not judge either).
func (p *Playground) ClientEntry(ua, srcIP string) int {
	if len(p.Clients) == 0 || ua == "" {
		return -1
	}
	f := ClientFamily(ua)
	if srcIP == "" && (f == "aws-service" || f == "aws-internal") {
		return -1
	}
	for i, c := range p.Clients {
		if c == f {
			return i
		}
	}
	return -1
}
