package inventory

import (
	"fmt"
	"hash/maphash"
	"net/netip"
	"strings"
	"sync/atomic"

	"gopkg.in/yaml.v3"
)

// DelegatorsNone is "delegators: none": the agent acts for nobody, so any
// on_behalf_of is outside its playground. (An empty or missing list still
// means "not declared".)
const DelegatorsNone = "none"

// DelegatorList is playground.delegators: globs of the principals the
// agent may act for, or the word none.
type DelegatorList []string

// UnmarshalYAML accepts a list or the scalar "none".
func (d *DelegatorList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if n.Value == DelegatorsNone {
			*d = DelegatorList{DelegatorsNone}
			return nil
		}
		return fmt.Errorf("line %d: delegators: want a list of principal globs or the word none, got %q", n.Line, n.Value)
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*d = l
	return nil
}

// ActsForNobody reports whether the playground says "delegators: none".
func (p *Playground) ActsForNobody() bool {
	return len(p.Delegators) == 1 && p.Delegators[0] == DelegatorsNone
}

// AllowsDelegator reports whether the agent may act for onBehalfOf. With no
// declared delegators, any is allowed; with "none", nobody.
func (p *Playground) AllowsDelegator(onBehalfOf string) bool {
	switch {
	case onBehalfOf == "":
		return true
	case p.ActsForNobody():
		return false
	}
	return len(p.Delegators) == 0 || AnyGlob(p.Delegators, onBehalfOf)
}

// netPrefix is a declared network: a CIDR, or one address.
type netPrefix = netip.Prefix

// parseNetwork reads "10.0.0.0/8", "2001:db8::/32" or a bare address.
func parseNetwork(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// compileNetworks parses the declared networks, one prefix per entry: an
// entry that does not parse (validate reports it) is the zero prefix,
// which contains nothing, so indexes stay those of the list.
func compileNetworks(list []string) []netip.Prefix {
	out := make([]netip.Prefix, len(list))
	for i, s := range list {
		if p, err := parseNetwork(s); err == nil {
			out[i] = p
		}
	}
	return out
}

// AllowsNetwork reports whether a call from ip is inside the declared
// networks. With none declared, or no address to judge (a call made by an
// AWS service, whose source is a host name), it is.
func (p *Playground) AllowsNetwork(ip string) bool {
	if len(p.Networks) == 0 || ip == "" {
		return true
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return true
	}
	a = a.Unmap()
	for _, n := range p.compiled().networks {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// clientRules recognise the client family of a user agent: the first
// rule whose marker the (lower-cased) user agent contains wins, so tools
// built on an SDK (Terraform on aws-sdk-go, the AWS CLI on botocore) come
// before the SDK.
var clientRules = []struct{ family, marker string }{
	{"terraform", "terraform/"},
	{"terraform", "terraform-provider-"},
	{"pulumi", "pulumi"},
	{"aws-cdk", "aws-cdk/"},
	// The console calls through an internal Java SDK: before the SDKs.
	{"aws-console", "console.amazonaws.com"},
	{"aws-console", "console.aws.amazon.com"},
	{"aws-console", "s3console/"},
	{"aws-console", "ec2consolefrontend"},
	{"aws-console", "signin.amazonaws.com"},
	{"aws-cli", "aws-cli/"},
	{"ssm-agent", "amazon-ssm-agent"},
	{"boto3", "boto3/"},
	{"botocore", "botocore/"},
	{"aws-sdk-go-v2", "aws-sdk-go-v2/"},
	{"aws-sdk-go", "aws-sdk-go/"},
	{"aws-sdk-java", "aws-sdk-java/"},
	{"aws-sdk-js", "aws-sdk-js/"},
	{"aws-sdk-js", "aws-sdk-nodejs/"},
	{"aws-sdk-dotnet", "aws-sdk-dotnet"},
	{"aws-sdk-ruby", "aws-sdk-ruby"},
	{"aws-sdk-php", "aws-sdk-php"},
	{"aws-sdk-rust", "aws-sdk-rust"},
	{"aws-sdk-cpp", "aws-sdk-cpp"},
	{"aws-internal", "aws internal"},
	{"kubectl", "kubectl/"},
	{"gcloud", "google-cloud-sdk"},
	{"gcloud", "gcloud"},
	{"azure-cli", "azure-cli"},
}

// ClientFamilies lists the families ClientFamily recognises by name;
// any other user agent's family is its leading product name
// ("review-bot/0.9.2" is "review-bot").
var ClientFamilies = []string{
	"terraform", "pulumi", "aws-cdk", "aws-cli", "ssm-agent", "boto3", "botocore", "aws-sdk-go-v2", "aws-sdk-go",
	"aws-sdk-java", "aws-sdk-js", "aws-sdk-dotnet", "aws-sdk-ruby", "aws-sdk-php", "aws-sdk-rust", "aws-sdk-cpp",
	"aws-console", "aws-internal", "aws-service", "kubectl", "gcloud", "azure-cli",
}

// ClientFamily names the family of client a user agent belongs to:
// terraform, aws-cli, boto3, aws-sdk-go, ... ; "aws-service" for an AWS
// service calling on the caller's behalf ("athena.amazonaws.com"); else
// the leading product name, lower case. "" for an empty user agent.
func ClientFamily(ua string) string {
	// Detection asks for every event of an agent that declares clients,
	// and an agent repeats a few user agents: a direct-mapped cache keeps
	// the lower-casing and the rule scan (about 1 µs) to one per user
	// agent, as ActionRules' masks do for actions.
	slot := &familyCache[maphash.String(familySeed, ua)&(familySlots-1)]
	if e := slot.Load(); e != nil && e.ua == ua {
		return e.family
	}
	f := clientFamily(ua, false)
	slot.Store(&familySlot{ua: strings.Clone(ua), family: f})
	return f
}

const familySlots = 1024

type familySlot struct{ ua, family string }

var (
	familyCache [familySlots]atomic.Pointer[familySlot]
	familySeed  = maphash.MakeSeed()
)

// clientFamily is ClientFamily; learned reads the learned playground's
// user agents, whose versions are "{v}" (learned.go).
func clientFamily(ua string, learned bool) string {
	ua = strings.TrimLeft(ua, "[ ")
	if ua == "" {
		return ""
	}
	low := strings.ToLower(ua)
	for _, r := range clientRules {
		if strings.Contains(low, r.marker) || learned && strings.Contains(low, versionless(r.marker)) {
			return r.family
		}
	}
	if strings.HasSuffix(strings.TrimRight(low, "] "), ".amazonaws.com") && !strings.ContainsAny(low, " /") {
		if strings.HasPrefix(low, "console.") {
			return "aws-console" // console.ec2.amazonaws.com
		}
		return "aws-service"
	}
	end := 0
	for end < len(low) {
		c := low[end]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' {
			end++
			continue
		}
		if learned && strings.HasPrefix(low[end:], versionMark) {
			end += len(versionMark)
			continue
		}
		break
	}
	return strings.TrimRight(low[:end], "-.")
}

// AllowsClient reports whether a call with user agent ua, from srcIP, was
// made by a declared client family. With none declared, or no user agent,
// it was. Calls an AWS service makes for the agent (family aws-service or
// aws-internal, and no source address) are the service's, not the
// agent's client, and are not judged.
func (p *Playground) AllowsClient(ua, srcIP string) bool {
	if len(p.Clients) == 0 || ua == "" {
		return true
	}
	f := ClientFamily(ua)
	if srcIP == "" && (f == "aws-service" || f == "aws-internal") {
		return true
	}
	return p.compiled().clients[f]
}
