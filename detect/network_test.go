package detect

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// warmFrom feeds two weeks of free-bot's ordinary traffic, each event from
// the next of ips in turn, and returns when the test traffic starts.
func warmFrom(t *testing.T, e *Engine, g *gen, ips ...string) time.Time {
	t.Helper()
	k := 0
	for h := 0; h < 14*24; h++ {
		for i := 0; i < 6; i++ {
			ev := g.ev("free-bot", t0.Add(time.Duration(h)*time.Hour+time.Duration(i*10)*time.Minute), "tickets.read", fmt.Sprintf("tickets/%d", h*6+i))
			ev.SrcIP = ips[k%len(ips)]
			k++
			if as := e.Process(ev); len(as) != 0 {
				t.Fatalf("warm-up from %v raised %v", ips, detectors(as))
			}
		}
	}
	return t0.Add(14*24*time.Hour + 10*time.Hour)
}

func TestNewSourceGeneralisesPrivateNetworks(t *testing.T) {
	pods := []string{"10.0.1.7", "10.0.2.19", "10.0.3.4", "198.51.100.7"} // three subnets of a VPC and its NAT gateway
	cases := []struct {
		name  string
		ips   []string
		src   string
		score int // 0: quiet
	}{
		{"a new subnet of a VPC it is spread over", pods, "10.0.77.5", 0},
		{"another private network", pods, "10.9.1.5", 40},
		{"a new public network", pods, "192.0.2.9", 40},
		{"a new subnet, seen in one only", []string{"10.0.1.7"}, "10.0.2.8", 40},
		{"public, after only private", []string{"10.0.1.7", "10.0.2.19"}, "192.0.2.9", 65},
		{"shared address space is private", []string{"100.64.1.7", "100.64.2.7", "100.64.3.7"}, "100.64.99.7", 0},
		{"ULA is private", []string{"fd00:1:2::7", "fd00:1:3::7", "fd00:1:4::7"}, "fd00:1:9::7", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEngine(t, nil)
			g := &gen{}
			at := warmFrom(t, e, g, c.ips...)
			ev := g.ev("free-bot", at, "tickets.read", "tickets/77")
			ev.SrcIP = c.src
			as := e.Process(ev)
			if c.score == 0 {
				if len(as) != 0 {
					t.Fatalf("raised %v: %s", detectors(as), as[0].Summary)
				}
				return
			}
			if len(as) != 1 || as[0].Detector != DNewSource || as[0].Score != c.score || as[0].Validate() != nil {
				t.Fatalf("got %+v, want %s with score %d", as, DNewSource, c.score)
			}
			if c.score == 65 && !strings.Contains(as[0].Summary, "only ever called from private addresses") {
				t.Fatalf("summary %q does not say why it scores higher", as[0].Summary)
			}
		})
	}
}

// TestDeclaredNetworksCoverNewSubnets: inside the declared networks the
// learned detector does not second-guess the owner, even for an agent
// seen in one subnet only; outside them network.undeclared judges.
func TestDeclaredNetworksCoverNewSubnets(t *testing.T) {
	e := iamEngine(t)
	at := t0
	for d := 0; d < 14; d++ {
		for h := 6; h < 20; h++ {
			day := t0.AddDate(0, 0, d)
			if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
				continue
			}
			for i := 0; i < 6; i++ {
				at = day.Add(time.Duration(h)*time.Hour + time.Duration(i*10)*time.Minute)
				if as := e.Process(awsEv(at, "aws:ec2", "ec2:DescribeInstances", "")); len(as) != 0 {
					t.Fatalf("warm-up raised %v", detectors(as))
				}
			}
		}
	}
	at = t0.AddDate(0, 0, 14).Add(9 * time.Hour) // a Monday
	ev := awsEv(at, "aws:ec2", "ec2:DescribeInstances", "")
	ev.SrcIP = "10.20.200.9"
	if as := e.Process(ev); len(as) != 0 {
		t.Fatalf("a new subnet inside the declared 10.20.0.0/16: %v", detectors(as))
	}
	ev = awsEv(at, "aws:ec2", "ec2:DescribeInstances", "")
	ev.SrcIP = "10.30.1.9"
	if got := detectors(e.Process(ev)); len(got) != 2 || got[0] != DNetworkUndeclared+"/firing" || got[1] != DNewSource+"/firing" {
		t.Fatalf("outside the declared networks: %v", got)
	}
}
