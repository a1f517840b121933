package pipeline

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/agentwatch/agentwatch/ingest"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/internal/store"
)

const principalsInventory = `agents:
  - id: support-bot
    owner: team-support
principals:
  - match: "arn:aws:sts::123456789012:assumed-role/eks-node-role/*"
    kind: infrastructure
    owner: team-platform
    note: EKS nodes assume the agents' roles for their pods
    actions: ["sts:AssumeRole"]
`

// ctRecord is a CloudTrail record shaped as the real ones of
// shared/data/real: an identity, a call, request parameters and, for STS,
// the credential made.
func ctRecord(id string, at time.Time, arn, key, source, name, params, response string) []byte {
	return []byte(`{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"` + arn + `","accountId":"123456789012","accessKeyId":"` + key + `"},` +
		`"eventTime":"` + at.UTC().Format(time.RFC3339) + `","eventSource":"` + source + `","eventName":"` + name + `","awsRegion":"eu-west-1",` +
		`"sourceIPAddress":"10.0.3.17","userAgent":"aws-sdk-go-v2/1.30.3","requestParameters":` + params + `,"responseElements":` + response + `,` +
		`"eventID":"` + id + `","eventType":"AwsApiCall","recipientAccountId":"123456789012"}`)
}

// TestInfrastructurePrincipalStoredNotAlerted runs real CloudTrail shapes
// through the embedded pipeline: the nodes that assume the agent's role
// raise no identity.unattributed, their records are stored and marked
// infrastructure, the documented unattributed_principals query leaves
// them out, and an unknown principal and a node acting outside its
// declared actions still alert.
func TestInfrastructurePrincipalStoredNotAlerted(t *testing.T) {
	runPrincipals(t, testConfig(t.TempDir()), store.DialectSQLite)
}

// TestProductionInfrastructurePrincipal is the same on real Kafka and
// ClickHouse.
func TestProductionInfrastructurePrincipal(t *testing.T) {
	runPrincipals(t, prodConfig(t), store.DialectClickHouse)
}

func runPrincipals(t *testing.T, cfg Config, dialect string) {
	inv, err := inventory.Parse("agents.yaml", []byte(principalsInventory))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Ingest.Attribution = []ingest.Rule{{Name: "agent-sessions", Formats: []string{"cloudtrail"},
		Principal: "arn:aws:sts::*:assumed-role/agent-support/*", SessionName: `^(?P<agent>[a-z-]+)@(?P<instance>.+)$`}}
	p := startPipeline(t, cfg, inv)

	// Recent times: the documented queries look at the last 7 days.
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	node := func(i string) string { return "arn:aws:sts::123456789012:assumed-role/eks-node-role/" + i }
	var recs [][]byte
	for i, n := range []string{"i-1", "i-2", "i-3"} {
		session := fmt.Sprintf("support-bot@pod-%d", i)
		newKey := fmt.Sprintf("ASIAPOD%d", i)
		recs = append(recs,
			ctRecord("assume-"+n, at.Add(time.Duration(i)*time.Minute), node(n), "ASIANODE"+n, "sts.amazonaws.com", "AssumeRole",
				`{"roleArn":"arn:aws:iam::123456789012:role/agent-support","roleSessionName":"`+session+`","durationSeconds":3600}`,
				`{"credentials":{"accessKeyId":"`+newKey+`","expiration":"Mar 2, 2026, 10:00:00 AM"}}`),
			ctRecord("call-"+n, at.Add(time.Duration(i)*time.Minute+time.Second), "arn:aws:sts::123456789012:assumed-role/agent-support/"+session, newKey,
				"s3.amazonaws.com", "GetObject", `{"bucketName":"kb","key":"articles/1.md"}`, "null"))
	}
	recs = append(recs,
		ctRecord("mallory", at.Add(10*time.Minute), "arn:aws:iam::123456789012:user/mallory", "AKIAMALLORY", "s3.amazonaws.com", "ListBuckets", "null", "null"),
		ctRecord("node-misuse", at.Add(11*time.Minute), node("i-9"), "ASIANODEi-9", "s3.amazonaws.com", "GetObject", `{"bucketName":"payroll","key":"2026.csv"}`, "null"))
	shipEach(t, p, "cloudtrail", recs)
	waitFor(t, 60*time.Second, "every stage to catch up", func() bool { return p.app.Drained(int64(len(recs))) })
	if got := p.app.eventsOut.Load(); got != int64(len(recs)) {
		t.Fatalf("%d events out of %d records", got, len(recs))
	}

	var unattributed []string
	for _, a := range p.firing() {
		if a.Detector == "identity.unattributed" {
			unattributed = append(unattributed, a.Subject)
		}
	}
	sort.Strings(unattributed)
	want := []string{"arn:aws:iam::123456789012:user/mallory", node("i-9")}
	if strings.Join(unattributed, " ") != strings.Join(want, " ") {
		t.Fatalf("identity.unattributed alerts for %v, want %v only (the nodes' AssumeRoles are infrastructure)", unattributed, want)
	}

	// Stored and queryable: the ClickHouse store writes in batches, so
	// wait for the rows rather than for luck.
	q := func(sql string) [][]string {
		t.Helper()
		res, err := p.app.Store.Query(t.Context(), sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		var out [][]string
		for _, row := range res.Rows {
			var r []string
			for _, v := range row {
				r = append(r, store.Text(v))
			}
			out = append(out, r)
		}
		return out
	}
	count := "SELECT count(DISTINCT event_id) FROM events"
	waitFor(t, 30*time.Second, "all events stored", func() bool { return fmt.Sprint(q(count)) == fmt.Sprintf("[[%d]]", len(recs)) })
	kinds := q("SELECT principal, principal_kind, unattributed FROM events WHERE action = 'sts:AssumeRole' ORDER BY principal")
	if fmt.Sprint(kinds) != fmt.Sprintf("[[%s infrastructure 1] [%s infrastructure 1] [%s infrastructure 1]]", node("i-1"), node("i-2"), node("i-3")) {
		t.Errorf("stored AssumeRole events = %v", kinds)
	}
	for _, dq := range documented(t, dialect, "unattributed_principals", "known_principals") {
		rows := q(dq.SQL)
		var names []string
		for _, r := range rows {
			names = append(names, r[0])
		}
		sort.Strings(names)
		switch dq.Name {
		case "unattributed_principals":
			if strings.Join(names, " ") != strings.Join(want, " ") {
				t.Errorf("unattributed_principals = %v, want %v", names, want)
			}
		case "known_principals":
			if strings.Join(names, " ") != strings.Join([]string{node("i-1"), node("i-2"), node("i-3")}, " ") || rows[0][1] != "infrastructure" {
				t.Errorf("known_principals = %v", rows)
			}
		}
	}
}

// shipEach publishes each record in its own request, retrying while the
// broker answers with a temporary error (a broker can lag the controller a
// moment after the topic is created: unknown partition, not the leader);
// such a request wrote nothing, so nothing is shipped twice.
func shipEach(t *testing.T, p *pipeline, format string, recs [][]byte) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(p.app.Brokers...), Topic: p.app.Cfg.Bus.Topics.Ingest, RequiredAcks: kafka.RequireAll,
		BatchTimeout: time.Millisecond, MaxAttempts: 1}
	defer w.Close()
	for _, r := range recs {
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := w.WriteMessages(t.Context(), kafka.Message{Value: r, Headers: []kafka.Header{{Key: "format", Value: []byte(format)}}})
			if err == nil {
				break
			}
			if !temporary(err) || time.Now().After(deadline) {
				t.Fatalf("ship: %v", err)
			}
			time.Sleep(50 * time.Millisecond) // the broker catching up with the topic, with a deadline
		}
	}
}

// temporary reports whether a write failed with retriable Kafka errors
// only.
func temporary(err error) bool {
	var we kafka.WriteErrors
	if errors.As(err, &we) {
		for _, e := range we {
			if e != nil && !temporary(e) {
				return false
			}
		}
		return we.Count() > 0
	}
	var ke kafka.Error
	return errors.As(err, &ke) && ke.Temporary()
}

// documented returns the named queries of docs/queries.sql for dialect.
func documented(t *testing.T, dialect string, names ...string) []store.NamedQuery {
	t.Helper()
	b, err := os.ReadFile("../docs/queries.sql")
	if err != nil {
		t.Fatal(err)
	}
	qs, err := store.ParseQueries("docs/queries.sql", string(b))
	if err != nil {
		t.Fatal(err)
	}
	var out []store.NamedQuery
	for _, q := range qs {
		if q.Dialect == dialect && contains(names, q.Name) {
			out = append(out, q)
		}
	}
	if len(out) != len(names) {
		t.Fatalf("docs/queries.sql: found %d of the %s queries %v", len(out), dialect, names)
	}
	return out
}
