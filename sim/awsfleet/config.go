// Package awsfleet generates a realistic multi-week AWS account for
// evaluation: nine AI agents on assumed roles with per-instance sessions,
// the platform nodes that assume those roles for them, people at the
// console and the CLI, AWS services acting for themselves, benign drift, and
// attacks in the style of Stratus Red Team techniques. It writes raw
// CloudTrail exactly as AWS delivers it to S3 (gzipped {"Records":[...]}
// objects under AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/), labels
// every attack and drift record in a side file keyed by eventID, writes the
// agents' IAM policies and the inventory a new user would write from them,
// and replays the delivery through the real ingest path and a detector to
// report what the owners would have been paged about.
//
// The fleet's description lives in Go tables an integrator can adjust:
// agents.go (agents, roles, IAM policies, hours; their workloads are in
// work.go), people.go (engineers, and the AWS services acting for
// themselves), runtime.go (network, platform nodes), calendar.go (rhythm,
// holidays), drift.go, attacks.go, and onboard.go (the inventory, the
// known principals and the attribution rules written from them).
// Everything is a pure function of Config: every actor draws from its own
// PCG source seeded from the seed and its name, so changing one actor does
// not shift the others' traffic.
package awsfleet

import (
	"fmt"
	"time"
)

// Config shapes a generated fleet.
type Config struct {
	// Seed makes the whole delivery reproducible.
	Seed int64
	// Weeks is the number of weeks generated; the last is the test week
	// (attacks and drift), the ones before it are for learning. 2-12.
	Weeks int
	// TestWeek is the Monday the test week starts (UTC). The default,
	// 2025-12-01, makes the learning weeks end with the US Thanksgiving
	// week and the test week open with a monthly job on the 1st.
	TestWeek time.Time
	// Scale multiplies every workload's rate (1 = about 250,000 records in
	// four weeks); tests use a small scale. 0.01-10.
	Scale float64
}

// DefaultTestWeek is the default test week's Monday.
var DefaultTestWeek = time.Date(2025, time.December, 1, 0, 0, 0, 0, time.UTC)

// DefaultConfig is four weeks, seed 1, full volume.
func DefaultConfig() Config {
	return Config{Seed: 1, Weeks: 4, TestWeek: DefaultTestWeek, Scale: 1}
}

// Validate names the first offending field.
func (c *Config) Validate() error {
	switch {
	case c.Weeks < 2 || c.Weeks > 12:
		return fmt.Errorf("weeks: %d is outside 2-12 (at least one learning week and the test week)", c.Weeks)
	case c.Scale < 0.01 || c.Scale > 10:
		return fmt.Errorf("scale: %g is outside 0.01-10", c.Scale)
	case c.TestWeek.IsZero():
		return fmt.Errorf("test_week: is required")
	case c.TestWeek.Weekday() != time.Monday || !c.TestWeek.Equal(c.TestWeek.Truncate(24*time.Hour)):
		return fmt.Errorf("test_week: %s is not a Monday at 00:00 UTC", c.TestWeek.Format(time.RFC3339))
	}
	return nil
}

// Start is the first generated instant (a Monday, 00:00 UTC).
func (c *Config) Start() time.Time { return c.TestWeek.AddDate(0, 0, -7*(c.Weeks-1)) }

// End is the instant after the last generated hour.
func (c *Config) End() time.Time { return c.TestWeek.AddDate(0, 0, 7) }

// The account and where it logs.
const (
	// Account is the simulated AWS account.
	Account = "402917365839"
	// HomeRegion runs most workloads and receives global-service events
	// (IAM, STS's global endpoint, sign-in, Cost Explorer).
	HomeRegion = "us-east-1"
	// EURegion runs the EU invoice workload (data residency).
	EURegion = "eu-west-1"
	// TrailName is the multi-region trail.
	TrailName = "acme-org-trail"
	// TrailBucket receives the trail's objects.
	TrailBucket = "acme-cloudtrail-logs-" + Account
)

// Regions are the regions the trail delivers, in path order.
var Regions = []string{EURegion, HomeRegion}

// External actors that appear in attacks: an account outside the
// organisation (the one Stratus Red Team uses for backdoors) and addresses
// that never appear in benign traffic.
const (
	ExternalAccount = "193672423079"
)
