package telemetry

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestEndpoints(t *testing.T) {
	reg := NewRegistry()
	m := NewMetrics(reg)
	m.Events.WithLabelValues("ingest", "in").Add(3)
	h := NewHealth()
	broken := errors.New("bus unreachable")
	var fail error = broken
	h.Add("bus", func(context.Context) error { return fail })
	srv, err := Listen("127.0.0.1:0", Handler(reg, h), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("healthz = %d", code)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "bus unreachable") {
		t.Errorf("readyz = %d %s, want 503 naming the failed check", code, body)
	}
	fail = nil
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("readyz after recovery = %d", code)
	}
	_, body := get("/metrics")
	for _, want := range []string{`agentwatch_stage_events_total{result="in",stage="ingest"} 3`, `agentwatch_stage_events_total{result="rejected",stage="detect"} 0`, "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
