package realengine

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/detect"
	"github.com/agentwatch/agentwatch/ingest"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/sim/awsfleet"
)

// TestAWSFleetAgainstEngine replays the four-week AWS fleet, onboarded as
// its agents.yaml says, through the normaliser and the real engine. Every
// attack must be caught, the test week must stay within the target of 0.5
// false incidents per agent-week and the median time to first alert
// within a minute; the figures are logged (they are the README's).
func TestAWSFleetAgainstEngine(t *testing.T) {
	if os.Getenv("AGENTWATCH_EVAL") == "" {
		t.Skip("set AGENTWATCH_EVAL=1 to run the AWS fleet through the real engine")
	}
	f, err := awsfleet.NewFleet(awsfleet.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	inv, err := f.Inventory()
	if err != nil {
		t.Fatal(err)
	}
	ic := ingest.DefaultConfig()
	ic.Attribution = awsfleet.AttributionRules()
	rep, err := awsfleet.Evaluate(context.Background(), &awsfleet.Generated{Fleet: f}, awsfleet.Options{Ingest: ic, Inventory: inv,
		NewDetector: func(inv *inventory.Inventory) (awsfleet.Detector, error) {
			return detect.NewEngine(detect.DefaultConfig(), inv)
		}})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := rep.Write(&out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	if rep.Caught() != len(rep.Attacks) || rep.DeadLetters != 0 {
		t.Errorf("caught %d of %d attacks, %d dead letters", rep.Caught(), len(rep.Attacks), rep.DeadLetters)
	}
	if err := rep.MeetsTargets(0.5, time.Minute); err != nil {
		t.Error(err)
	}
}
