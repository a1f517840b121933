package awsfleet

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"
)

// Runtimes: where an agent runs decides who assumes its role and how its
// role session names look.
const (
	// RuntimePlatform: pods on the agent platform (EKS). A platform node
	// calls sts:AssumeRole for each pod every hour; the role session name
	// is the pod's name.
	RuntimePlatform = "platform"
	// RuntimeLambda: a Lambda function. lambda.amazonaws.com assumes the
	// role for each new execution environment; the session name is the
	// function's name.
	RuntimeLambda = "lambda"
	// RuntimeECS: a scheduled ECS task. ecs-tasks.amazonaws.com assumes
	// the role when the task starts; the session name is the task id.
	RuntimeECS = "ecs"
)

// The platform's network: one VPC per region, three availability zones,
// pods and nodes in private subnets, a NAT gateway per zone (the public
// address AWS sees for services without a VPC endpoint), and interface or
// gateway endpoints for the services listed in endpoints.
type network struct {
	// vpc is the VPC's CIDR block; the subnets are carved from it.
	vpc       netip.Prefix
	subnets   [3]netip.Prefix
	nat       [3]string
	endpoints map[string]string // service -> vpce id
}

var networks = map[string]*network{
	HomeRegion: {
		vpc:     netip.MustParsePrefix("10.20.0.0/16"),
		subnets: [3]netip.Prefix{netip.MustParsePrefix("10.20.0.0/19"), netip.MustParsePrefix("10.20.32.0/19"), netip.MustParsePrefix("10.20.64.0/19")},
		nat:     [3]string{"54.208.77.12", "3.219.41.200", "44.195.10.87"},
		endpoints: map[string]string{"s3": "vpce-0a4c2f7e91b3d5c60", "sts": "vpce-07d1e5b2c9a84f316", "secretsmanager": "vpce-0f3b8a6d2e1c47590",
			"kms": "vpce-0c9e4d7a1b2f85d03", "ssm": "vpce-05b7c1e9d3a2f6480", "ecr": "vpce-0e2a9f4c7d1b36a58"},
	},
	EURegion: {
		vpc:       netip.MustParsePrefix("10.40.0.0/16"),
		subnets:   [3]netip.Prefix{netip.MustParsePrefix("10.40.0.0/20"), netip.MustParsePrefix("10.40.16.0/20"), netip.MustParsePrefix("10.40.32.0/20")},
		nat:       [3]string{"34.246.183.29", "52.49.201.114", "18.203.77.5"},
		endpoints: map[string]string{"s3": "vpce-0b81d3e6f2a9c4705", "sts": "vpce-03e7a9c1d5b2f8064", "secretsmanager": "vpce-0d2f6b8e1a7c93451"},
	},
}

// addrIn draws an address in p (not the first few, which AWS reserves).
func addrIn(r *rand.Rand, p netip.Prefix) string {
	b := p.Addr().As4()
	size := uint32(1) << (32 - p.Bits())
	n := 8 + r.Uint32N(size-16)
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += n
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

// instance is one running copy of an agent: a pod, a task, or a Lambda
// function's execution environments taken together.
type instance struct {
	name        string
	ip          string // private address (VPC endpoints see it)
	az          int
	node        int // platform node hosting the pod
	from, until time.Time
	// every is how often its credentials are renewed; session k starts
	// at from + k*every and lasts ttl (the AssumeRole duration).
	every, ttl time.Duration
	label      Label // set when the instance exists because of a drift
}

func (in *instance) alive(t time.Time) bool { return !t.Before(in.from) && t.Before(in.until) }

// podAlphabet is the alphabet Kubernetes uses for generated name suffixes.
const podAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// node is a platform node: an EC2 instance whose instance profile
// (role agent-platform-node) assumes the agents' roles for their pods.
type node struct {
	id          string
	ip          string
	az          int
	from, until time.Time
	label       Label
}

func (n *node) alive(t time.Time) bool { return !t.Before(n.from) && t.Before(n.until) }

// podRefresh is how often the platform renews a pod's one-hour
// credentials: ten minutes before they expire, as SDK credential
// providers do, so a call in flight never holds an expired key.
const podRefresh = 50 * time.Minute

// PlatformNodeRole is the node group's instance role.
const PlatformNodeRole = "agent-platform-node"

// platformUA is the credential agent on each node that assumes pods' roles.
const platformUA = "agent-platform-credd/1.4.2 aws-sdk-go-v2/1.30.3 ua/2.0 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/sts#1.30.3 m/E"

// nodeSession is the node's instance-profile session at t: EC2 renews
// instance credentials hourly, session name = instance id.
func (f *Fleet) nodeSession(n *node, t time.Time) *session {
	k := int64(t.Sub(n.from) / time.Hour)
	return &session{roleName: PlatformNodeRole, roleID: roleID(PlatformNodeRole), name: n.id,
		key: sessionKey(f.cfg.Seed, "node", n.id, itoa(k)), created: n.from.Add(time.Duration(k) * time.Hour),
		duration: 6 * time.Hour, ec2Delivery: true}
}

func (f *Fleet) nodeCaller(n *node, t time.Time, r *rand.Rand) *caller {
	s := f.nodeSession(n, t)
	nw := networks[HomeRegion]
	return &caller{id: s.identity(), ip: nw.nat[n.az], privIP: n.ip, vpce: nw.endpoints, ua: platformUA, r: r, region: HomeRegion, label: n.label}
}

// podName is a Deployment's pod name: deployment-<replicaset hash>-<suffix>.
func podName(deployment, rsHash string, r *rand.Rand) string {
	return deployment + "-" + rsHash + "-" + randString(r, podAlphabet, 5)
}

// taskID is an ECS task id.
func taskID(r *rand.Rand) string { return randString(r, lowerHex, 32) }

// fmtDur writes a duration the way people write them in agents.yaml.
func fmtDur(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
