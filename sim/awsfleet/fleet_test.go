package awsfleet

import (
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/ingest"
	"github.com/agentwatch/agentwatch/schemas"
)

// delivered is one generated object with its records decoded.
type delivered struct {
	file *File
	recs []map[string]any
}

var (
	smallOnce  sync.Once
	smallFiles []delivered
	smallStats Stats
	smallErr   error
)

// small is a two-week fleet at a twentieth of the volume (the Thanksgiving
// week for learning, then the test week), generated once per test binary.
func small(t *testing.T) ([]delivered, Stats) {
	t.Helper()
	smallOnce.Do(func() {
		f, err := NewFleet(Config{Seed: 1, Weeks: 2, Scale: 0.05, TestWeek: DefaultTestWeek})
		if err != nil {
			smallErr = err
			return
		}
		smallStats, smallErr = f.Deliver(func(fl *File) error {
			var env struct {
				Records []map[string]any `json:"Records"`
			}
			if err := json.Unmarshal(fl.JSON, &env); err != nil {
				return err
			}
			smallFiles = append(smallFiles, delivered{file: fl, recs: env.Records})
			return nil
		})
	})
	if smallErr != nil {
		t.Fatal(smallErr)
	}
	return smallFiles, smallStats
}

func str(m map[string]any, path ...string) string {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[p]
	}
	s, _ := v.(string)
	return s
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Weeks: 1, Scale: 1, TestWeek: DefaultTestWeek}, "weeks: 1 is outside 2-12"},
		{Config{Weeks: 13, Scale: 1, TestWeek: DefaultTestWeek}, "weeks: 13"},
		{Config{Weeks: 4, Scale: 20, TestWeek: DefaultTestWeek}, "scale: 20 is outside"},
		{Config{Weeks: 4, Scale: 1, TestWeek: DefaultTestWeek.AddDate(0, 0, 1)}, "is not a Monday"},
	} {
		if _, err := NewFleet(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewFleet(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
	c := DefaultConfig()
	if s := c.Start(); !s.Equal(time.Date(2025, 11, 10, 0, 0, 0, 0, time.UTC)) || s.Weekday() != time.Monday {
		t.Errorf("default start %v, want Monday 2025-11-10", s)
	}
}

func TestDeliveryIsDeterministic(t *testing.T) {
	digest := func(seed int64) [32]byte {
		f, err := NewFleet(Config{Seed: seed, Weeks: 2, Scale: 0.01, TestWeek: DefaultTestWeek})
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		if _, err := f.Deliver(func(fl *File) error {
			h.Write([]byte(fl.Key))
			h.Write(fl.JSON)
			for _, l := range fl.Labels {
				h.Write([]byte(l.EventID + l.Kind + l.ID))
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var out [32]byte
		copy(out[:], h.Sum(nil))
		return out
	}
	a, b, c := digest(3), digest(3), digest(4)
	if a != b {
		t.Fatal("the same seed delivered different objects")
	}
	if a == c {
		t.Fatal("different seeds delivered the same objects")
	}
}

var keyRE = regexp.MustCompile(`^AWSLogs/402917365839/CloudTrail/(us-east-1|eu-west-1)/(\d{4}/\d{2}/\d{2})/402917365839_CloudTrail_(us-east-1|eu-west-1)_(\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$`)

func TestObjectsAsCloudTrailDeliversThem(t *testing.T) {
	files, st := small(t)
	if st.Records < 20_000 || st.Files < 1000 {
		t.Fatalf("small fleet: %d records in %d objects, want a few tens of thousands", st.Records, st.Files)
	}
	var last time.Time
	for _, d := range files {
		f := d.file
		m := keyRE.FindStringSubmatch(f.Key)
		if m == nil {
			t.Fatalf("object key %q is not CloudTrail's S3 layout", f.Key)
		}
		if m[1] != m[3] || m[2] != f.Delivered.Format("2006/01/02") || m[4] != f.Delivered.Format("20060102T1504Z") {
			t.Fatalf("object key %q does not agree with its region and delivery time %v", f.Key, f.Delivered)
		}
		if f.Delivered.Minute()%5 != 0 || f.Delivered.Second() != 0 {
			t.Fatalf("%s: delivered at %v, not on a five-minute slot", f.Key, f.Delivered)
		}
		if f.Delivered.Before(last) {
			t.Fatalf("%s delivered at %v after an object of %v", f.Key, f.Delivered, last)
		}
		last = f.Delivered
		if len(d.recs) != f.Records || len(d.recs) == 0 || len(d.recs) > maxPerFile {
			t.Fatalf("%s: %d records (File says %d)", f.Key, len(d.recs), f.Records)
		}
		var prev time.Time
		for _, r := range d.recs {
			et, err := time.Parse(ctTime, str(r, "eventTime"))
			if err != nil {
				t.Fatalf("%s: eventTime %q: %v", f.Key, str(r, "eventTime"), err)
			}
			if et.Before(prev) {
				t.Fatalf("%s: records out of time order", f.Key)
			}
			prev = et
			if lag := f.Delivered.Sub(et); lag < 0 || lag > 20*time.Minute {
				t.Fatalf("%s: record of %v delivered %v later", f.Key, et, lag)
			}
			if str(r, "awsRegion") != m[1] {
				t.Fatalf("%s: record of region %s in a %s object", f.Key, str(r, "awsRegion"), m[1])
			}
		}
	}
}

// realKeys are the members the real CloudTrail records beside the
// repository carry (../shared/data/real/aws-cloudtrail), at three levels.
func realKeys(t *testing.T) (top, identity, session map[string]bool) {
	dir := "../../../shared/data/real/aws-cloudtrail/invictus-ir_aws_dataset"
	names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(names) == 0 {
		t.Skipf("no real CloudTrail records at %s", dir)
	}
	top, identity, session = map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var env struct{ Records []map[string]any }
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatal(err)
		}
		for _, r := range env.Records {
			for k := range r {
				top[k] = true
			}
			ui, _ := r["userIdentity"].(map[string]any)
			for k := range ui {
				identity[k] = true
			}
			sc, _ := ui["sessionContext"].(map[string]any)
			for k := range sc {
				session[k] = true
			}
		}
	}
	return top, identity, session
}

func TestRecordsShapedLikeRealOnes(t *testing.T) {
	top, identity, session := realKeys(t)
	files, _ := small(t)
	required := []string{"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
		"userAgent", "requestID", "eventID", "readOnly", "eventType", "managementEvent", "recipientAccountId", "eventCategory"}
	ids := map[string]bool{}
	for _, d := range files {
		for _, r := range d.recs {
			for k := range r {
				if !top[k] {
					t.Fatalf("member %q is not one real records carry: %v", k, r)
				}
			}
			for _, k := range required {
				if _, ok := r[k]; !ok {
					t.Fatalf("record without %s: %v", k, r)
				}
			}
			for _, k := range []string{"requestParameters", "responseElements"} {
				if _, ok := r[k]; !ok {
					t.Fatalf("record without %s (AWS writes null): %v", k, r)
				}
			}
			id := str(r, "eventID")
			if ids[id] {
				t.Fatalf("eventID %s twice", id)
			}
			ids[id] = true
			ui := r["userIdentity"].(map[string]any)
			for k := range ui {
				if !identity[k] {
					t.Fatalf("userIdentity member %q is not one real records carry", k)
				}
			}
			if sc, ok := ui["sessionContext"].(map[string]any); ok {
				for k := range sc {
					if !session[k] {
						t.Fatalf("sessionContext member %q is not one real records carry", k)
					}
				}
			}
			typ := str(ui, "type")
			if typ == "AssumedRole" && (str(ui, "sessionContext", "sessionIssuer", "arn") == "" || str(ui, "sessionContext", "attributes", "creationDate") == "") {
				t.Fatalf("assumed-role identity without its session context: %v", ui)
			}
			_, tls := r["tlsDetails"]
			if viaService := str(ui, "invokedBy") != "" || str(r, "eventSource") == "signin.amazonaws.com"; tls == viaService {
				t.Fatalf("tlsDetails present=%v for a call with invokedBy %q", tls, str(ui, "invokedBy"))
			}
			if str(r, "eventCategory") == "Data" {
				if r["managementEvent"] != false || str(r, "eventSource") != "s3.amazonaws.com" || r["resources"] == nil {
					t.Fatalf("data event not shaped as S3 writes it: %v", r)
				}
			}
		}
	}
}

func TestEncoderAgreesWithEncodingJSON(t *testing.T) {
	f, err := NewFleet(Config{Seed: 9, Weeks: 2, Scale: 0.01, TestWeek: DefaultTestWeek})
	if err != nil {
		t.Fatal(err)
	}
	n, i := 0, 0
	_, err = f.generate(func(fl *File, recs []*Record) error {
		for _, r := range recs {
			if i++; i%4 != 0 {
				continue // a sample keeps the test quick under -race
			}
			var ours, theirs any
			if err := json.Unmarshal(r.appendJSON(nil), &ours); err != nil {
				t.Fatalf("our encoding does not parse: %v\n%s", err, r.appendJSON(nil))
			}
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &theirs); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ours, theirs) {
				t.Fatalf("encodings differ:\nours   %s\ntheirs %s", r.appendJSON(nil), b)
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 1000 {
		t.Fatalf("compared %d records", n)
	}
	for _, s := range []string{"plain", `quote " and \ back`, "tab\tnew\nline\x01", "caf\u00e9 \u2603", "bad \xff byte"} {
		var back string
		if err := json.Unmarshal(schemas.AppendJSONString(nil, s), &back); err != nil {
			t.Fatalf("AppendJSONString(%q) does not parse: %v", s, err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if back != want {
			t.Errorf("AppendJSONString(%q) reads back %q", s, back)
		}
	}
}

func TestEveryRecordNormalisesAndAgentsAreAttributed(t *testing.T) {
	files, _ := small(t)
	cfg := ingest.DefaultConfig()
	cfg.Attribution = AttributionRules()
	f, err := NewFleet(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	inv, err := f.Inventory()
	if err != nil {
		t.Fatal(err)
	}
	n, err := ingest.NewNormalizer(cfg, nil, ingest.WithPrincipals(inv.Principals()))
	if err != nil {
		t.Fatal(err)
	}
	perAgent := map[string]int{}
	classes := map[string]int{}
	instances := map[string]map[string]bool{}
	madeFor := map[string]int{} // agent -> credential records made for it by a known principal
	for _, d := range files {
		evs, dead := n.Normalize(ingest.Record{Raw: d.file.JSON, Source: "file:" + d.file.Key, Time: d.file.Delivered})
		if len(dead) > 0 {
			t.Fatalf("%s: dead letter: %s", d.file.Key, dead[0].Reason)
		}
		for _, ev := range evs {
			if ev.Unattributed {
				classes[classify(ev.AgentID)]++
				continue
			}
			if ev.PrincipalKind != "" {
				// A node (or Lambda, or ECS) assuming the agent's role: the
				// agent's by its request parameters, the caller kept.
				if ev.Action != "sts:AssumeRole" || strings.Contains(ev.Principal, ":assumed-role/agent-"+ev.AgentID+"/") || ev.AgentInstance == "" {
					t.Fatalf("credential record %s: action %s, principal %s, instance %q", ev.EventID, ev.Action, ev.Principal, ev.AgentInstance)
				}
				madeFor[ev.AgentID]++
				continue
			}
			perAgent[ev.AgentID]++
			if instances[ev.AgentID] == nil {
				instances[ev.AgentID] = map[string]bool{}
			}
			instances[ev.AgentID][ev.AgentInstance] = true
		}
	}
	for _, a := range agents {
		if perAgent[a.ID] < 50 || madeFor[a.ID] == 0 {
			t.Errorf("agent %s: %d attributed events, %d credential records made for it", a.ID, perAgent[a.ID], madeFor[a.ID])
		}
	}
	for _, c := range []string{ClassPerson, ClassNode, ClassService} {
		if classes[c] == 0 {
			t.Errorf("no unattributed events of %s", c)
		}
	}
	// Pods are replaced by deploys; tasks and CronJob pods are new every run.
	if len(instances["support-assistant"]) < 8 || len(instances["finops-reporter"]) < 7 || len(instances["doc-indexer"]) != 1 {
		t.Errorf("instances: support-assistant %d, finops-reporter %d, doc-indexer %d", len(instances["support-assistant"]),
			len(instances["finops-reporter"]), len(instances["doc-indexer"]))
	}
}

func TestRolesAreAssumedForEveryInstance(t *testing.T) {
	files, _ := small(t)
	issued := map[string]string{} // access key -> who assumed it
	var signed []string           // keys agents' calls were signed with
	byRole := map[string]int{}
	for _, d := range files {
		for _, r := range d.recs {
			ui := r["userIdentity"].(map[string]any)
			if str(r, "eventName") == "AssumeRole" && str(r, "errorCode") == "" {
				key := str(r, "responseElements", "credentials", "accessKeyId")
				who := str(ui, "arn")
				if who == "" {
					who = str(ui, "invokedBy")
				}
				issued[key] = who
				role := str(r, "requestParameters", "roleArn")
				byRole[role[strings.LastIndex(role, "/")+1:]+" by "+classify(who)]++
				if !strings.HasPrefix(str(r, "responseElements", "assumedRoleUser", "arn"), "arn:aws:sts::"+Account+":assumed-role/") {
					t.Fatalf("AssumeRole response without the assumed role: %v", r)
				}
				continue
			}
			et, _ := time.Parse(ctTime, str(r, "eventTime"))
			if !strings.Contains(str(ui, "arn"), ":assumed-role/agent-") || et.Before(DefaultTestWeek.AddDate(0, 0, -7).Add(2*time.Hour)) {
				continue // sessions from before the generated weeks have no record
			}
			signed = append(signed, str(ui, "accessKeyId"))
		}
	}
	// Every agent key comes from an AssumeRole in the log, but the
	// attackers' own sessions (assumed from outside, or an IAM user's).
	missing := 0
	for _, k := range signed {
		if _, ok := issued[k]; !ok {
			missing++
		}
	}
	if missing > 10 {
		t.Errorf("%d of %d agent calls signed with a key no AssumeRole in the log returned", missing, len(signed))
	}
	for _, a := range agents {
		var want string
		switch a.Runtime {
		case RuntimePlatform:
			want = a.Role + " by " + ClassNode
		default:
			want = a.Role + " by " + ClassService
		}
		if byRole[want] == 0 {
			t.Errorf("no AssumeRole of %s (have %v)", want, byRole)
		}
	}
	// Pods renew every 50 minutes: two weeks of three pods is hundreds.
	if n := byRole["agent-support-assistant by "+ClassNode]; n < 3*24*14*60/50*9/10 {
		t.Errorf("support-assistant sessions: %d", n)
	}
}
