package awsfleet

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"
)

// Fleet is a configured fleet. Deliver may be called repeatedly and yields
// the same objects each time.
type Fleet struct {
	cfg              Config
	start, end, test time.Time
}

// NewFleet checks cfg and builds the fleet.
func NewFleet(cfg Config) (*Fleet, error) {
	if cfg.Scale == 0 {
		cfg.Scale = 1
	}
	if cfg.TestWeek.IsZero() {
		cfg.TestWeek = DefaultTestWeek
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("aws fleet: %w", err)
	}
	return &Fleet{cfg: cfg, start: cfg.Start(), end: cfg.End(), test: cfg.TestWeek}, nil
}

// Config is the fleet's configuration.
func (f *Fleet) Config() Config { return f.cfg }

// Start, End and TestStart bound the generated weeks.
func (f *Fleet) Start() time.Time     { return f.start }
func (f *Fleet) End() time.Time       { return f.end }
func (f *Fleet) TestStart() time.Time { return f.test }

// Deliver generates the fleet and calls fn with every CloudTrail object in
// delivery order (by the time in its name, then region). It stops at the
// first error fn returns. Generation runs on its own goroutine and objects
// are encoded by a pool of workers, while fn runs on the caller's.
func (f *Fleet) Deliver(fn func(*File) error) (Stats, error) {
	type job struct {
		f    *File
		recs []*Record
		done chan struct{}
	}
	ordered := make(chan *job, 256)
	work := make(chan *job, 256)
	stop := make(chan struct{})
	var (
		st     Stats
		genErr error
	)
	go func() {
		defer close(ordered)
		defer close(work)
		st, genErr = f.generate(func(fl *File, recs []*Record) error {
			j := &job{f: fl, recs: recs, done: make(chan struct{})}
			for _, ch := range []chan *job{work, ordered} {
				select {
				case ch <- j:
				case <-stop:
					return errStopped
				}
			}
			return nil
		})
	}()
	for range max(1, runtime.GOMAXPROCS(0)) {
		go func() {
			for j := range work {
				j.f.JSON = appendRecords(make([]byte, 0, 1600*len(j.recs)), j.recs)
				close(j.done)
			}
		}()
	}
	var err error
	for j := range ordered {
		<-j.done
		if err == nil {
			if err = fn(j.f); err != nil {
				close(stop)
			}
		}
	}
	if err != nil {
		return st, err
	}
	return st, genErr
}

// errStopped ends generation when the consumer stopped.
var errStopped = errors.New("aws fleet: delivery stopped")

// generate runs the hours, handing each object to deliver as it is due.
func (f *Fleet) generate(deliver func(*File, []*Record) error) (Stats, error) {
	g := &gen{f: f, cfg: f.cfg, pending: map[bucketKey][]*pending{}, deliver: deliver,
		stats: Stats{ByRegion: map[string]int{}}, horizon: f.start}
	g.trail = serviceCaller("cloudtrail.amazonaws.com", HomeRegion, rngFor(f.cfg.Seed, "service", "cloudtrail"))
	runs := make([]*agentRun, len(agents))
	for i := range agents {
		runs[i] = newAgentRun(f, &agents[i])
	}
	w := newWorld(f)
	for hs := f.start; hs.Before(f.end); hs = hs.Add(time.Hour) {
		w.hour(g, hs)
		for _, a := range runs {
			a.credentials(g, hs)
			a.spec.work(g, a, hs)
		}
		for i := range attacks {
			at := &attacks[i]
			if t := f.test.Add(at.At); !t.Before(hs) && t.Before(hs.Add(time.Hour)) {
				at.run(g, f.attackCtx(at, runs, t))
			}
		}
		if err := g.flush(hs.Add(time.Hour)); err != nil {
			return g.stats, err
		}
	}
	if err := g.flush(f.end.Add(time.Hour)); err != nil {
		return g.stats, err
	}
	return g.stats, nil
}

// serviceCaller is an AWS service acting for itself (userIdentity type
// AWSService).
func serviceCaller(svcHost, region string, r *rand.Rand) *caller {
	return &caller{id: Identity{Type: "AWSService", InvokedBy: svcHost}, ip: svcHost, ua: svcHost, r: r, region: region}
}

// nodeSlots is how many platform nodes a region runs at t.
func (f *Fleet) nodeSlots(region string, t time.Time) int {
	if region == EURegion {
		return 2
	}
	n := 3
	for _, d := range drifts {
		if d.Kind == driftScale && !t.Before(f.test.Add(d.At)) {
			n++
		}
	}
	return n
}

// rotations are the node-group replacements (a new AMI every two weeks);
// the one in the test week is drift D5.
func (f *Fleet) rotations() []time.Time {
	d := driftByID("D5-node-rotation")
	var out []time.Time
	for t := f.test.Add(d.At); t.After(f.start); t = t.Add(-14 * 24 * time.Hour) {
		out = append(out, t)
	}
	slices.Reverse(out)
	return out
}

// nodeFor is the node hosting a pod with node hint slot in region at t.
func (f *Fleet) nodeFor(region string, slot int, t time.Time) *node {
	n := f.nodeSlots(region, t)
	s := slot % n
	gen := 0
	var from time.Time = f.start.Add(-30 * 24 * time.Hour)
	until := f.end.Add(48 * time.Hour)
	for i, r := range f.rotations() {
		if !t.Before(r) {
			gen, from = i+1, r
		} else {
			until = r
			break
		}
	}
	if s >= 3 && region == HomeRegion {
		// The scale-out node joins at the drift's time.
		for _, d := range drifts {
			if d.Kind == driftScale {
				if st := f.test.Add(d.At); st.After(from) {
					from = st
				}
			}
		}
	}
	nw := networks[region]
	r := rngFor(f.cfg.Seed, "node", region, itoa(int64(s)), itoa(int64(gen)))
	// A node boots a few minutes into its slot: its hourly credential
	// renewals fall at its own minute of the hour.
	from = from.Add(time.Duration(r.IntN(3600)) * time.Second)
	nd := &node{id: "i-0" + randString(r, lowerHex, 16), az: s % 3, from: from, until: until}
	nd.ip = addrIn(r, nw.subnets[nd.az])
	if d := driftByID("D5-node-rotation"); !from.Before(f.test.Add(d.At)) {
		nd.label = driftLabel(d.ID)
	} else if s >= 3 {
		nd.label = driftLabel("D4-scale-out")
	}
	return nd
}

// nodesAt lists the platform nodes of region running during the hour at hs.
func (f *Fleet) nodesAt(region string, hs time.Time) []*node {
	var out []*node
	for s := range f.nodeSlots(region, hs.Add(time.Hour-time.Second)) {
		n := f.nodeFor(region, s, hs)
		if !n.alive(hs) {
			n = f.nodeFor(region, s, hs.Add(time.Hour-time.Second))
		}
		out = append(out, n)
	}
	return out
}

// pullImage is the node pulling a new pod's image from ECR with its own
// role: the kubelet's credential provider.
func (f *Fleet) pullImage(g *gen, a *agentRun, in *instance) {
	n := f.nodeFor(a.spec.Region, in.node, in.from)
	c := f.nodeCaller(n, in.from, a.r)
	c.region = a.spec.Region
	c.ua = "ecr-credential-provider/1.31.0 aws-sdk-go-v2/1.30.3 ua/2.0 os/linux lang/go#1.22.5 api/ecr#1.32.0"
	if in.label.Kind != "" {
		c.label = in.label
	}
	repo := "agents/" + a.spec.ID
	t := in.from.Add(-time.Duration(8+a.r.IntN(10)) * time.Second)
	g.ecrCall(c, t, "GetAuthorizationToken", "")
	c.ua = "containerd/1.7.23"
	g.ecrCall(c, after(a.r, t, 200, 600), "BatchGetImage", repo)
	for i := range 2 + a.r.IntN(3) {
		g.ecrCall(c, after(a.r, t, 700+i*300, 900+i*400), "GetDownloadUrlForLayer", repo)
	}
}
