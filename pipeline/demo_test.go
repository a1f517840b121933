package pipeline

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDemoSameSeedSameOutput runs the demo twice with the same seed but
// different batch sizes (so the stages consume differently): the printed
// alerts and summary must be identical, and every incident caught.
func TestDemoSameSeedSameOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo twice")
	}
	run := func(batch int) string {
		var out bytes.Buffer
		_, err := RunDemo(context.Background(), DemoOptions{Agents: 1, Days: 14, Seed: 3, DataDir: t.TempDir(), Log: testLogger(t), Out: &out, BatchSize: batch})
		if err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	a, b := run(5000), run(300)
	if a != b {
		t.Fatalf("same seed, different output:\n--- batch 5000\n%s\n--- batch 300\n%s", a, b)
	}
	if !strings.Contains(a, "missed: 0") {
		t.Errorf("the demo missed an incident:\n%s", a)
	}
}
