package awsfleet

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// TestFullFleet checks the default fleet's size and key spaces. It takes
// a few seconds (longer with -race); set AGENTWATCH_EVAL=1 to run it.
func TestFullFleet(t *testing.T) {
	if os.Getenv("AGENTWATCH_EVAL") == "" {
		t.Skip("set AGENTWATCH_EVAL=1 to generate the full four-week fleet")
	}
	f, err := NewFleet(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]map[string]bool{}
	start := time.Now()
	st, err := f.Deliver(func(fl *File) error {
		var env struct {
			Records []struct {
				EventName         string `json:"eventName"`
				RequestParameters struct {
					Bucket string `json:"bucketName"`
					Key    string `json:"key"`
				} `json:"requestParameters"`
			}
		}
		if err := json.Unmarshal(fl.JSON, &env); err != nil {
			return err
		}
		for _, r := range env.Records {
			if r.EventName == "GetObject" {
				p := r.RequestParameters.Bucket + "/" + strings.SplitN(r.RequestParameters.Key, "/", 2)[0]
				if keys[p] == nil {
					keys[p] = map[string]bool{}
				}
				keys[p][r.RequestParameters.Key] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records in %d objects (%v by region), %d attack and %d drift records, in %v", st.Records, st.Files, st.ByRegion,
		st.Attack, st.Drift, time.Since(start))
	if st.Records < 220_000 || st.Records > 290_000 {
		t.Errorf("%d records, want about 250,000", st.Records)
	}
	for _, p := range []string{"acme-support-kb/articles", "acme-analytics-lake/raw", "acme-docs/confluence", "acme-support-attachments/tickets",
		"acme-invoices-eu/incoming"} {
		t.Logf("%s: %d distinct keys read", p, len(keys[p]))
		if len(keys[p]) < 2000 {
			t.Errorf("%s: %d distinct keys read in four weeks, want thousands", p, len(keys[p]))
		}
	}
}

// BenchmarkGenerate generates the default four weeks and reports records
// per second (JSON encoding included, no compression).
func BenchmarkGenerate(b *testing.B) {
	var records int
	for b.Loop() {
		f, err := NewFleet(DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		st, err := f.Deliver(func(*File) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		records = st.Records
	}
	b.ReportMetric(float64(records), "records/op")
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
