package store

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

func TestSplitStatements(t *testing.T) {
	in := "-- comment; not a statement\nCREATE TABLE a (\n  x String -- trailing\n);\n\n  -- another\nINSERT INTO a VALUES ('a;b');\nSELECT 1"
	got := SplitStatements(in)
	want := []string{"CREATE TABLE a (\n  x String -- trailing\n)", "INSERT INTO a VALUES ('a;b')", "SELECT 1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SplitStatements:\n got %q\nwant %q", got, want)
	}
}

func TestLoadMigrations(t *testing.T) {
	ok := fstest.MapFS{
		"m/002_more.sql": {Data: []byte("SELECT 2;")},
		"m/001_init.sql": {Data: []byte("SELECT 1;\nSELECT 11;")},
		"m/README.md":    {Data: []byte("ignored")},
	}
	migs, err := LoadMigrations(ok, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) != 2 || migs[0].Name != "init" || len(migs[0].Statements) != 2 || migs[1].Version != 2 {
		t.Errorf("LoadMigrations = %+v", migs)
	}
	bad := []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"gap", fstest.MapFS{"m/001_a.sql": {Data: []byte("SELECT 1;")}, "m/003_c.sql": {Data: []byte("SELECT 1;")}}, "m/003_c.sql: expected version 002"},
		{"badname", fstest.MapFS{"m/init.sql": {Data: []byte("SELECT 1;")}}, "m/init.sql: name must be NNN_name.sql"},
		{"empty", fstest.MapFS{"m/001_a.sql": {Data: []byte("-- nothing\n")}}, "m/001_a.sql: no statements"},
	}
	for _, c := range bad {
		if _, err := LoadMigrations(c.fs, "m"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestEmbeddedMigrationsLoad(t *testing.T) {
	for _, dir := range []string{"sql/sqlite", "sql/clickhouse"} {
		migs, err := LoadMigrations(schemas.SQL, dir)
		if err != nil || len(migs) == 0 {
			t.Errorf("%s: %d migrations, err %v", dir, len(migs), err)
		}
	}
}

func TestAlertVersionOrdersStates(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := func(last time.Time, count int, status string) *schemas.Alert {
		return &schemas.Alert{LastSeen: last, Count: count, Status: status}
	}
	order := []*schemas.Alert{
		a(t0, 1, schemas.StatusFiring),
		a(t0, 1, schemas.StatusResolved),
		a(t0, 2, schemas.StatusFiring),
		a(t0.Add(time.Millisecond), 1, schemas.StatusFiring),
		a(time.Date(2240, 1, 1, 0, 0, 0, 0, time.UTC), 1<<30, schemas.StatusResolved),
	}
	for i := 1; i < len(order); i++ {
		if AlertVersion(order[i]) <= AlertVersion(order[i-1]) {
			t.Errorf("state %d does not outrank state %d", i, i-1)
		}
	}
}

func TestWriteResult(t *testing.T) {
	r := &Result{
		Columns: []string{"agent_id", "events", "p99", "seen"},
		Rows: [][]any{
			{"agent-a", int64(12), 3.5, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
			{"b,\"quoted\"", uint64(7), nil, []byte("raw")},
		},
	}
	cases := map[string]string{
		"table": "agent_id    events  p99  seen\n" +
			"--------    ------  ---  ----\n" +
			"agent-a     12      3.5  2026-01-02 03:04:05\n" +
			"b,\"quoted\"  7            raw\n" +
			"(2 rows)\n",
		"csv": "agent_id,events,p99,seen\n" +
			"agent-a,12,3.5,2026-01-02 03:04:05\n" +
			"\"b,\"\"quoted\"\"\",7,,raw\n",
		"json": "[\n" +
			"  {\"agent_id\": \"agent-a\", \"events\": 12, \"p99\": 3.5, \"seen\": \"2026-01-02 03:04:05\"},\n" +
			"  {\"agent_id\": \"b,\\\"quoted\\\"\", \"events\": 7, \"p99\": null, \"seen\": \"raw\"}\n" +
			"]\n",
	}
	for format, want := range cases {
		var b bytes.Buffer
		if err := WriteResult(&b, r, format); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if b.String() != want {
			t.Errorf("%s:\n got %q\nwant %q", format, b.String(), want)
		}
	}
	var b bytes.Buffer
	if err := WriteResult(&b, &Result{Columns: []string{"x"}}, "json"); err != nil || b.String() != "[]\n" {
		t.Errorf("empty json = %q, %v", b.String(), err)
	}
	if err := WriteResult(&b, r, "xml"); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("unknown format error = %v", err)
	}
}

func TestEncodeStringMapMatchesEncodingJSON(t *testing.T) {
	maps := []map[string]string{
		{"region": "eu-west-1"},
		{"b": "2", "a": "1", "quote\"": "back\\slash", "ctl": "\x01\n\r\t", "uni": "ünï ✓", "bad": "\xff\xfe"},
	}
	for _, m := range maps {
		got, err := EncodeJSON(m, "{}")
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(m)
		var back map[string]string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Fatalf("EncodeJSON(%q) = %s, not JSON: %v", m, got, err)
		}
		var wantBack map[string]string
		_ = json.Unmarshal(want, &wantBack)
		if !reflect.DeepEqual(back, wantBack) {
			t.Errorf("EncodeJSON(%q) decodes to %q, encoding/json's to %q", m, back, wantBack)
		}
	}
}
