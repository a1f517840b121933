package detect

import (
	"fmt"
	"net/netip"

	"github.com/agentwatch/agentwatch/baseline"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// Source networks are learned per /24 (IPv4) or /48 (IPv6). That is the
// right grain for public addresses, where a new /24 is usually a new
// provider, office or host. It is too fine for the private addresses of
// a workload in a VPC or a cluster: pods, Fargate tasks, Lambda ENIs and
// rescheduled pods take a new address in whichever subnet has room, so an
// agent spread over a VPC meets a new /24 every few days without anything
// having changed. Two things generalise a private source:
//
//   - the declared networks: the declared boundary judges the source
//     (network.undeclared fires outside them), and inside them the learned
//     detector does not second-guess the owner;
//   - the agent's own spread: once it has been seen in spreadMin /24s of
//     one private /16 (the largest VPC AWS allows is a /16), that /16 is
//     where it runs, and another /24 in it is not a new network.
//
// A public source stays judged per /24, and is scored up when every
// network the agent has used is private: credentials of a workload that
// only ever called from inside its network, now used from the internet,
// is how stolen session credentials look.

// spreadMin is how many private /24s of one /16 make the /16 the agent's.
const spreadMin = 3

// newSource judges a network the agent has not used before.
func (e *Engine) newSource(ag *inventory.Agent, ev *schemas.AgentEvent, o *baseline.Obs) (finding, bool) {
	a := o.Agent
	addr, err := netip.ParseAddr(ev.SrcIP)
	if err != nil {
		return finding{}, false
	}
	addr = addr.Unmap()
	private := privateAddr(addr)
	if ag != nil && len(ag.Playground.Networks) > 0 && ag.Playground.AllowsNetwork(ev.SrcIP) {
		return finding{}, false
	}
	wide, spread, onlyPrivate := e.spread(a, o.Network, addr)
	if private && spread >= spreadMin {
		return finding{}, false
	}
	net := e.tr.Str(o.Network)
	f := finding{detector: DNewSource, subject: net, score: 40, boundary: schemas.BoundaryLearned,
		summary:  fmt.Sprintf("%s from network %s (%s), a source it has never used", verb(ev), net, ev.SrcIP),
		reason:   "outside the learned playground: new source network",
		evidence: []schemas.Evidence{{Feature: "source_network", Observed: net, Baseline: e.known(a.Networks, 5)}}}
	switch {
	case !private && onlyPrivate:
		f.score = 65
		f.summary += "; it had only ever called from private addresses"
		f.reason = "outside the learned playground: a public network for an agent that only ever called from private addresses (credentials used outside its network)"
	case private && wide.IsValid() && spread > 0:
		f.evidence = append(f.evidence, schemas.Evidence{Feature: "private_network_spread",
			Observed: fmt.Sprintf("%d other /24s in %s", spread, wide), Baseline: fmt.Sprintf("at least %d make %s the agent's network", spreadMin, wide)})
	}
	return f, true
}

// spread counts the agent's learned networks, other than the new one,
// that are private and in the same /16 (IPv4) or /32 (IPv6) as addr, and
// reports whether every learned network other than the new one is
// private.
func (e *Engine) spread(a *baseline.Agent, self uint32, addr netip.Addr) (wide netip.Prefix, n int, onlyPrivate bool) {
	bits := 16
	if !addr.Is4() {
		bits = 32
	}
	wide, _ = addr.Prefix(bits)
	onlyPrivate = true
	others := 0
	for _, h := range a.Networks {
		if h.Key == self {
			continue
		}
		p, err := netip.ParsePrefix(e.tr.Str(h.Key))
		if err != nil {
			continue
		}
		others++
		if !privateAddr(p.Addr()) {
			onlyPrivate = false
			continue
		}
		if wide.IsValid() && wide.Contains(p.Addr()) {
			n++
		}
	}
	return wide, n, onlyPrivate && others > 0
}

// cgnat is the shared address space (RFC 6598) that VPCs and clusters
// use as private space (EKS custom pod networking, for one).
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// privateAddr reports whether addr is private address space: RFC 1918,
// RFC 6598 and IPv6 unique local addresses.
func privateAddr(addr netip.Addr) bool {
	return addr.IsPrivate() || cgnat.Contains(addr)
}
