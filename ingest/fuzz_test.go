package ingest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"
)

// Fuzz targets: one per parser (through the normaliser, with the format
// forced so the fuzzer reaches that parser), one for detection, one for
// stream splitting and one for the JSON scanner. The normaliser's
// recover() is bypassed (normalize, not Normalize) so a panic fails.
// CI runs each briefly: go test ./ingest -run '^$' -fuzz '^FuzzX$' -fuzztime 10s

func addSeeds(f *testing.F, globs ...string) {
	for _, g := range globs {
		files, _ := filepath.Glob(g)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				continue
			}
			f.Add(data)
			for _, c := range splitStream(data) {
				f.Add(c.raw)
			}
		}
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"Records":[{}]}`))
	f.Add([]byte("\x1f\x8b"))
}

func fuzzFormat(f *testing.F, format string, globs ...string) {
	addSeeds(f, globs...)
	n := newTestNormalizer(f, goldenRules...)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		var st state
		n.normalize(Record{Raw: data, Format: format, Time: at}, &st)
		for i := range st.evs {
			if err := st.evs[i].Validate(); err != nil {
				t.Fatalf("emitted an invalid event: %v", err)
			}
		}
		for _, d := range st.dead {
			if d.Reason == "" {
				t.Fatal("dead letter without reason")
			}
		}
	})
}

func FuzzCloudTrail(f *testing.F) {
	fuzzFormat(f, FormatCloudTrail, "testdata/cloudtrail*.json", realDir+"/aws-cloudtrail*/*/*1205Z_lKy*.json")
}
func FuzzK8s(f *testing.F) {
	fuzzFormat(f, FormatK8s, "testdata/k8s*.json", realDir+"/k8s-audit/*/*.json")
}
func FuzzGCP(f *testing.F) {
	fuzzFormat(f, FormatGCP, "testdata/gcp*.json", realDir+"/gcp-audit/*/*.json")
}
func FuzzOkta(f *testing.F)   { fuzzFormat(f, FormatOkta, "testdata/okta*.ndjson") }
func FuzzMCP(f *testing.F)    { fuzzFormat(f, FormatMCP, "testdata/mcp*.ndjson") }
func FuzzAzure(f *testing.F)  { fuzzFormat(f, FormatAzure, realDir+"/azure-activity/*/*.json") }
func FuzzVault(f *testing.F)  { fuzzFormat(f, FormatVault, "testdata/vault*.ndjson") }
func FuzzDetect(f *testing.F) { fuzzFormat(f, "", "testdata/*.json", "testdata/*.ndjson") }
func FuzzCanonical(f *testing.F) {
	fuzzFormat(f, FormatCanonical, "testdata/canonical.ndjson")
}

func FuzzSplitStream(f *testing.F) {
	addSeeds(f, "testdata/*.ndjson")
	f.Fuzz(func(t *testing.T, data []byte) {
		total := 0
		for _, c := range splitStream(data) {
			if len(c.raw) == 0 || c.line < 1 {
				t.Fatalf("empty chunk or bad line: %+v", c)
			}
			total += len(c.raw)
		}
		if total > len(data) {
			t.Fatalf("chunks hold %d bytes of %d", total, len(data))
		}
	})
}

// FuzzJSONScan checks the scanner against encoding/json: every valid
// document is accepted, and strings decode to the same text.
func FuzzJSONScan(f *testing.F) {
	addSeeds(f, "testdata/*.ndjson")
	f.Add([]byte(`"a\u00e9\ud83d\ude00\n\"x"`))
	f.Add([]byte(`{"k\u0041":["\ud800",1e5,-0.5,true,null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := trimValue(data)
		if !json.Valid(data) {
			return
		}
		if err != nil {
			t.Fatalf("valid JSON rejected: %v", err)
		}
		if !utf8.Valid(data) {
			// encoding/json turns invalid UTF-8 into U+FFFD; the scanner
			// keeps the bytes (encoding the event later does the same
			// replacement), so texts are only compared for valid input.
			return
		}
		if v[0] == '"' {
			var want string
			if err := json.Unmarshal(v, &want); err != nil {
				t.Fatal(err)
			}
			if got, ok := strOK(v); !ok || got != want {
				t.Fatalf("str = %q (%v), want %q", got, ok, want)
			}
		}
		if v[0] == '{' {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(v, &m); err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			if err := objectEach(v, func(k, _ []byte) error { seen[string(k)] = true; return nil }); err != nil {
				t.Fatalf("objectEach on valid object: %v", err)
			}
			for k := range m {
				if !seen[k] {
					t.Fatalf("member %q not visited", k)
				}
			}
		}
	})
}

// FuzzCanonicalFastPath checks that a record declared canonical comes out
// the same (events, dead letters and their reasons) whether or not the
// shape scan is skipped.
func FuzzCanonicalFastPath(f *testing.F) {
	addSeeds(f, "testdata/canonical.ndjson")
	for _, s := range []string{`{}`, `{"event_id":"x"} trailing`, `{"event_id":"a","event_id":"b"}`, `{"time":1}`, `[{"event_id":"x"}]`, `{`, `null`} {
		f.Add([]byte(s))
	}
	fast := newTestNormalizer(f, goldenRules...)
	slow := newTestNormalizer(f, goldenRules...)
	slow.slowCanonical = true
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		var a, b state
		fast.normalize(Record{Raw: data, Format: FormatCanonical, Time: at}, &a)
		slow.normalize(Record{Raw: data, Format: FormatCanonical, Time: at}, &b)
		if !reflect.DeepEqual(a.evs, b.evs) {
			t.Fatalf("events differ:\nfast %+v\nslow %+v", a.evs, b.evs)
		}
		if len(a.dead) != len(b.dead) {
			t.Fatalf("dead letters: fast %d, slow %d", len(a.dead), len(b.dead))
		}
		for i := range a.dead {
			if a.dead[i].Reason != b.dead[i].Reason {
				t.Fatalf("dead letter %d: fast %q, slow %q", i, a.dead[i].Reason, b.dead[i].Reason)
			}
		}
	})
}
