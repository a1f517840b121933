package awsfleet

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// agentRun is one agent during one generation: its instances over time
// and its random source.
type agentRun struct {
	spec  *Agent
	f     *Fleet
	r     *rand.Rand
	insts []*instance
	// assumed marks instances whose sessions were all written when they
	// were spawned (short-lived jobs).
	assumed map[*instance]bool
	// counters a workload keeps between hours (ticket numbers, rotation).
	n map[string]int
}

func newAgentRun(f *Fleet, spec *Agent) *agentRun {
	a := &agentRun{spec: spec, f: f, r: rngFor(f.cfg.Seed, "agent", spec.ID), assumed: map[*instance]bool{}, n: map[string]int{}}
	switch spec.Runtime {
	case RuntimePlatform:
		a.planPods()
	case RuntimeLambda:
		nw := networks[spec.Region]
		// Hyperplane ENIs: the function's private addresses in the VPC.
		a.insts = []*instance{{name: spec.ID, ip: addrIn(a.r, nw.subnets[0]), az: 0,
			from: f.start.Add(-time.Duration(a.r.IntN(7200)) * time.Second), until: f.end.Add(24 * time.Hour), every: 2 * time.Hour, ttl: 12 * time.Hour}}
	}
	return a
}

// planPods lays out a platform agent's pods: a ReplicaSet per rollout
// (weekly deploys, version rollouts), its pods named after it, each with
// its own address and node; a scaling drift adds a pod.
func (a *agentRun) planPods() {
	f, s := a.f, a.spec
	type bound struct {
		t time.Time
		// reschedule: a node rotation drains the nodes; the pods come
		// back under the same ReplicaSet with new names and addresses.
		reschedule bool
		label      Label
	}
	bounds := []bound{{t: f.start.Add(-3 * 24 * time.Hour)}}
	for d := f.start.Add(-7 * 24 * time.Hour); d.Before(f.end); d = d.Add(24 * time.Hour) {
		for _, w := range s.Deploys {
			t := d.Add(time.Duration(w.Hour) * time.Hour)
			if t.Weekday() == w.Day && holidayFactor(t) >= 0.5 && t.After(bounds[0].t) {
				bounds = append(bounds, bound{t: t.Add(time.Duration(a.r.IntN(1800)) * time.Second)})
			}
		}
	}
	for _, v := range s.Versions {
		if t := f.test.Add(v.From); t.After(bounds[0].t) && t.Before(f.end) {
			bounds = append(bounds, bound{t: t})
		}
	}
	rot := driftByID("D5-node-rotation")
	for _, t := range f.rotations() {
		if s.Region != HomeRegion {
			break // the EU cluster keeps its nodes
		}
		b := bound{t: t.Add(time.Duration(5+a.r.IntN(20)) * time.Minute), reschedule: true}
		if t.Equal(f.test.Add(rot.At)) {
			b.label = driftLabel(rot.ID)
		}
		bounds = append(bounds, b)
	}
	slices.SortFunc(bounds, func(x, y bound) int { return x.t.Compare(y.t) })
	nw := networks[s.Region]
	rs := -1
	for i, b := range bounds {
		if !b.reschedule {
			rs++
		}
		end := f.end.Add(24 * time.Hour)
		if i+1 < len(bounds) {
			// Old pods stop once the new ones are ready.
			end = bounds[i+1].t.Add(time.Duration(60+a.r.IntN(90)) * time.Second)
		}
		hash := stableString(podAlphabet, 10, "rs", s.ID, itoa(int64(rs)), itoa(f.cfg.Seed))
		replicas := s.Replicas
		var scaled *Drift
		for j := range drifts {
			d := &drifts[j]
			if d.Kind == driftScale && d.Agent == s.ID {
				if at := f.test.Add(d.At); !at.After(b.t) {
					replicas++
				} else if at.Before(end) {
					scaled = d
				}
			}
		}
		for p := range replicas {
			a.insts = append(a.insts, a.newPod(s, nw, hash, p, b.t.Add(time.Duration(p*20+a.r.IntN(60))*time.Second), end, b.label))
		}
		if scaled != nil {
			a.insts = append(a.insts, a.newPod(s, nw, hash, replicas, f.test.Add(scaled.At), end, driftLabel(scaled.ID)))
		}
	}
}

func (a *agentRun) newPod(s *Agent, nw *network, hash string, p int, from, until time.Time, l Label) *instance {
	name := podName(s.Deployment, hash, a.r)
	if s.StatefulSet {
		name = s.Deployment + "-" + itoa(int64(p))
	}
	az := (p + a.r.IntN(3)) % 3
	return &instance{name: name, ip: addrIn(a.r, nw.subnets[az]), az: az, node: a.r.IntN(64), from: from, until: until,
		every: podRefresh, ttl: time.Hour, label: l}
}

// spawn starts a short-lived instance (a CronJob pod, an ECS task) and
// writes the credential calls of its whole life at once.
func (a *agentRun) spawn(g *gen, name string, from, until time.Time, l Label) *instance {
	nw := networks[a.spec.Region]
	az := a.r.IntN(3)
	in := &instance{name: name, ip: addrIn(a.r, nw.subnets[az]), az: az, node: a.r.IntN(64), from: from, until: until,
		every: podRefresh, ttl: time.Hour, label: l}
	if a.spec.Runtime == RuntimeECS {
		in.every, in.ttl = 6*time.Hour, 6*time.Hour
	}
	a.insts = append(a.insts, in)
	a.assumed[in] = true
	for k := int64(0); in.from.Add(time.Duration(k) * in.every).Before(in.until); k++ {
		a.assume(g, in, k)
	}
	if a.spec.Runtime == RuntimePlatform {
		a.f.pullImage(g, a, in)
	}
	return in
}

// live lists the instances running at t (the spawned ones excluded:
// workloads use those explicitly).
func (a *agentRun) live(t time.Time) []*instance {
	var out []*instance
	for _, in := range a.insts {
		if in.alive(t) && !a.assumed[in] {
			out = append(out, in)
		}
	}
	return out
}

// pick returns a random running instance at t, or nil.
func (a *agentRun) pick(t time.Time) *instance {
	l := a.live(t)
	if len(l) == 0 {
		return nil
	}
	return l[a.r.IntN(len(l))]
}

// version is the release running at t.
func (a *agentRun) version(t time.Time) Version {
	v := a.spec.Versions[0]
	for _, x := range a.spec.Versions[1:] {
		if !t.Before(a.f.test.Add(x.From)) {
			v = x
		}
	}
	return v
}

// session is the instance's credentials at t.
func (a *agentRun) session(in *instance, t time.Time) *session {
	k := int64(t.Sub(in.from) / in.every)
	if k < 0 {
		k = 0
	}
	return a.sessionK(in, k)
}

func (a *agentRun) sessionK(in *instance, k int64) *session {
	return &session{roleName: a.spec.Role, roleID: roleID(a.spec.Role), name: in.name,
		key:     sessionKey(a.f.cfg.Seed, a.spec.ID, in.name, itoa(in.from.Unix()), itoa(k)),
		created: in.from.Add(time.Duration(k) * in.every), duration: in.ttl}
}

// caller is the instance acting at t.
func (a *agentRun) caller(in *instance, t time.Time) *caller {
	s := a.session(in, t)
	v := a.version(t)
	nw := networks[a.spec.Region]
	c := &caller{id: s.identity(), ip: nw.nat[in.az], privIP: in.ip, vpce: nw.endpoints, ua: a.spec.Client(v), r: a.r, region: a.spec.Region}
	switch {
	case in.label.Kind != "":
		c.label = in.label
	case v.Drift != "":
		c.label = Label{Kind: LabelDrift, ID: v.Drift}
	}
	return c
}

// credentials writes the role assumptions of the sessions that start in
// the hour at hs.
func (a *agentRun) credentials(g *gen, hs time.Time) {
	he := hs.Add(time.Hour)
	for _, in := range a.insts {
		if a.assumed[in] || !in.until.After(hs) || !in.from.Before(he) {
			continue
		}
		first := int64(0)
		if hs.After(in.from) {
			first = int64(math.Ceil(float64(hs.Sub(in.from)) / float64(in.every)))
		}
		for k := first; ; k++ {
			t := in.from.Add(time.Duration(k) * in.every)
			if !t.Before(he) || !t.Before(in.until) {
				break
			}
			if !t.Before(hs) && !t.Before(a.f.start) {
				a.assume(g, in, k)
				if k == 0 && a.spec.Runtime == RuntimePlatform {
					a.f.pullImage(g, a, in)
				}
			}
		}
	}
}

// assume writes the call that creates session k of in: the platform node
// hosting the pod, or the AWS service running the function or task.
func (a *agentRun) assume(g *gen, in *instance, k int64) {
	s := a.sessionK(in, k)
	t := s.created.Add(-time.Duration(1+a.r.IntN(3)) * time.Second)
	switch a.spec.Runtime {
	case RuntimePlatform:
		n := a.f.nodeFor(a.spec.Region, in.node, t)
		c := a.f.nodeCaller(n, t, a.r)
		c.region = a.spec.Region
		if in.label.Kind != "" {
			c.label = in.label
		}
		g.assumeRole(c, t, s, [][2]string{{"workload", a.spec.ID}, {"team", a.spec.Owner}})
	case RuntimeLambda:
		c := serviceCaller("lambda.amazonaws.com", a.spec.Region, a.r)
		g.assumeRole(c, t, s, nil)
		// A new execution environment opens its log stream.
		lc := a.caller(in, s.created)
		g.api(lc, s.created.Add(400*time.Millisecond), "logs", "CreateLogStream", map[string]any{
			"logGroupName":  "/aws/lambda/" + a.spec.ID,
			"logStreamName": s.created.Format("2006/01/02") + "/[$LATEST]" + randString(a.r, lowerHex, 32)})
	case RuntimeECS:
		c := serviceCaller("ecs-tasks.amazonaws.com", a.spec.Region, a.r)
		g.assumeRole(c, t, s, nil)
	}
}

// rate draws this hour's count of a workload unit whose peak hourly rate
// is peak, shaped by rh.
func (a *agentRun) rate(peak float64, rh *rhythm, hs time.Time) int {
	return poisson(a.r, peak*a.f.cfg.Scale*rh.at(hs))
}

// scaled is n scaled by the fleet's volume factor (at least 1).
func (a *agentRun) scaled(n int) int { return max(1, int(math.Round(float64(n)*a.f.cfg.Scale))) }

// at is a random instant in the hour at hs.
func at(r *rand.Rand, hs time.Time) time.Time {
	return hs.Add(time.Duration(r.Int64N(int64(time.Hour/time.Millisecond))) * time.Millisecond)
}

// after is t plus lo..hi milliseconds.
func after(r *rand.Rand, t time.Time, lo, hi int) time.Time {
	return t.Add(time.Duration(lo+r.IntN(hi-lo+1)) * time.Millisecond)
}

// poisson draws a Poisson count with mean lambda.
func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 40 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// zipf draws 0..n-1 with a heavy head, as popular articles and tables are.
func zipf(r *rand.Rand, n int) int {
	return min(n-1, int(float64(n)*math.Pow(r.Float64(), 2.4)))
}
