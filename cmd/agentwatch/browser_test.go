package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/internal/store/sqlite"
	"github.com/agentwatch/agentwatch/schemas"
)

// chromiumPath finds headless Chromium, or skips the test with a one-line
// reason, unless AGENTWATCH_TEST_BROWSER=1 requires it (CI sets it).
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("AGENTWATCH_TEST_BROWSER") == "1" {
		t.Fatal("AGENTWATCH_TEST_BROWSER=1 but no chromium on PATH (apt-get install chromium)")
	}
	t.Skip("needs headless Chromium (apt-get install chromium); AGENTWATCH_TEST_BROWSER=1 makes it required")
	return ""
}

// served is `agentwatch demo --serve` running in this process.
type served struct {
	console, collector, dataDir string
}

// serveDemo runs the demo with --serve until the test ends and returns its
// console and collector addresses, read from its output.
func serveDemo(t *testing.T) served {
	t.Helper()
	dir := t.TempDir()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var errb syncBuffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: pw, stderr: &errb, environ: func() []string { return nil }}
	go func() {
		done <- runCLI(ctx, env, []string{"demo", "--serve", "--console-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--data-dir", dir})
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo --serve: %v (stderr: %s)", err, errb.String())
			}
		case <-time.After(60 * time.Second):
			t.Error("demo --serve did not stop within 60s")
		}
	})
	s := served{dataDir: dir}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, pr)
	}()
	deadline := time.After(3 * time.Minute)
	for s.console == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo --serve ended before serving: %s", errb.String())
			}
			if v, ok := strings.CutPrefix(l, "console: "); ok {
				s.console = strings.TrimSuffix(v, "/")
			}
			if v, ok := strings.CutPrefix(l, "collector: "); ok {
				s.collector = v
			}
		case <-deadline:
			t.Fatalf("demo --serve did not print its console address within 3 minutes: %s", errb.String())
		}
	}
	go func() {
		for range lines {
		}
	}()
	return s
}

// TestBrowserConsole loads every page of the console on the demo fleet in
// headless Chromium, checks what each shows, accepts an incident from its
// page, and checks that the same event sent again raises nothing while an
// identical event of an incident not accepted still does. It saves the
// fleet, agent and incident screenshots in AGENTWATCH_SCREENSHOTS (the
// README's are made with AGENTWATCH_SCREENSHOTS=docs from the repository
// root, i.e. ../../docs here) or in a temporary directory.
func TestBrowserConsole(t *testing.T) {
	exe := chromiumPath(t)
	s := serveDemo(t)
	shots := os.Getenv("AGENTWATCH_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil { // starts the browser; no timeout on this first call
		t.Fatalf("start chromium: %v", err)
	}
	step := func(what string, acts ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, acts...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
		defer cancel()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	mustShow := func(page, body string, want ...string) {
		t.Helper()
		for _, w := range want {
			// innerText follows the stylesheet's text-transform.
			if !strings.Contains(strings.ToLower(body), strings.ToLower(w)) {
				t.Errorf("%s page lacks %q", page, w)
			}
		}
	}
	shot := func(name string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		p := filepath.Join(shots, "console-"+name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s (%d KiB)", p, len(png)>>10)
	}

	// Fleet.
	step("fleet viewport", chromedp.EmulateViewport(1280, 720))
	step("open the fleet", chromedp.Navigate(s.console+"/"), chromedp.WaitVisible(chromedp.CSS("table.fleet")))
	// The decommissioned bot acted once, hours before the end of the day:
	// its window closes at the baseline stage's next flush (every second
	// in a served demo), and then the fleet shows its events.
	flushed := time.Now().Add(60 * time.Second)
	for strings.TrimSpace(text(`tr:has(a[href="/agents/legacy-report-bot"]) td.num`)) == "0" {
		if time.Now().After(flushed) {
			t.Fatalf("the fleet did not show legacy-report-bot's events within 60s: %q", text(`tr:has(a[href="/agents/legacy-report-bot"])`))
		}
		step("reload the fleet", chromedp.Navigate(s.console+"/"), chromedp.WaitVisible(chromedp.CSS("table.fleet")))
	}
	fleet := text("main")
	mustShow("fleet", fleet, "Fleet", "support-bot", "legacy-report-bot", "team-support-platform", "decommissioned", "mature", "resolved")
	shot("fleet")

	// Agent: reached by clicking its link, as a person would.
	step("open support-bot", chromedp.Click(chromedp.CSS(`a[href="/agents/support-bot"]`)), chromedp.WaitVisible(chromedp.CSS("svg.chart")))
	agent := text("main")
	mustShow("agent", agent, "Customer support assistant", "Declared in the inventory", "Learned from its events",
		"tools/call:get_ticket", "Behaviour per window", "Latest events", "Instances and credentials seen")
	if n := countNodes(t, bctx, "svg.chart"); n < 5 {
		t.Errorf("agent page has %d charts, want 5", n)
	}
	step("agent viewport", chromedp.EmulateViewport(1280, 1500))
	shot("agent")
	step("incident viewport", chromedp.EmulateViewport(1280, 1450))

	// The incident: the support bot exporting customers, outside its
	// declared playground.
	st, err := sqlite.OpenReadOnly(filepath.Join(s.dataDir, "agentwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	incident := findAlert(t, st, "support-bot", "action:tools/call:export_customers")
	control := findAlert(t, st, "legacy-report-bot", "resource:arn:aws:s3:::analytics-lake")
	step("open the incident", chromedp.Click(chromedp.CSS(`a[href="/incidents/`+incident.ID+`"]`)), chromedp.WaitVisible(chromedp.CSS("#accept")))
	inc := text("main")
	mustShow("incident", inc, "tools/call:export_customers", "Boundary:", "declared", "Evidence", "The events behind it",
		"customer:cus_04711", "Notifications", "console")
	shot("incident")

	// Accept it from the page, with the keyboard for the reason.
	step("accept", chromedp.Focus(chromedp.CSS("#acc-reason")), chromedp.KeyEvent("customer export approved for the migration, SEC-42"),
		chromedp.Click(chromedp.CSS("#accept")), chromedp.WaitVisible(chromedp.CSS(".callout.ok")))
	mustShow("incident after accept", text("main"), "Done: accept recorded", "customer export approved for the migration, SEC-42")
	// Resolve another incident from its page: the control. Its behaviour
	// coming back opens a new incident, which shows that an identical event
	// does raise when nobody accepted it.
	step("open the control", chromedp.Navigate(s.console+"/incidents/"+control.ID), chromedp.WaitVisible(chromedp.CSS("#resolve")))
	step("resolve the control", chromedp.Focus(chromedp.CSS("#res-reason")), chromedp.KeyEvent("report job stopped for good"),
		chromedp.Click(chromedp.CSS("#resolve")), chromedp.WaitVisible(chromedp.CSS(".callout.ok")))
	mustShow("control after resolve", text("main"), "Done: resolve recorded", "report job stopped for good")

	// The same event again, then an identical event of the resolved
	// incident: the control opens a new incident, the accepted one raises
	// nothing.
	orig := eventOf(t, st, incident)
	ctrl := eventOf(t, st, control)
	latest := latestStored(t, st)
	again, ctrlAgain := orig, ctrl
	again.EventID, again.Time = "browser-test-accepted-1", latest.Add(time.Minute)
	ctrlAgain.EventID, ctrlAgain.Time = "browser-test-control-1", latest.Add(time.Minute+time.Second)
	postEvents(t, s.collector, again, ctrlAgain)
	var reopened schemas.Alert
	deadline := time.Now().Add(60 * time.Second)
	for reopened.ID == "" {
		if time.Now().After(deadline) {
			t.Fatal("the control event raised no new incident within 60s")
		}
		as, err := st.LoadAlerts(ctx, store.AlertFilter{AgentID: control.Identity.AgentID, Since: ctrlAgain.Time})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if a.DedupKey == control.DedupKey && a.ID != control.ID {
				reopened = a
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	as, err := st.LoadAlerts(ctx, store.AlertFilter{AgentID: "support-bot", Since: again.Time})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.DedupKey == incident.DedupKey {
			t.Errorf("the accepted behaviour raised %s (%s, status %s, count %d)", a.ID, a.Summary, a.Status, a.Count)
		}
	}
	// The event itself was stored: the search page finds it.
	step("search the event", chromedp.Navigate(s.console+"/search?agent=support-bot&action="+strings.ReplaceAll(orig.Action, "/", "%2F")),
		chromedp.WaitVisible(chromedp.CSS("table.events")))
	mustShow("search", text("main"), "tools/call:export_customers", "customer:cus_04711", "search_events")
	// The agent page lists the action with who did it and why.
	step("agent actions", chromedp.Navigate(s.console+"/agents/support-bot"), chromedp.WaitVisible(chromedp.CSS("#act-h")))
	mustShow("agent after accept", text("main"), "customer export approved for the migration, SEC-42", "accepted")

	// Dark mode follows the system's setting (prefers-color-scheme).
	for _, c := range []struct{ scheme, bg string }{{"light", "rgb(246, 247, 249)"}, {"dark", "rgb(13, 17, 23)"}} {
		ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: c.scheme}}})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		step("fleet in "+c.scheme, chromedp.EmulateViewport(1280, 720), chromedp.Navigate(s.console+"/"), chromedp.WaitVisible(chromedp.CSS("table.fleet")))
		ctx, cancel = context.WithTimeout(bctx, 30*time.Second)
		bg, err := chromedp.Run(ctx, chromedp.Evaluate[string]("getComputedStyle(document.body).backgroundColor"))
		cancel()
		if err != nil || bg != c.bg {
			t.Errorf("%s mode: body background %q (%v), want %q", c.scheme, bg, err, c.bg)
		}
	}
	shot("fleet-dark")
}

func countNodes(t *testing.T, bctx context.Context, sel string) int {
	ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func findAlert(t *testing.T, st store.Store, agent, subject string) schemas.Alert {
	t.Helper()
	as, err := st.LoadAlerts(context.Background(), store.AlertFilter{AgentID: agent})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.Detector == "playground.declared" && a.Subject == subject {
			return a
		}
	}
	t.Fatalf("the demo raised no playground.declared incident on %s for %s", subject, agent)
	return schemas.Alert{}
}

func eventOf(t *testing.T, st store.Store, a schemas.Alert) schemas.AgentEvent {
	t.Helper()
	evs, err := st.SearchEvents(context.Background(), store.EventSearch{AgentID: a.Identity.AgentID, EventIDs: a.EventIDs[:1]})
	if err != nil || len(evs) != 1 {
		t.Fatalf("event %v of incident %s: %v %v", a.EventIDs[:1], a.ID, evs, err)
	}
	return evs[0]
}

func latestStored(t *testing.T, st store.Store) time.Time {
	t.Helper()
	evs, err := st.SearchEvents(context.Background(), store.EventSearch{Limit: 1})
	if err != nil || len(evs) != 1 {
		t.Fatalf("latest event: %v %v", evs, err)
	}
	return evs[0].Time
}

func postEvents(t *testing.T, url string, evs ...schemas.AgentEvent) {
	t.Helper()
	var body bytes.Buffer
	for i := range evs {
		b, err := json.Marshal(&evs[i])
		if err != nil {
			t.Fatal(err)
		}
		body.Write(append(b, '\n'))
	}
	resp, err := http.Post(url, "application/x-ndjson", &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
	}
}
