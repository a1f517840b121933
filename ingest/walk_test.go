package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

func TestFileTime(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return v
	}
	for _, c := range []struct {
		path string
		want time.Time
		ok   bool
	}{
		{"AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/218007301253_CloudTrail_us-east-1_20230710T1145Z_7xgocspSowgK0Gto.json.gz", at("2023-07-10T11:45:00Z"), true},
		{"AWSLogs/1/CloudTrail-Digest/us-east-1/2023/07/10/1_CloudTrail-Digest_us-east-1_trail_us-east-1_20230710T114512Z.json.gz", at("2023-07-10T11:45:12Z"), true},
		{"logs/cloudaudit.googleapis.com/activity/2026/01/31/14:00:00_14:59:59_S0.json", at("2026-01-31T14:00:00Z"), true},
		{"firehose/2026/03/02/05/agents-1-2026-03-02-05-10-59-0a1b.gz", at("2026-03-02T05:10:59Z"), true},
		{"firehose/2026/03/02/05/part-0001.gz", at("2026-03-02T05:00:00Z"), true},
		{"exports/2026-11-26T1200Z_cloudtrail.json", at("2026-11-26T12:00:00Z"), true},
		{"exports/audit-2026-11-26.ndjson", at("2026-11-26T00:00:00Z"), true},
		{"a/2026/02/03/b/c.json", at("2026-02-03T00:00:00Z"), true},
		{"logs/app.log.1", time.Time{}, false},
		{"logs/2026/13/40/x.json", time.Time{}, false},   // no such date
		{"logs/run-2026-02-30.json", time.Time{}, false}, // no such day
		{"AWSLogs/123456789012/x.json", time.Time{}, false},
	} {
		got, ok := fileTime(c.path)
		if ok != c.ok || !got.Equal(c.want) {
			t.Errorf("fileTime(%q) = %v, %v; want %v, %v", c.path, got, ok, c.want, c.ok)
		}
	}
}

func TestSortInterleavesRegionsAndServices(t *testing.T) {
	files := []string{
		"logs/app.log",
		"AWSLogs/1/CloudTrail/us-east-1/2023/07/10/1_CloudTrail_us-east-1_20230710T1145Z_a.json.gz",
		"AWSLogs/1/CloudTrail/eu-west-1/2023/07/10/1_CloudTrail_eu-west-1_20230710T1205Z_b.json.gz",
		"AWSLogs/1/CloudTrail/eu-west-1/2023/07/10/1_CloudTrail_eu-west-1_20230710T1150Z_c.json.gz",
		"AWSLogs/1/CloudTrail/us-east-1/2023/07/09/1_CloudTrail_us-east-1_20230709T2355Z_d.json.gz",
		"gcs/cloudaudit.googleapis.com/data_access/2023/07/10/11:00:00_11:59:59_S0.json",
		"logs/app.log.1",
	}
	newWalker(nil, nil).sort(files)
	want := []string{
		"AWSLogs/1/CloudTrail/us-east-1/2023/07/09/1_CloudTrail_us-east-1_20230709T2355Z_d.json.gz",
		"gcs/cloudaudit.googleapis.com/data_access/2023/07/10/11:00:00_11:59:59_S0.json",
		"AWSLogs/1/CloudTrail/us-east-1/2023/07/10/1_CloudTrail_us-east-1_20230710T1145Z_a.json.gz",
		"AWSLogs/1/CloudTrail/eu-west-1/2023/07/10/1_CloudTrail_eu-west-1_20230710T1150Z_c.json.gz",
		"AWSLogs/1/CloudTrail/eu-west-1/2023/07/10/1_CloudTrail_eu-west-1_20230710T1205Z_b.json.gz",
		"logs/app.log",
		"logs/app.log.1",
	}
	if !reflect.DeepEqual(files, want) {
		t.Fatalf("order\n%s\nwant\n%s", strings.Join(files, "\n"), strings.Join(want, "\n"))
	}
}

func TestFileGlobs(t *testing.T) {
	for _, c := range []struct {
		patterns []string
		rel      string
		want     bool
	}{
		{[]string{"**/CloudTrail-Digest/**"}, "123/CloudTrail-Digest/us-east-1/2023/07/10/x.json.gz", true},
		{[]string{"**/CloudTrail-Digest/**"}, "CloudTrail-Digest/x.json.gz", true},
		{[]string{"**/CloudTrail-Digest/**"}, "123/CloudTrail/us-east-1/x.json.gz", false},
		{[]string{"*.json.gz"}, "a/b/c.json.gz", true}, // no "/": the file name
		{[]string{"*.json.gz"}, "a/b/c.json", false},
		{[]string{"*/CloudTrail/*/2023/**"}, "123/CloudTrail/eu-west-1/2023/07/10/x.gz", true},
		{[]string{"*/CloudTrail/*/2023/**"}, "123/CloudTrail/eu-west-1/2024/07/10/x.gz", false},
		{[]string{"a/*/c"}, "a/b/x/c", false}, // "*" stays within a folder
		{[]string{"a/**/c"}, "a/c", true},     // "**" may match no folder
	} {
		if got := matchAnyFile(c.patterns, c.rel); got != c.want {
			t.Errorf("match %v on %q = %v, want %v", c.patterns, c.rel, got, c.want)
		}
	}
	cfg := DefaultConfig().Files
	cfg.Paths = []string{"/logs/**x/*.gz"}
	cfg.Include = []string{"[a-"}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "ingest.files.paths[0]") || !strings.Contains(err.Error(), "ingest.files.include[0]") {
		t.Fatalf("bad globs: err = %v, want both named", err)
	}
}

// logBuffer is a slog destination tests can read while the tailer writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// lines returns the log lines containing every one of parts.
func (l *logBuffer) lines(parts ...string) []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		ok := line != ""
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

// batchSink records each Publish call's events as one batch: a file read
// whole is published in one call when it holds fewer than publishBatch
// records, so the batches show the order files were read in.
type batchSink struct {
	memSink
	batches [][]schemas.AgentEvent
}

func (s *batchSink) Publish(ctx context.Context, evs []schemas.AgentEvent, dead []DeadLetter) error {
	if err := s.memSink.Publish(ctx, evs, dead); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, append([]schemas.AgentEvent(nil), evs...))
	return nil
}

// realCloudTrail returns the real CloudTrail delivery objects by file name,
// and which file each event id comes from.
func realCloudTrail(t *testing.T) (files map[string][]byte, fileOf map[string]string, records int) {
	t.Helper()
	dir := filepath.Join(realDir, "aws-cloudtrail", "invictus-ir_aws_dataset")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("real CloudTrail logs not present at %s: %v", dir, err)
	}
	files, fileOf = map[string][]byte{}, map[string]string{}
	for _, e := range entries {
		data := mustRead(t, filepath.Join(dir, e.Name()))
		files[e.Name()] = data
		var doc struct {
			Records []struct {
				EventID string `json:"eventID"`
			}
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		for _, r := range doc.Records {
			fileOf["cloudtrail:"+r.EventID] = e.Name()
		}
		records += len(doc.Records)
	}
	if len(files) != 12 || records != 758 {
		t.Fatalf("real CloudTrail: %d files, %d records; MANIFEST says 12 files (758 records counted with jq)", len(files), records)
	}
	return files, fileOf, records
}

// layOutS3 writes the real CloudTrail files as CloudTrail delivers them
// to S3 (gzipped, one folder per account, region and day), every third
// moved to a region whose folder sorts first, and returns the AWSLogs
// folder and the names in the order a time-ordered read takes: by the
// stamp in the name (the original names sort by it), files of one stamp
// by path. A sort of the full paths would read every ap-south-1 file
// first, which the helper checks.
func layOutS3(t *testing.T, files map[string][]byte) (root string, wantOrder []string) {
	t.Helper()
	root = filepath.Join(t.TempDir(), "bucket", "AWSLogs")
	var names []string
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	type laid struct{ name, path string }
	var layout []laid
	for i, name := range names {
		region := "us-east-1"
		if i%3 == 2 {
			region = "ap-south-1"
		}
		base := strings.Replace(name, "_us-east-1_", "_"+region+"_", 1) + ".gz"
		dir := filepath.Join(root, "218007301253", "CloudTrail", region, "2023", "07", "10")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeGz(t, filepath.Join(dir, base), files[name])
		layout = append(layout, laid{name, filepath.Join(dir, base)})
	}
	stamp := func(name string) string { return strings.Split(name, "_")[3] }
	sort.Slice(layout, func(i, j int) bool {
		a, b := layout[i], layout[j]
		if stamp(a.name) != stamp(b.name) {
			return stamp(a.name) < stamp(b.name)
		}
		return a.path < b.path
	})
	var lexical []string
	for _, l := range layout {
		wantOrder = append(wantOrder, l.name)
	}
	sort.Slice(layout, func(i, j int) bool { return layout[i].path < layout[j].path })
	for _, l := range layout {
		lexical = append(lexical, l.name)
	}
	if reflect.DeepEqual(wantOrder, lexical) {
		t.Fatal("test layout: the time order must differ from the order of the full paths")
	}
	return root, wantOrder
}

// batchOrder names the file of each published batch, checking that no
// batch mixes files.
func batchOrder(t *testing.T, sink *batchSink, fileOf map[string]string) []string {
	t.Helper()
	var got []string
	for _, b := range sink.batches {
		f := fileOf[b[0].EventID]
		for _, ev := range b {
			if fileOf[ev.EventID] != f {
				t.Fatalf("one publish mixed files %s and %s", f, fileOf[ev.EventID])
			}
		}
		got = append(got, f)
	}
	return got
}

// TestTailerReadsCloudTrailS3Layout lays the real CloudTrail delivery
// objects out as CloudTrail writes them to S3 (gzipped, one folder per
// account, region and day), with some moved to a second region whose
// folder sorts first, a digest file and a hidden file beside them; the
// collector must read every record once, file by file in the time order
// of the names, skip the digest, and resume from its offsets.
func TestTailerReadsCloudTrailS3Layout(t *testing.T) {
	files, fileOf, records := realCloudTrail(t)
	root, wantOrder := layOutS3(t, files)
	names := append([]string(nil), wantOrder...)
	sort.Strings(names)
	digest := filepath.Join(root, "218007301253", "CloudTrail-Digest", "us-east-1", "2023", "07", "10")
	os.MkdirAll(digest, 0o755)
	writeGz(t, filepath.Join(digest, "218007301253_CloudTrail-Digest_us-east-1_trail_us-east-1_20230710T120000Z.json.gz"), []byte(`{"awsAccountId":"218007301253","digestStartTime":"2023-07-10T11:00:00Z"}`))
	os.WriteFile(filepath.Join(root, "218007301253", ".sync-in-progress"), []byte("x"), 0o644)

	dir := t.TempDir()
	cfg := DefaultConfig().Files
	cfg.Paths = []string{filepath.Dir(root)} // the bucket's root
	cfg.StateFile = filepath.Join(dir, "offsets.json")
	var logs logBuffer
	sink := &batchSink{}
	tl, err := NewTailer(cfg, newTestNormalizer(t), sink, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := tl.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	evs, dead := sink.counts()
	if evs != records || dead != 0 {
		t.Fatalf("read %d events and %d dead letters, want all %d records as events (the digest skipped)", evs, dead, records)
	}
	if gotOrder := batchOrder(t, sink, fileOf); !reflect.DeepEqual(gotOrder, wantOrder) {
		t.Fatalf("files read in order\n%s\nwant (time order of the names)\n%s", strings.Join(gotOrder, "\n"), strings.Join(wantOrder, "\n"))
	}
	if l := logs.lines("tail: pass read", "files=12", "records=758", "events=758", "dead_letters=0"); len(l) != 1 {
		t.Errorf("want one pass log with files=12 records=758; log:\n%s", logs.String())
	}

	// Nothing is read twice, by this tailer or by a restarted one, and a
	// pass that read nothing leaves the state file alone (a rename would
	// give it a new inode).
	before, err := os.Stat(cfg.StateFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if after, err := os.Stat(cfg.StateFile); err != nil || fileKey(after) != fileKey(before) {
		t.Errorf("an idle pass rewrote the state file (%v)", err)
	}
	tl2, err := NewTailer(cfg, newTestNormalizer(t), sink, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	if err := tl2.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if evs, _ := sink.counts(); evs != records {
		t.Fatalf("after a second pass and a restart: %d events, want still %d", evs, records)
	}
	var state map[string]fileState
	if err := json.Unmarshal(mustRead(t, cfg.StateFile), &state); err != nil {
		t.Fatal(err)
	}
	done := 0
	for _, st := range state {
		if st.Done && strings.Contains(st.Path, filepath.Join("2023", "07", "10")) {
			done++
		}
	}
	if done != 12 {
		t.Errorf("state file marks %d nested files done, want 12:\n%s", done, mustRead(t, cfg.StateFile))
	}

	// The next day's folder appears: only its file is read.
	next := filepath.Join(root, "218007301253", "CloudTrail", "us-east-1", "2023", "07", "11")
	os.MkdirAll(next, 0o755)
	writeGz(t, filepath.Join(next, "218007301253_CloudTrail_us-east-1_20230711T0005Z_new.json.gz"), files[names[2]])
	if err := tl2.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if evs, _ := sink.counts(); evs != records+2 {
		t.Fatalf("after a new day's file: %d events, want %d", evs, records+2)
	}
	if l := logs.lines("tail: pass read", "files=1 ", "records=2 "); len(l) != 1 {
		t.Errorf("want a pass log of 1 file and 2 records; log:\n%s", logs.String())
	}
}

// TestTailerReadsGCSExportInTimeOrder lays real GCP audit entries out as
// a Cloud Logging sink exports them to GCS (one folder per log, then
// YYYY/MM/DD, hourly NDJSON files): the data-access hour before the
// activity hour is read first, although "activity" sorts first by path;
// lines appended to an hourly file are followed.
func TestTailerReadsGCSExportInTimeOrder(t *testing.T) {
	src := filepath.Join(realDir, "gcp-audit", "otel-contrib_googlecloudlogentry-testdata")
	compact := func(name string) string {
		var b bytes.Buffer
		if err := json.Compact(&b, mustRead(t, filepath.Join(src, name))); err != nil {
			t.Fatal(err)
		}
		return b.String() + "\n"
	}
	if _, err := os.Stat(src); err != nil {
		t.Skipf("real GCP logs not present: %v", err)
	}
	root := filepath.Join(t.TempDir(), "export", "cloudaudit.googleapis.com")
	act := filepath.Join(root, "activity", "2026", "01", "31")
	da := filepath.Join(root, "data_access", "2026", "01", "31")
	os.MkdirAll(act, 0o755)
	os.MkdirAll(da, 0o755)
	os.WriteFile(filepath.Join(act, "15:00:00_15:59:59_S0.json"), []byte(compact("activity.json")), 0o644)
	os.WriteFile(filepath.Join(da, "14:00:00_14:59:59_S0.json"), []byte(compact("data_access.json")), 0o644)
	os.WriteFile(filepath.Join(da, "16:00:00_16:59:59_S0.json"), []byte(compact("policy.json")), 0o644)

	cfg := DefaultConfig().Files
	cfg.Paths = []string{filepath.Dir(root)}
	cfg.StateFile = filepath.Join(t.TempDir(), "offsets.json")
	sink := &batchSink{}
	tl, err := NewTailer(cfg, newTestNormalizer(t), sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if evs, dead := sink.counts(); evs != 3 || dead != 0 {
		t.Fatalf("read %d events, %d dead letters; want 3 events", evs, dead)
	}
	var got []string
	for _, b := range sink.batches {
		for _, ev := range b {
			got = append(got, ev.Action)
		}
	}
	want := []string{firstAction(t, compact("data_access.json")), firstAction(t, compact("activity.json")), firstAction(t, compact("policy.json"))}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("actions in order %v, want %v (data_access 14h, activity 15h, data_access 16h)", got, want)
	}
	// The current hour's file grows: the new line is read, the old not again.
	appendFile(t, filepath.Join(da, "16:00:00_16:59:59_S0.json"), compact("system_event.json"))
	if err := tl.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if evs, _ := sink.counts(); evs != 4 {
		t.Fatalf("after an appended line: %d events, want 4", evs)
	}
}

func firstAction(t *testing.T, line string) string {
	t.Helper()
	evs, dead := newTestNormalizer(t).Normalize(Record{Raw: []byte(line)})
	if len(evs) != 1 || len(dead) != 0 {
		t.Fatalf("normalise %s: %d events, %v", line, len(evs), dead)
	}
	return evs[0].Action
}

// TestTailerWarnsOfPathsMatchingNothing: a path that names no file (it
// does not exist, an empty folder, a glob matching nothing, everything
// excluded) is a warning naming it, once, until it matches again.
func TestTailerWarnsOfPathsMatchingNothing(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	missing := filepath.Join(dir, "AWSLogs-typo")
	glob := filepath.Join(dir, "logs", "**", "*.json.gz")
	os.MkdirAll(filepath.Join(dir, "logs", "a"), 0o755)
	os.WriteFile(filepath.Join(dir, "logs", "a", "x.ndjson"), []byte(canonicalLine("n1")), 0o644)
	cfg := DefaultConfig().Files
	cfg.Paths = []string{empty, missing, glob}
	cfg.StateFile = filepath.Join(dir, "offsets.json")
	var logs logBuffer
	sink := &memSink{}
	tl, err := NewTailer(cfg, newTestNormalizer(t), sink, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := tl.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ path, why string }{
		{empty, "directory holds no file"},
		{missing, "does not exist"},
		{glob, "no file matches the pattern"},
	} {
		if l := logs.lines("level=WARN", "tail: path matches no file", "path="+c.path, c.why); len(l) != 1 {
			t.Errorf("want one warning naming %s (%s), got %d; log:\n%s", c.path, c.why, len(l), logs.String())
		}
	}
	// The glob starts matching: the file is read and the path logged as watched.
	os.MkdirAll(filepath.Join(dir, "logs", "a", "b", "c"), 0o755)
	writeGz(t, filepath.Join(dir, "logs", "a", "b", "c", "x.json.gz"), []byte(canonicalLine("g1")))
	if err := tl.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(eventIDs(sink), ","); got != "g1" {
		t.Fatalf("events %q, want only g1 (x.ndjson does not match the glob)", got)
	}
	if l := logs.lines("level=INFO", "tail: watching", "path="+glob, "files=1"); len(l) != 1 {
		t.Errorf("want the glob logged as watched once; log:\n%s", logs.String())
	}
}

// TestTailerIncludeExclude: include and exclude filter what walking a
// directory finds; a file named in paths is read whatever its name.
func TestTailerIncludeExclude(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(filepath.Join(logs, "keep", "deep"), 0o755)
	os.MkdirAll(filepath.Join(logs, "skip"), 0o755)
	os.WriteFile(filepath.Join(logs, "keep", "deep", "a.ndjson"), []byte(canonicalLine("i1")), 0o644)
	os.WriteFile(filepath.Join(logs, "keep", "b.txt"), []byte(canonicalLine("i2")), 0o644)
	os.WriteFile(filepath.Join(logs, "skip", "c.ndjson"), []byte(canonicalLine("i3")), 0o644)
	named := filepath.Join(dir, "named.txt")
	os.WriteFile(named, []byte(canonicalLine("i4")), 0o644)
	cfg := DefaultConfig().Files
	cfg.Paths = []string{logs, named}
	cfg.Include = []string{"*.ndjson"}
	cfg.Exclude = []string{"skip/**"}
	cfg.StateFile = filepath.Join(dir, "offsets.json")
	sink := &memSink{}
	tl, err := NewTailer(cfg, newTestNormalizer(t), sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := eventIDs(sink)
	sort.Strings(got)
	if strings.Join(got, ",") != "i1,i4" {
		t.Fatalf("events %v, want i1 (included) and i4 (named)", got)
	}
}

// TestTailerSkipsUndecodableFileUntilItChanges: a gzip cut short (a copy
// in progress) is logged and skipped, not fatal; once complete it is read.
func TestTailerSkipsUndecodableFileUntilItChanges(t *testing.T) {
	dir := t.TempDir()
	var full bytes.Buffer
	path := filepath.Join(dir, "x.json.gz")
	writeGz(t, path, []byte(canonicalLine("z1")+canonicalLine("z2")))
	full.Write(mustRead(t, path))
	os.WriteFile(path, full.Bytes()[:full.Len()/2], 0o644)
	cfg := DefaultConfig().Files
	cfg.Paths = []string{dir}
	cfg.StateFile = filepath.Join(t.TempDir(), "offsets.json")
	var logs logBuffer
	sink := &memSink{}
	tl, err := NewTailer(cfg, newTestNormalizer(t), sink, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := tl.Poll(context.Background()); err != nil {
			t.Fatalf("pass %d: %v (a bad file must not stop the collector)", i, err)
		}
	}
	if l := logs.lines("level=WARN", "cannot read file", "path="+path); len(l) != 1 {
		t.Errorf("want one warning naming the file; log:\n%s", logs.String())
	}
	os.WriteFile(path, full.Bytes(), 0o644)
	if err := tl.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(eventIDs(sink), ","); got != "z1,z2" {
		t.Fatalf("events %q, want z1,z2 once the file is complete", got)
	}
}

// TestLoadFileWalksNestedDirectories: the one-off load reads a tree in
// time order too, and a folder with nothing to read is an error naming it.
func TestLoadFileWalksNestedDirectories(t *testing.T) {
	files, fileOf, records := realCloudTrail(t)
	root, wantOrder := layOutS3(t, files)
	sink := &batchSink{}
	st, err := LoadFile(context.Background(), root, newTestNormalizer(t), sink)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != records || st.DeadLetters != 0 || st.Records != len(files) {
		t.Fatalf("stats %+v, want %d documents holding %d records, all events", st, len(files), records)
	}
	if got := batchOrder(t, sink, fileOf); !reflect.DeepEqual(got, wantOrder) {
		t.Fatalf("files loaded in order\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantOrder, "\n"))
	}
	empty := filepath.Join(t.TempDir(), "nothing")
	os.MkdirAll(filepath.Join(empty, "sub"), 0o755)
	if _, err := LoadFile(context.Background(), empty, newTestNormalizer(t), sink); err == nil || !strings.Contains(err.Error(), empty) {
		t.Fatalf("empty tree: err = %v, want one naming %s", err, empty)
	}
}

// TestTailerReadsPlainCloudTrailObjectWhole: an uncompressed CloudTrail
// delivery object (one JSON document of 521 KB on one line, longer than
// the tailer's line buffer) is read whole, once, not dead-lettered as a
// too-long line.
func TestTailerReadsPlainCloudTrailObjectWhole(t *testing.T) {
	files, _, _ := realCloudTrail(t)
	const name = "218007301253_CloudTrail_us-east-1_20230710T1200Z_iLj9fb7yyUG9X4Bf.json"
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, name), files[name], 0o644)
	cfg := DefaultConfig().Files
	cfg.Paths = []string{dir}
	cfg.StateFile = filepath.Join(t.TempDir(), "offsets.json")
	sink := &memSink{}
	tl, err := NewTailer(cfg, newTestNormalizer(t), sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := tl.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if evs, dead := sink.counts(); evs != 394 || dead != 0 {
		t.Fatalf("%d events, %d dead letters; want the file's 394 records once", evs, dead)
	}
}

// BenchmarkTailerIdlePass is one pass of the file collector over a month
// of CloudTrail delivered by three regions (20,160 files, 5-minute
// deliveries) when nothing is new: walking, sorting by time and a stat
// per file. It reports the CPU per pass.
func BenchmarkTailerIdlePass(b *testing.B) {
	dir := b.TempDir()
	n := 0
	for d := 1; d <= 28; d++ {
		for _, region := range []string{"us-east-1", "eu-west-1", "ap-south-1"} {
			p := filepath.Join(dir, "AWSLogs", "123456789012", "CloudTrail", region, "2026", "02", fmt.Sprintf("%02d", d))
			os.MkdirAll(p, 0o755)
			for m := 0; m < 240; m++ {
				name := fmt.Sprintf("123456789012_CloudTrail_%s_202602%02dT%02d%02dZ_x%d.json.gz", region, d, m/12, (m%12)*5, m)
				os.WriteFile(filepath.Join(p, name), []byte{}, 0o644)
				n++
			}
		}
	}
	cfg := DefaultConfig().Files
	cfg.Paths = []string{dir}
	cfg.StateFile = filepath.Join(b.TempDir(), "s.json")
	tl, err := NewTailer(cfg, newTestNormalizer(b), &memSink{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if err := tl.Poll(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d files; first pass %s", n, time.Since(t0))
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	defer func() {
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) / time.Duration(b.N)
		b.ReportMetric(float64(cpu.Milliseconds()), "cpu-ms/pass")
	}()
	for i := 0; i < b.N; i++ {
		if err := tl.Poll(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "files")
}
