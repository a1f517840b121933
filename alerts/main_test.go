package alerts

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run when goroutines started by the tests (delivery
// loops, prune loops, HTTP servers) are still alive afterwards.
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 && os.Getenv(crashChildEnv) == "" {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			stacks := string(buf[:runtime.Stack(buf, true)])
			if leaked := ours(stacks); leaked != "" {
				fmt.Fprintf(os.Stderr, "goroutines leaked (%d > %d):\n%s\n", n, before, leaked)
				code = 1
			}
		}
	}
	os.Exit(code)
}

// ours keeps the stacks that run this module's code.
func ours(stacks string) string {
	var out []string
	for _, g := range strings.Split(stacks, "\n\n") {
		if strings.Contains(g, "agentwatch/agentwatch/alerts") && !strings.Contains(g, "TestMain") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
