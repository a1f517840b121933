package awsfleet

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// Files of a written fleet directory, beside AWSLogs/.
const (
	ManifestFile  = "fleet.json"
	LabelsFile    = "labels.jsonl"
	InventoryFile = "agents.yaml"
	// CopiedInventoryFile is the first draft of the inventory, with
	// lists copied from the policies, kept for comparison.
	CopiedInventoryFile = "agents.copied.yaml"
	RunConfigFile       = "agentwatch.yaml"
	PolicyDir           = "iam"
	ReadmeFile          = "README.md"
)

// Manifest describes a written fleet: how it was generated and what it
// holds. The evaluation reads its configuration, attacks and drift from
// it, so a directory stays self-describing after the tables change.
type Manifest struct {
	Generator string           `json:"generator"`
	Seed      int64            `json:"seed"`
	Weeks     int              `json:"weeks"`
	Scale     float64          `json:"scale"`
	Start     time.Time        `json:"start"`
	TestWeek  time.Time        `json:"test_week"`
	End       time.Time        `json:"end"`
	Account   string           `json:"account"`
	Regions   []string         `json:"regions"`
	Records   int              `json:"records"`
	Files     int              `json:"files"`
	Labelled  map[string]int   `json:"labelled"`
	Agents    []ManifestAgent  `json:"agents"`
	Attacks   []ManifestAttack `json:"attacks"`
	Drift     []ManifestDrift  `json:"drift"`
	People    []string         `json:"people"`
}

// ManifestAgent is one agent of a manifest.
type ManifestAgent struct {
	ID      string `json:"id"`
	Owner   string `json:"owner"`
	Role    string `json:"role"`
	Runtime string `json:"runtime"`
	Region  string `json:"region"`
	Policy  string `json:"policy"`
}

// ManifestAttack is one attack of a manifest.
type ManifestAttack struct {
	ID          string    `json:"id"`
	Stratus     string    `json:"stratus"`
	Technique   string    `json:"technique"`
	Agent       string    `json:"agent"`
	Start       time.Time `json:"start"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
}

// ManifestDrift is one drift of a manifest.
type ManifestDrift struct {
	ID          string    `json:"id"`
	Agent       string    `json:"agent,omitempty"`
	Start       time.Time `json:"start"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
}

// manifest describes f; counts are filled after delivery.
func (f *Fleet) manifest() Manifest {
	m := Manifest{Generator: "agentwatch sim/awsfleet", Seed: f.cfg.Seed, Weeks: f.cfg.Weeks, Scale: f.cfg.Scale, Start: f.start,
		TestWeek: f.test, End: f.end, Account: Account, Regions: Regions, Labelled: map[string]int{}}
	for _, a := range agents {
		m.Agents = append(m.Agents, ManifestAgent{ID: a.ID, Owner: a.Owner, Role: a.Role, Runtime: a.Runtime, Region: a.Region,
			Policy: PolicyDir + "/" + a.Role + ".json"})
	}
	for _, a := range attacks {
		m.Attacks = append(m.Attacks, ManifestAttack{ID: a.ID, Stratus: a.Stratus, Technique: a.Technique, Agent: a.Agent,
			Start: f.test.Add(a.At), Title: a.Title, Description: a.Description})
	}
	for _, d := range drifts {
		m.Drift = append(m.Drift, ManifestDrift{ID: d.ID, Agent: d.Agent, Start: f.test.Add(d.At), Title: d.Title, Description: d.Description})
	}
	for _, p := range people {
		m.People = append(m.People, p.Email+" ("+p.PermissionSet+")")
	}
	return m
}

// Writer writes a fleet directory: the objects in the S3 layout (gzipped
// by a pool of workers), labels.jsonl, the IAM policies, agents.yaml, the
// run configuration, fleet.json and a README.
type Writer struct {
	dir    string
	f      *Fleet
	labels *bufio.Writer
	lf     *os.File
	dirs   map[string]bool
	jobs   chan *File
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
	stats  Stats
}

// NewWriter creates dir (which must not hold a fleet already) and starts
// the compression workers.
func NewWriter(dir string, f *Fleet) (*Writer, error) {
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err == nil {
		return nil, fmt.Errorf("write fleet: %s already holds a fleet (%s); choose an empty directory", dir, ManifestFile)
	}
	if err := os.MkdirAll(filepath.Join(dir, PolicyDir), 0o755); err != nil {
		return nil, fmt.Errorf("write fleet: %w", err)
	}
	lf, err := os.Create(filepath.Join(dir, LabelsFile))
	if err != nil {
		return nil, fmt.Errorf("write fleet: %w", err)
	}
	w := &Writer{dir: dir, f: f, lf: lf, labels: bufio.NewWriterSize(lf, 1<<16), dirs: map[string]bool{}, jobs: make(chan *File, 64)}
	for range max(1, runtime.GOMAXPROCS(0)) {
		w.wg.Add(1)
		go w.work()
	}
	return w, nil
}

func (w *Writer) work() {
	defer w.wg.Done()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	for f := range w.jobs {
		buf.Reset()
		zw.Reset(&buf)
		_, err := zw.Write(f.JSON)
		if err == nil {
			err = zw.Close()
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(w.dir, filepath.FromSlash(f.Key)), buf.Bytes(), 0o644)
		}
		if err != nil {
			w.fail(fmt.Errorf("write %s: %w", f.Key, err))
		}
	}
}

func (w *Writer) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

// Add writes one delivered object and its labels.
func (w *Writer) Add(f *File) error {
	w.mu.Lock()
	err := w.err
	w.mu.Unlock()
	if err != nil {
		return err
	}
	d := path.Dir(f.Key)
	if !w.dirs[d] {
		if err := os.MkdirAll(filepath.Join(w.dir, filepath.FromSlash(d)), 0o755); err != nil {
			return fmt.Errorf("write fleet: %w", err)
		}
		w.dirs[d] = true
	}
	enc := json.NewEncoder(w.labels)
	for _, l := range f.Labels {
		if err := enc.Encode(l); err != nil {
			return fmt.Errorf("write %s: %w", LabelsFile, err)
		}
	}
	w.jobs <- f
	return nil
}

// Close waits for the objects, then writes the policies, the inventory,
// the run configuration, the manifest and the README.
func (w *Writer) Close(st Stats) error {
	close(w.jobs)
	w.wg.Wait()
	errs := []error{w.err}
	if err := w.labels.Flush(); err != nil {
		errs = append(errs, fmt.Errorf("write %s: %w", LabelsFile, err))
	}
	if err := w.lf.Close(); err != nil {
		errs = append(errs, fmt.Errorf("write %s: %w", LabelsFile, err))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, a := range agents {
		b, err := json.MarshalIndent(a.Policy, "", "  ")
		if err != nil {
			return fmt.Errorf("encode policy of %s: %w", a.ID, err)
		}
		if err := os.WriteFile(filepath.Join(w.dir, PolicyDir, a.Role+".json"), append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write fleet: %w", err)
		}
	}
	inv, err := w.f.InventoryYAML()
	if err != nil {
		return err
	}
	copied, err := w.f.InventoryCopiedYAML()
	if err != nil {
		return err
	}
	run, err := RunConfigYAML()
	if err != nil {
		return err
	}
	m := w.f.manifest()
	m.Records, m.Files = st.Records, st.Files
	m.Labelled[LabelAttack], m.Labelled[LabelDrift] = st.Attack, st.Drift
	man, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	for name, data := range map[string][]byte{InventoryFile: inv, CopiedInventoryFile: copied, RunConfigFile: run, ManifestFile: append(man, '\n'), ReadmeFile: w.readme(m)} {
		if err := os.WriteFile(filepath.Join(w.dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write fleet: %w", err)
		}
	}
	return nil
}

func (w *Writer) readme(m Manifest) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Generated AWS fleet (seed %d, %d weeks, scale %g)\n\n", m.Seed, m.Weeks, m.Scale)
	fmt.Fprintf(&b, "Account %s, regions %v, %s to %s; the test week starts %s.\n", m.Account, m.Regions,
		m.Start.Format(time.DateOnly), m.End.Add(-time.Second).Format(time.DateOnly), m.TestWeek.Format(time.DateOnly))
	fmt.Fprintf(&b, "%d CloudTrail records in %d objects, %d of them attack and %d drift records (labels.jsonl).\n\n", m.Records, m.Files,
		m.Labelled[LabelAttack], m.Labelled[LabelDrift])
	b.WriteString(`- AWSLogs/: the trail's objects as CloudTrail delivers them to S3 (gzipped {"Records":[...]}).
- labels.jsonl: one line per attack or drift record, keyed by eventID; every other record is ordinary benign traffic.
- iam/: each agent role's identity policy, as its owner wrote it in IAM.
- agents.yaml: the inventory: playgrounds made from those policies by ` + "`agentwatch inventory import-iam`" + ` (statements), with the owners' hours, the VPC and NAT addresses, client families and the principals known not to be agents.
- agents.copied.yaml: the first draft, with the policies copied into one list each.
- agentwatch.yaml: attribution rules (role sessions, and the AssumeRole records that make each agent's credentials) and a file-collector configuration for ` + "`agentwatch run`" + `.
- fleet.json: how it was generated; the agents, attacks and drift.

Evaluate it: ` + "`agentwatch eval --fleet-dir .`" + ` (in process, delivery order; add ` + "`--inventory agents.copied.yaml`" + ` for the first draft), or end to end:
` + "`agentwatch run --config agentwatch.yaml`" + `, then ` + "`agentwatch eval --fleet-dir . --stored-alerts`" + `.

## Attacks
`)
	for _, a := range m.Attacks {
		fmt.Fprintf(&b, "- %s (%s, %s) via %s at %s: %s\n", a.ID, a.Stratus, a.Technique, a.Agent, a.Start.Format("Mon 2006-01-02 15:04"), a.Description)
	}
	b.WriteString("\n## Drift\n")
	for _, d := range m.Drift {
		fmt.Fprintf(&b, "- %s at %s: %s\n", d.ID, d.Start.Format("Mon 2006-01-02 15:04"), d.Description)
	}
	return b.Bytes()
}
