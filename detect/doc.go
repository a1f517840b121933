// Package detect turns agent events into alerts: declared boundaries (the
// inventory's policy) and learned ones (the agent's own baseline), with
// dedup, repeat updates, resolution, suppressions and shadow mode.
//
// The Engine judges each event against the state learned before it, then
// learns from it (baseline.Tracker). Detectors, by file:
//
//	declared.go (always on, boundary "declared")
//	  playground.declared         system, action or resource outside the declared lists; with
//	                              statements, an action on a resource its statements leave out;
//	                              actions IAM never denies (sts:GetCallerIdentity) are inside
//	                              any AWS playground
//	  time.outside_hours          outside the declared calendar hours (UTC)
//	  credential.disallowed_type  credential type not allowed
//	  credential.too_old          credential older than its maximum age
//	  delegation.not_allowed      on behalf of someone not allowed (anyone, with delegators: none)
//	declared_sources.go (always on, boundary "declared")
//	  network.undeclared          from an address outside the declared networks
//	  client.undeclared           with a client family not declared (boto3, aws-cli, terraform, ...)
//	  credential.not_rotated      a key in use longer than credentials.rotate_every
//	  lifecycle.decommissioned, lifecycle.suspended, lifecycle.expired, lifecycle.ownerless
//	  identity.unattributed       a principal no attribution rule maps (one alert per principal)
//	learned.go (after maturity, or from a mature peer group for a young agent; boundary "learned")
//	  playground.first_system, playground.first_action, playground.novel_resource
//	                              first use, scored up for sensitive actions (data/sensitive.txt),
//	                              new among peers and new in the fleet; one per event; a new
//	                              resource in a collection it uses (tickets/7 after tickets/3,
//	                              function:b after function:a) is not novel
//	  network.new_source          new /24 or /48 (network.go); not for an address inside the
//	                              declared networks, nor a private one in a /16 where the agent
//	                              already used three private /24s; a public network after only
//	                              private ones scores higher
//	  network.new_user_agent      new client (versions ignored)
//	  delegation.first_delegator  new on_behalf_of, for agents acting for few principals
//	  credential.shared           a credential another agent uses, or more instances than declared
//	  lifecycle.dormant           activity after a long silence
//	  time.unusual_hour           busy in an hour the agent is normally silent
//	volume.go (learned)
//	  volume.data, volume.failures, volume.distinct_resources, volume.spike
//	                              the open window against the seasonal expectation: Poisson or
//	                              negative-binomial tail (baseline.Critical), at least SpikeRatio
//	                              times the expectation and MaxRatio times the largest recent window;
//	                              one volume alert per agent and window, most specific first
//	  delegation.fanout           distinct delegators per window, same test
//
// An alert is one incident (alerts.go, incident.go): findings are grouped
// by detect.incidents.group_by (agent and detector by default), and every
// further finding under the same key while the incident is open adds to its
// count, its distinct resources, actions and subjects (the first few kept
// as examples) and its last-seen time. Process returns the incident when it
// opens, when its severity rises (a graver finding joins, or it spreads to
// 10, 100, 1,000 distinct values; the evidence says which), at count and
// distinct-count milestones (1, 2, 5, 10, 20, 50...) and when an example
// is added; it resolves once quiet for detect.incidents.quiet_period, and
// the next crossing opens a new incident (a new id, the same dedup key).
// A finding that violates a declared boundary and is also new to the
// learned playground has boundary "both". Inside a declared day-of-month
// slot ("1st 04:00-05:00"), a call wholly inside the declared playground
// raises none of the learned findings that compare it with weekly habits
// (first use, unusual hour, volume): a monthly run is what weeks of
// learning cannot have seen, and the owner declared it. An event a known
// non-agent principal made for an agent (baseline.MadeFor: a platform node
// assuming the agent's role) is judged for the agent's lifecycle only and
// not learned (principals.go).
//
// check.go and suggest.go are `playground check` and the dry-run report:
// a Checker observes an engine (replaying stored events, or live) and
// reports the incidents per agent and detector with the widening of each
// declared playground that would have kept it quiet.
package detect
