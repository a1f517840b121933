package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// benchFleet builds an inventory of n agents in 10 kinds with declared
// playgrounds, and events that stay inside them.
func benchFleet(b testing.TB, n int) (*inventory.Inventory, []schemas.AgentEvent) {
	b.Helper()
	agents := make([]inventory.Agent, n)
	for i := range agents {
		agents[i] = inventory.Agent{ID: fmt.Sprintf("agent-%06d", i), Kind: fmt.Sprintf("kind-%d", i%10), Owner: "team",
			Playground: inventory.Playground{Systems: []string{"helpdesk", "crm"}, Actions: []string{"tickets.*", "customers.read"}}}
	}
	inv, err := inventory.New(agents)
	if err != nil {
		b.Fatal(err)
	}
	actions := []string{"tickets.read", "tickets.update", "customers.read", "tickets.comment"}
	evs := make([]schemas.AgentEvent, 0, 1<<16)
	issued := t0.Add(-24 * time.Hour)
	for i := 0; i < cap(evs); i++ {
		a := i % n
		evs = append(evs, schemas.AgentEvent{
			EventID: fmt.Sprintf("ev-%08d", i), Time: t0.Add(time.Duration(i) * 50 * time.Millisecond), Source: "mcp",
			AgentID: agents[a].ID, AgentInstance: fmt.Sprintf("pod-%d", i%3), Principal: "svc-" + agents[a].ID,
			CredentialID: "tok-" + agents[a].ID, CredentialType: schemas.CredOAuthToken, CredentialIssuedAt: &issued,
			OnBehalfOf: fmt.Sprintf("user%d@example.com", i%5), Action: actions[i%len(actions)], System: "helpdesk",
			Resource: fmt.Sprintf("tickets/%d", 10000+i%997), Outcome: schemas.OutcomeSuccess,
			SrcIP: fmt.Sprintf("10.0.%d.%d", a%4, i%250+1), UserAgent: "support-bot/2.4.1 python-httpx/0.27", Bytes: int64(200 + i%1000),
		})
	}
	return inv, evs
}

// cpuTime is the process's user+system CPU time. The benchmarks report
// CPU time per event beside wall time because the shared build machine is
// oversubscribed, which inflates wall time but not CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	per := float64(cpuTime()-start) / float64(b.N)
	b.ReportMetric(per, "cpu-ns/op")
	if per > 0 {
		b.ReportMetric(1e9/per, "events/cpu-s")
	}
}

// warmEngine builds an engine over the bench fleet of 1,000 agents and
// runs the fleet's events through it once: every agent seen, habits
// learned. It returns the engine and those events.
func warmEngine(b *testing.B) (*Engine, []schemas.AgentEvent) {
	b.Helper()
	inv, evs := benchFleet(b, 1000)
	e, err := NewEngine(DefaultConfig(), inv)
	if err != nil {
		b.Fatal(err)
	}
	for i := range evs {
		e.Process(&evs[i])
	}
	return e, evs
}

// BenchmarkProcess is the full detector set on in-memory events.
func BenchmarkProcess(b *testing.B) {
	e, evs := warmEngine(b)
	processLoop(b, e, evs)
}

// processLoop times Process over evs again and again, each pass shifted
// past the previous one in time, as a live stream goes on.
func processLoop(b *testing.B, e *Engine, evs []schemas.AgentEvent) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	defer reportCPU(b, cpu)
	shift := time.Duration(0)
	for i := 0; i < b.N; i++ {
		j := i % len(evs)
		if j == 0 {
			shift += time.Duration(len(evs)) * 50 * time.Millisecond
		}
		ev := evs[j]
		ev.Time = ev.Time.Add(shift)
		e.Process(&ev)
	}
}

// eventStream writes canonical JSON events as the detect stage meets them:
// event i is one of 4,096 templates with a unique id and a time 50 ms
// after event i-1's, written into the template.
type eventStream struct {
	tpls  []streamTemplate
	start time.Time
	// The time's text up to the seconds changes once a second: formatted
	// then, so the harness spends little of the measured time on it.
	sec     int64
	secText []byte
}

type streamTemplate struct {
	json         []byte
	idAt, timeAt int
}

const streamIDDigits = 12

func newEventStream(b *testing.B, evs []schemas.AgentEvent) *eventStream {
	placeholderTime := t0.Add(123456789) // nine fractional digits, all written
	idKey, timeKey := `"event_id":"ev-`, `"time":"`+placeholderTime.Format(time.RFC3339Nano)
	s := &eventStream{tpls: make([]streamTemplate, 4096), start: evs[len(evs)-1].Time.Add(time.Second), sec: -1}
	for i := range s.tpls {
		ev := evs[i]
		ev.EventID = "ev-" + strings.Repeat("0", streamIDDigits)
		ev.Time = placeholderTime
		raw, err := json.Marshal(&ev)
		if err != nil {
			b.Fatal(err)
		}
		idAt, timeAt := bytes.Index(raw, []byte(idKey)), bytes.Index(raw, []byte(timeKey))
		if idAt < 0 || timeAt < 0 {
			b.Fatal("template without its placeholders")
		}
		s.tpls[i] = streamTemplate{raw, idAt + len(idKey), timeAt + len(`"time":"`)}
	}
	return s
}

// at is event i's time.
func (s *eventStream) at(i int) time.Time {
	return s.start.Add(time.Duration(i) * 50 * time.Millisecond)
}

// event returns event i's JSON, valid until the next call: its template,
// with event i's id and time written over the placeholders in place (the
// decoder keeps nothing of its input, and a template is met again only
// 4,096 events later, so its bytes are as cold as newly fetched ones).
func (s *eventStream) event(i int) []byte {
	t := &s.tpls[i%len(s.tpls)]
	buf := t.json
	for k, n := t.idAt+streamIDDigits-1, i; k >= t.idAt; k-- {
		buf[k] = byte('0' + n%10)
		n /= 10
	}
	at := s.at(i)
	if sec := at.Unix(); sec != s.sec {
		s.sec, s.secText = sec, at.AppendFormat(s.secText[:0], "2006-01-02T15:04:05")
	}
	w := buf[t.timeAt:]
	copy(w, s.secText)
	w = w[len(s.secText)+1:] // past the '.'
	for k, ns := 8, at.Nanosecond(); k >= 0; k-- {
		w[k] = byte('0' + ns%10)
		ns /= 10
	}
	return buf
}

// BenchmarkDecodeProcess is decoding plus the full detector set as the
// detect stage meets events: each event's JSON has just arrived (written
// by an eventStream, and that writing is counted in the time), then it is
// decoded with a schemas.Decoder, as the stage does, and processed.
func BenchmarkDecodeProcess(b *testing.B) {
	e, evs := warmEngine(b)
	stream := newEventStream(b, evs)
	var dec schemas.Decoder
	for _, i := range []int{0, 7, 4096 + 123} { // the harness writes what it means to
		var ev schemas.AgentEvent
		if err := dec.Decode(stream.event(i), &ev); err != nil || ev.EventID != fmt.Sprintf("ev-%012d", i) || !ev.Time.Equal(stream.at(i)) {
			b.Fatalf("event %d decoded as id %q time %s (%v)", i, ev.EventID, ev.Time, err)
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(stream.tpls[0].json)))
	b.ResetTimer()
	cpu := cpuTime()
	defer reportCPU(b, cpu)
	for i := 0; i < b.N; i++ {
		var ev schemas.AgentEvent
		if err := dec.Decode(stream.event(i), &ev); err != nil {
			b.Fatal(err)
		}
		e.Process(&ev)
	}
}

// BenchmarkDecodeProcessReplay decodes and processes 65,536 pre-encoded
// events in a loop: 28 MB of input, and event times that all fall within
// one hour, so no window closes (the loop wraps back to its first time).
func BenchmarkDecodeProcessReplay(b *testing.B) {
	e, evs := warmEngine(b)
	raw := make([][]byte, len(evs))
	for i := range evs {
		var err error
		if raw[i], err = json.Marshal(&evs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw[0])))
	b.ResetTimer()
	cpu := cpuTime()
	defer reportCPU(b, cpu)
	// One decoder per consumer goroutine, as the detect stage runs it.
	var dec schemas.Decoder
	for i := 0; i < b.N; i++ {
		var ev schemas.AgentEvent
		if err := dec.Decode(raw[i%len(raw)], &ev); err != nil {
			b.Fatal(err)
		}
		e.Process(&ev)
	}
}

// BenchmarkMemoryPerAgent reports the steady-state heap per tracked agent
// with 100,000 agents that each learned a realistic playground.
func BenchmarkMemoryPerAgent(b *testing.B) {
	n := benchAgents
	for i := 0; i < b.N; i++ {
		inv, _ := benchFleet(b, n)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		e, err := NewEngine(DefaultConfig(), inv)
		if err != nil {
			b.Fatal(err)
		}
		actions := []string{"tickets.read", "tickets.update", "customers.read", "tickets.comment", "tickets.assign", "customers.search"}
		resources := make([]string, 64)
		for j := range resources {
			resources[j] = fmt.Sprintf("%s/%d", []string{"tickets", "customers"}[j%2], 1000+j)
		}
		ips := make([]string, 400)
		for j := range ips {
			ips[j] = fmt.Sprintf("10.%d.%d.7", j/2, j%2)
		}
		users := []string{"ana@example.com", "ben@example.com", "chloe@example.com"}
		ids := inv.IDs()
		creds := make([]string, n)
		for a := range creds {
			creds[a] = "tok-" + ids[a]
		}
		ev := schemas.AgentEvent{Source: "mcp", System: "helpdesk", Outcome: schemas.OutcomeSuccess, CredentialType: schemas.CredOAuthToken, EventID: "x"}
		// Each agent: a day of hourly windows, 6 actions on 2 collections
		// (12 triples), 2 networks, 2 user agents, 3 delegators, 1
		// credential: the steady state of a typical agent (the profile's
		// size does not grow with more windows).
		for h := 0; h < 24; h++ {
			for a := 0; a < n; a++ {
				k := h + a
				ev.AgentID = ids[a]
				ev.Time = t0.Add(time.Duration(h)*time.Hour + time.Duration(a%3600)*time.Second)
				ev.Action = actions[k%len(actions)]
				ev.Resource = resources[k%len(resources)]
				ev.SrcIP = ips[(a%200)*2+k%2]
				ev.UserAgent = []string{"bot/1.0", "httpx/0.2"}[k%2]
				ev.OnBehalfOf = users[k%3]
				ev.CredentialID = creds[a]
				e.Process(&ev)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		per := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
		b.ReportMetric(per, "B/agent")
		runtime.KeepAlive(e)
		runtime.KeepAlive(inv)
	}
}

// benchAgents is the fleet size of BenchmarkMemoryPerAgent.
var benchAgents = func() int {
	if v, err := strconv.Atoi(os.Getenv("BENCH_AGENTS")); err == nil && v > 0 {
		return v
	}
	return 100000
}()

// BenchmarkDecode is the canonical-event decoder alone, as the stages run
// it (one schemas.Decoder per goroutine).
func BenchmarkDecode(b *testing.B) {
	_, evs := benchFleet(b, 1000)
	raw := make([][]byte, 1024)
	for i := range raw {
		var err error
		if raw[i], err = json.Marshal(&evs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	defer reportCPU(b, cpu)
	var dec schemas.Decoder
	var ev schemas.AgentEvent
	for i := 0; i < b.N; i++ {
		if err := dec.Decode(raw[i%len(raw)], &ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProcessFindings is the cost of events that cross a declared
// boundary: every event of the bench fleet reads from an undeclared system,
// with resources varying as object keys do, so each one is a finding that
// joins its agent's open incident.
func BenchmarkProcessFindings(b *testing.B) {
	inv, evs := benchFleet(b, 1000)
	for i := range evs {
		evs[i].System = "warehouse"
		evs[i].Resource = fmt.Sprintf("exports/%d/part-%d.csv", i%37, i%4099)
	}
	e, err := NewEngine(DefaultConfig(), inv)
	if err != nil {
		b.Fatal(err)
	}
	for i := range evs {
		e.Process(&evs[i])
	}
	processLoop(b, e, evs)
}
