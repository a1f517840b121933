package ingest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

const realDir = "../../shared/data/real"

// realFiles lists every data file under the shared real-log folder.
func realFiles(t testing.TB) []string {
	t.Helper()
	if _, err := os.Stat(realDir); err != nil {
		t.Skipf("real logs not present at %s: %v", realDir, err)
	}
	var files []string
	err := filepath.WalkDir(realDir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no files under %s", realDir)
	}
	return files
}

// countRecords counts the records of a file independently of the
// normaliser: the length of a Records/records envelope, else one per
// JSON document or line.
func countRecords(t testing.TB, data []byte) int {
	t.Helper()
	var env map[string]json.RawMessage
	if err := json.Unmarshal(data, &env); err == nil {
		for _, k := range []string{"Records", "records"} {
			if raw, ok := env[k]; ok {
				var list []json.RawMessage
				if err := json.Unmarshal(raw, &list); err != nil {
					t.Fatalf("%s is not an array: %v", k, err)
				}
				return len(list)
			}
		}
		return 1
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) != "" {
			n++
		}
	}
	return n
}

func normalizeAll(t testing.TB, n *Normalizer, name string, data []byte) ([]schemas.AgentEvent, []DeadLetter) {
	t.Helper()
	var evs []schemas.AgentEvent
	var dead []DeadLetter
	for _, c := range splitStream(data) {
		e, d := n.Normalize(Record{Raw: c.raw, Source: "file:" + name, Line: c.line, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
		evs = append(evs, e...)
		dead = append(dead, d...)
	}
	return evs, dead
}

func newTestNormalizer(t testing.TB, rules ...Rule) *Normalizer {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Attribution = rules
	n, err := NewNormalizer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRealLogsAllAccountedFor(t *testing.T) {
	n := newTestNormalizer(t)
	for _, f := range realFiles(t) {
		rel, _ := filepath.Rel(realDir, f)
		t.Run(rel, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want := countRecords(t, data)
			evs, dead := normalizeAll(t, n, rel, data)
			if got := len(evs) + len(dead); got != want {
				t.Fatalf("events %d + dead letters %d = %d, want %d records", len(evs), len(dead), got, want)
			}
			for _, d := range dead {
				if d.Reason == "" || len(d.Raw) == 0 || d.Format == "" {
					t.Errorf("dead letter lacks reason, raw or format: %+v", d)
				}
			}
			// Only the AdmissionReview file is expected to dead-letter.
			if !strings.HasPrefix(rel, "k8s-admission-review") && len(dead) > 0 {
				t.Errorf("%d dead letters, first: %s", len(dead), dead[0].Reason)
			}
			for i := range evs {
				if err := evs[i].Validate(); err != nil {
					t.Errorf("event %d invalid: %v", i, err)
				}
			}
		})
	}
}
