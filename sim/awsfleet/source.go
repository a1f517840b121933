package awsfleet

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Delivery is one CloudTrail object as the evaluation receives it.
type Delivery struct {
	Key       string
	Delivered time.Time
	// Raw is the object's bytes: gzipped when read from disk, plain JSON
	// when generated in memory (the normaliser takes either).
	Raw []byte
	// Labels of attack and drift records; a source may send a label with
	// any delivery, labels are only used once all are in.
	Labels []LabeledEvent
}

// Source is a fleet to evaluate: generated now, or read from a directory.
type Source interface {
	// Manifest describes the fleet (complete once Each has returned).
	Manifest() Manifest
	// Each calls fn with every object in delivery order.
	Each(fn func(*Delivery) error) error
}

// Generated is a fleet generated in memory, optionally written to a
// directory as it is delivered.
type Generated struct {
	Fleet *Fleet
	// Out, when set, receives every object and is closed at the end.
	Out   *Writer
	stats Stats
}

// Manifest describes the generated fleet.
func (s *Generated) Manifest() Manifest {
	m := s.Fleet.manifest()
	m.Records, m.Files = s.stats.Records, s.stats.Files
	m.Labelled[LabelAttack], m.Labelled[LabelDrift] = s.stats.Attack, s.stats.Drift
	return m
}

// Stats counts what Each delivered.
func (s *Generated) Stats() Stats { return s.stats }

// Each generates the fleet.
func (s *Generated) Each(fn func(*Delivery) error) error {
	st, err := s.Fleet.Deliver(func(f *File) error {
		if s.Out != nil {
			if err := s.Out.Add(f); err != nil {
				return err
			}
		}
		return fn(&Delivery{Key: f.Key, Delivered: f.Delivered, Raw: f.JSON, Labels: f.Labels})
	})
	s.stats = st
	if s.Out != nil {
		err = errors.Join(err, s.Out.Close(st))
	}
	return err
}

// Dir is a fleet directory written earlier.
type Dir struct {
	Path     string
	manifest Manifest
	objects  []object
}

type object struct {
	rel       string
	region    string
	delivered time.Time
}

// objectName is CloudTrail's object name: <account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<unique>.json.gz
var objectName = regexp.MustCompile(`^(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4}Z)_([A-Za-z0-9]+)\.json(\.gz)?$`)

// OpenDir reads a fleet directory's manifest and lists its objects.
func OpenDir(dir string) (*Dir, error) {
	d := &Dir{Path: dir}
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("open fleet: %w (is %s a directory written by agentwatch eval --fleet aws --out?)", err, dir)
	}
	if err := json.Unmarshal(b, &d.manifest); err != nil {
		return nil, fmt.Errorf("open fleet: %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	root := filepath.Join(dir, "AWSLogs")
	err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			return nil
		}
		m := objectName.FindStringSubmatch(e.Name())
		if m == nil {
			return fmt.Errorf("%s: not a CloudTrail object name (<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<id>.json.gz)", p)
		}
		t, err := time.Parse("20060102T1504Z", m[3])
		if err != nil {
			return fmt.Errorf("%s: time %q: %w", p, m[3], err)
		}
		rel, _ := filepath.Rel(dir, p)
		d.objects = append(d.objects, object{rel: filepath.ToSlash(rel), region: m[2], delivered: t})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open fleet: %w", err)
	}
	if len(d.objects) == 0 {
		return nil, fmt.Errorf("open fleet: no CloudTrail objects under %s", root)
	}
	// Delivery order: the time in the name, then region, then name.
	slices.SortFunc(d.objects, func(a, b object) int {
		if c := a.delivered.Compare(b.delivered); c != 0 {
			return c
		}
		if c := strings.Compare(a.region, b.region); c != 0 {
			return c
		}
		return strings.Compare(a.rel, b.rel)
	})
	return d, nil
}

// Manifest is the directory's fleet.json.
func (d *Dir) Manifest() Manifest { return d.manifest }

// Objects is how many CloudTrail objects the directory holds.
func (d *Dir) Objects() int { return len(d.objects) }

// Each reads the labels, then every object in delivery order.
func (d *Dir) Each(fn func(*Delivery) error) error {
	labels, err := d.readLabels()
	if err != nil {
		return err
	}
	for i, o := range d.objects {
		raw, err := os.ReadFile(filepath.Join(d.Path, filepath.FromSlash(o.rel)))
		if err != nil {
			return fmt.Errorf("read fleet: %w", err)
		}
		del := &Delivery{Key: o.rel, Delivered: o.delivered, Raw: raw}
		if i == 0 {
			del.Labels = labels
		}
		if err := fn(del); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dir) readLabels() ([]LabeledEvent, error) {
	name := filepath.Join(d.Path, LabelsFile)
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read fleet: %w", err)
	}
	defer f.Close()
	var out []LabeledEvent
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		var l LabeledEvent
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if l.EventID == "" || (l.Kind != LabelAttack && l.Kind != LabelDrift) || l.ID == "" {
			return nil, fmt.Errorf("%s:%d: want eventID, label (attack or drift) and id", name, n)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}
