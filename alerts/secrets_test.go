package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"gopkg.in/yaml.v3"

	"github.com/agentwatch/agentwatch/alerts/pagerduty"
	"github.com/agentwatch/agentwatch/alerts/slack"
	"github.com/agentwatch/agentwatch/alerts/webhook"
	"github.com/agentwatch/agentwatch/internal/config"
)

// The secrets used below; none may appear anywhere but on the wire.
var testSecrets = []string{
	"XXXXSECRETXXXX", "xoxb-test-token-secret", "R0UT1NGKEY0000000000000000000000",
	"hooktokensecret", "hmac-signing-secret", "FILESECRETVALUE",
}

// echoServer fails every request and quotes the request line, the
// Authorization header and the body in its error page, the worst a
// receiver can do.
func echoServer() *httpServer {
	return newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body bytes.Buffer
		_, _ = body.ReadFrom(r.Body)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "bad request %s %s auth=%s body=%s", r.Method, r.URL.String(), r.Header.Get("Authorization"), body.String())
	}))
}

func secretConfig(t *testing.T, url string) Config {
	cfg := testConfig(t)
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("FILESECRETVALUE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hook := slackHookReceiver("slack-hook", url)
	api := slackAPIReceiver("slack-api", url, "#sec")
	fromFile := ReceiverConfig{Name: "slack-file", Slack: &slack.Config{TokenFile: file, Channel: "#sec", APIURL: url + "/api"}}
	cfg.Receivers = []ReceiverConfig{hook, api, fromFile, pdReceiver("pd", url), webhookReceiver("hook", url)}
	cfg.Route.Receiver = "pd"
	cfg.Route.Routes = []RouteConfig{
		{Receiver: "slack-hook", Continue: true}, {Receiver: "slack-api", Continue: true},
		{Receiver: "slack-file", Continue: true}, {Receiver: "hook", Continue: true}, {Receiver: "pd"},
	}
	return cfg
}

func assertNoSecret(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range testSecrets {
		if strings.Contains(text, s) {
			t.Errorf("%s contains secret %q:\n%s", where, s, text)
		}
	}
}

func TestNoSecretLeaks(t *testing.T) {
	srv := echoServer()
	defer srv.Close()
	cfg := secretConfig(t, srv.URL)

	// Config print: encoding/json and yaml.v3, as `config print` does, and fmt.
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, "JSON config", string(js))
	if !strings.Contains(string(js), `\u003csecret\u003e`) && !strings.Contains(string(js), config.Redacted) {
		t.Fatalf("JSON config shows no %s at all: %s", config.Redacted, js)
	}
	ys, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, "YAML config", string(ys))
	for _, r := range cfg.Receivers {
		for _, v := range []any{r.Slack, r.PagerDuty, r.Webhook} {
			assertNoSecret(t, "fmt", fmt.Sprintf("%v %+v %#v %s", v, v, v, v))
		}
	}

	// Logs at debug level, errors, stored failure reasons and metrics.
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	td := newTestDispatcher(t, cfg, nil, WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))), WithRegisterer(reg))
	td.submit(t, alertAt("bot", "novelty.action", "x", td.clock.Now()))
	td.flush(t)
	failed, err := td.ListFailed(context.Background())
	if err != nil || len(failed) != 5 {
		t.Fatalf("failed = %d, %v; want all 5 receivers failed on HTTP 400", len(failed), err)
	}
	for _, f := range failed {
		assertNoSecret(t, "last_error of "+f.Receiver, f.LastError)
		if !strings.Contains(f.LastError, "HTTP 400") {
			t.Errorf("last_error of %s lacks the status: %q", f.Receiver, f.LastError)
		}
	}
	for _, name := range []string{"slack-hook", "slack-api", "slack-file", "pd", "hook"} {
		err := td.SendTest(context.Background(), name)
		if err == nil {
			t.Fatalf("SendTest(%s) succeeded against a failing server", name)
		}
		assertNoSecret(t, "SendTest error", err.Error())
	}
	assertNoSecret(t, "logs", logs.String())
	if !strings.Contains(logs.String(), "alert delivery failed") {
		t.Fatalf("no failure was logged: %s", logs.String())
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&text, mf); err != nil {
			t.Fatal(err)
		}
	}
	assertNoSecret(t, "metrics", text.String())

	// Errors from bad configuration name the key, never the value.
	bad := cfg
	bad.Receivers = append([]ReceiverConfig(nil), cfg.Receivers...)
	bad.Receivers[0] = ReceiverConfig{Name: "x", Slack: &slack.Config{WebhookURL: "XXXXSECRETXXXX not a url"}}
	if err := bad.Validate(); err == nil {
		t.Fatal("invalid webhook_url accepted")
	} else {
		assertNoSecret(t, "Validate error", err.Error())
	}
	// A secret file with a bad value: the error names the key only.
	badFile := filepath.Join(t.TempDir(), "hook")
	if err := os.WriteFile(badFile, []byte("XXXXSECRETXXXX-not-a-url"), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile := testConfig(t)
	fromFile.Receivers = []ReceiverConfig{{Name: "h", Slack: &slack.Config{WebhookURLFile: badFile}}}
	_, err = NewDispatcher(fromFile, nil)
	if err == nil || !strings.Contains(err.Error(), "alerts.receivers[0].slack.webhook_url") {
		t.Fatalf("NewDispatcher(bad webhook_url_file) = %v", err)
	}
	assertNoSecret(t, "NewDispatcher error", err.Error())
	_, err = NewDispatcher(Config{}, nil)
	if err == nil {
		t.Fatal("empty config accepted")
	}
	_ = pagerduty.Config{}
	_ = webhook.Config{}
}
