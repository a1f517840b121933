package detect

import (
	"context"
	"os"
	"testing"

	"github.com/agentwatch/agentwatch/internal/eval"
	"github.com/agentwatch/agentwatch/internal/inventory"
)

func TestScratchEval(t *testing.T) {
	if os.Getenv("SCRATCH_EVAL") == "" {
		t.Skip("scratch")
	}
	scen, err := eval.LoadScenarios("../testdata/scenarios")
	if err != nil {
		t.Fatal(err)
	}
	_, err = eval.Run(context.Background(), scen, func(inv *inventory.Inventory) (eval.Detector, error) {
		return NewEngine(DefaultConfig(), inv)
	}, os.Stdout)
	if err != nil {
		t.Fatal(err)
	}
}
