package alerts

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/agentwatch/agentwatch/alerts/internal/fakes"
)

func TestMetrics(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	reg := prometheus.NewRegistry()
	cfg := pdConfig(t, pd.URL)
	td := newTestDispatcher(t, cfg, nil, WithRegisterer(reg))
	now := td.clock.Now()
	pd.FailNext(1, 503, 0, "")
	pd.FailNext(1, 400, 0, `{"status":"invalid event"}`)
	a, b, c := alertAt("a", "novelty.action", "x", now), alertAt("b", "novelty.action", "x", now), alertAt("c", "novelty.action", "x", now)
	dry := alertAt("d", "novelty.action", "x", now)
	dry.DryRun = true
	td.submit(t, a, b, c, dry)
	wantMetrics(t, reg, `
# HELP agentwatch_alert_outbox_depth Notifications in the outbox by state (pending, failed, delivered, suppressed).
# TYPE agentwatch_alert_outbox_depth gauge
agentwatch_alert_outbox_depth{state="delivered"} 0
agentwatch_alert_outbox_depth{state="failed"} 0
agentwatch_alert_outbox_depth{state="pending"} 3
agentwatch_alert_outbox_depth{state="suppressed"} 0
`)
	td.clock.Advance(2 * time.Second)
	td.flush(t) // a: 503 (retry), b: 400 (failed), c: delivered
	td.clock.Advance(2 * time.Second)
	td.flush(t) // a: delivered
	wantMetrics(t, reg, `
# HELP agentwatch_alert_deliveries_total Notifications finished, by receiver and status (delivered, failed, suppressed).
# TYPE agentwatch_alert_deliveries_total counter
agentwatch_alert_deliveries_total{receiver="console",status="delivered"} 0
agentwatch_alert_deliveries_total{receiver="console",status="failed"} 0
agentwatch_alert_deliveries_total{receiver="console",status="suppressed"} 0
agentwatch_alert_deliveries_total{receiver="pd",status="delivered"} 2
agentwatch_alert_deliveries_total{receiver="pd",status="failed"} 1
agentwatch_alert_deliveries_total{receiver="pd",status="suppressed"} 0
# HELP agentwatch_alert_delivery_retries_total Delivery attempts that failed retryably and were rescheduled, by receiver.
# TYPE agentwatch_alert_delivery_retries_total counter
agentwatch_alert_delivery_retries_total{receiver="console"} 0
agentwatch_alert_delivery_retries_total{receiver="pd"} 1
# HELP agentwatch_alert_outbox_depth Notifications in the outbox by state (pending, failed, delivered, suppressed).
# TYPE agentwatch_alert_outbox_depth gauge
agentwatch_alert_outbox_depth{state="delivered"} 2
agentwatch_alert_outbox_depth{state="failed"} 1
agentwatch_alert_outbox_depth{state="pending"} 0
agentwatch_alert_outbox_depth{state="suppressed"} 0
# HELP agentwatch_alerts_suppressed_total Alert notifications not sent, by reason (silenced, inhibited, dry_run, resolved_unsent).
# TYPE agentwatch_alerts_suppressed_total counter
agentwatch_alerts_suppressed_total{reason="dry_run"} 1
agentwatch_alerts_suppressed_total{reason="inhibited"} 0
agentwatch_alerts_suppressed_total{reason="resolved_unsent"} 0
agentwatch_alerts_suppressed_total{reason="silenced"} 0
`)
	// Latency runs from submission to acceptance: c after 2s, a after 4s.
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "agentwatch_alert_delivery_latency_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == "pd" && (m.GetHistogram().GetSampleCount() != 2 || m.GetHistogram().GetSampleSum() != 6) {
				t.Fatalf("pd latency count %d sum %v, want 2 and 6s", m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum())
			}
		}
	}
}

// wantMetrics checks that every sample line of want appears in the
// registry's text exposition.
func wantMetrics(t *testing.T, reg *prometheus.Registry, want string) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatal(err)
		}
	}
	got := buf.String()
	for _, line := range strings.Split(want, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.Contains(got, line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", got)
	}
}
