package awsfleet

import (
	"time"
)

// Agent describes one AI agent of the fleet: who owns it, where it runs,
// its IAM role and policy, how its owner describes its hours and
// credentials, and its workload.
type Agent struct {
	ID          string
	DisplayName string
	Owner       string // team
	Email       string
	Slack       string
	PagerDuty   string
	Purpose     string

	// Role is the agent's IAM role (arn:aws:iam::<account>:role/<Role>).
	Role string
	// Runtime is RuntimePlatform, RuntimeLambda or RuntimeECS.
	Runtime string
	// Region is where it runs.
	Region string
	// Replicas is how many pods a platform agent runs (before any
	// scaling drift); Deployment names them. StatefulSet pods keep their
	// names (deployment-0, -1) across restarts.
	Replicas    int
	Deployment  string
	StatefulSet bool
	// Deploys are the weekly rollouts (UTC) that replace a platform
	// agent's pods (new pod names, new addresses); none on holidays.
	Deploys []WeeklyAt
	// Versions is the agent's release history: the client string and the
	// model it calls change together.
	Versions []Version
	// Client builds the user agent for a version.
	Client func(v Version) string

	// Policy is the role's identity policy, as the owner wrote it in IAM.
	Policy Policy
	// Hours, MaxAge and Instances are what the owner declares beside the
	// policy when onboarding (agents.yaml, today's syntax).
	Hours []string
	// CalendarHours, when set, is how the owner writes Hours once the
	// calendar form exists ("1st 04:00-05:00"); the imported inventory
	// uses it.
	CalendarHours []string
	MaxAge        time.Duration
	Instances     int
	// Note is written above the agent's inventory entry.
	Note string

	// work generates one hour of the agent's own calls.
	work func(g *gen, a *agentRun, hs time.Time)
}

// WeeklyAt is a weekday and a UTC hour.
type WeeklyAt struct {
	Day  time.Weekday
	Hour int
}

// Version is one release of an agent.
type Version struct {
	// From is when it rolled out, as an offset from the test week's
	// Monday (negative: before the run began).
	From    time.Duration
	Version string
	Model   string
	// Drift names the drift that introduced it ("" for the baseline).
	Drift string
}

// Policy is an IAM policy document.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one IAM policy statement.
type Statement struct {
	Sid       string         `json:"Sid,omitempty"`
	Effect    string         `json:"Effect"`
	Action    []string       `json:"Action"`
	Resource  []string       `json:"Resource"`
	Condition map[string]any `json:"Condition,omitempty"`
}

// allow is an Allow statement.
func allow(sid string, actions []string, resources ...string) Statement {
	return Statement{Sid: sid, Effect: "Allow", Action: actions, Resource: resources}
}

// decryptViaSecretsManager lets a role decrypt its secrets with the
// region's secrets key, only through Secrets Manager.
func decryptViaSecretsManager(region string) Statement {
	return Statement{Sid: "DecryptViaSecretsManager", Effect: "Allow", Action: acts("kms:Decrypt"), Resource: []string{kmsKey(region, "secrets")},
		Condition: map[string]any{"StringEquals": map[string]any{"kms:ViaService": "secretsmanager." + region + ".amazonaws.com"}}}
}

// policy is a policy document of statements.
func policy(st ...Statement) Policy { return Policy{Version: "2012-10-17", Statement: st} }

// acts lists actions.
func acts(a ...string) []string { return a }

// ARN builders for policy resources in the fleet's account.
func arnS3(path string) string { return "arn:aws:s3:::" + path }
func arnRegional(svc, region, rest string) string {
	return "arn:aws:" + svc + ":" + region + ":" + Account + ":" + rest
}
func arnGlobal(svc, rest string) string { return "arn:aws:" + svc + "::" + Account + ":" + rest }
