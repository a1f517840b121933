package layout

import (
	"bufio"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

const module = "github.com/agentwatch/agentwatch"

// floorLine is one line of the picture: "floor N  pkg[, pkg...]  what it is".
// Package names and the description are separated by two or more spaces.
var floorLine = regexp.MustCompile(`^floor (\d+)\s+(\S+(?:, \S+)*)(?:\s{2,}.*)?$`)

// floors maps a package path (relative to the module root) to its floor;
// a package stands on the floor of the longest listed path that contains it.
type floors map[string]int

func parseFloors(doc string) (floors, error) {
	f := floors{}
	sc := bufio.NewScanner(strings.NewReader(doc))
	for n := 1; sc.Scan(); n++ {
		m := floorLine.FindStringSubmatch(strings.TrimRight(sc.Text(), " "))
		if m == nil {
			continue
		}
		level, _ := strconv.Atoi(m[1])
		for _, p := range strings.Split(m[2], ", ") {
			if prev, ok := f[p]; ok {
				return nil, fmt.Errorf("ARCHITECTURE.md line %d: %s is already on floor %d", n, p, prev)
			}
			f[p] = level
		}
	}
	if len(f) == 0 {
		return nil, fmt.Errorf("ARCHITECTURE.md has no floor lines")
	}
	return f, nil
}

// of returns the floor of a package directory, or false if none holds it.
func (f floors) of(dir string) (int, bool) {
	for p := dir; p != "." && p != ""; p = path.Dir(p) {
		if level, ok := f[p]; ok {
			return level, true
		}
	}
	return 0, false
}

// check reads every Go file under root (test files too, since a test that
// imports upward ties the floors together as much as code does) and
// returns one line per import that points up or package on no floor.
func check(root fs.FS, f floors) ([]string, error) {
	var problems []string
	seen := map[string]bool{}
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules") {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		src, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		file, err := parser.ParseFile(token.NewFileSet(), p, src, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := path.Dir(p)
		from, ok := f.of(dir)
		if !ok {
			if !seen[dir] {
				seen[dir] = true
				problems = append(problems, fmt.Sprintf("%s: package stands on no floor; add it to the floor picture in ARCHITECTURE.md", dir))
			}
			return nil
		}
		for _, imp := range file.Imports {
			target, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(target, module+"/") {
				continue
			}
			rel := strings.TrimPrefix(target, module+"/")
			to, ok := f.of(rel)
			if !ok {
				continue // reported when that package's own files are read
			}
			if to > from {
				problems = append(problems, fmt.Sprintf("%s imports %s: floor %d reaches up to floor %d", p, rel, from, to))
			}
		}
		return nil
	})
	sort.Strings(problems)
	return problems, err
}

func TestImportsPointDownTheFloors(t *testing.T) {
	doc, err := os.ReadFile("../../ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parseFloors(string(doc))
	if err != nil {
		t.Fatal(err)
	}
	problems, err := check(os.DirFS("../.."), f)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// The checker itself must catch an upward import and an unplaced package,
// or the test above would pass on any tree.
func TestCheckCatchesUpwardImportsAndUnplacedPackages(t *testing.T) {
	f, err := parseFloors("```\nfloor 2  top  the top\nfloor 1  mid, mid2  the middle\nfloor 0  low\n```\n")
	if err != nil {
		t.Fatal(err)
	}
	tree := fstest.MapFS{
		"top/a.go":          {Data: []byte("package top\nimport _ \"" + module + "/mid\"\n")},
		"mid/b.go":          {Data: []byte("package mid\nimport _ \"" + module + "/low\"\n")},
		"mid/b_test.go":     {Data: []byte("package mid\nimport _ \"" + module + "/top\"\n")},
		"mid2/sub/c.go":     {Data: []byte("package sub\nimport _ \"" + module + "/mid\"\n")},
		"low/d.go":          {Data: []byte("package low\nimport \"fmt\"\n")},
		"stray/e.go":        {Data: []byte("package stray\n")},
		"low/testdata/x.go": {Data: []byte("package x\nimport _ \"" + module + "/top\"\n")},
	}
	got, err := check(tree, f)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"mid/b_test.go imports top: floor 1 reaches up to floor 2",
		"stray: package stands on no floor; add it to the floor picture in ARCHITECTURE.md",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("check found:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseFloorsRejectsAPackageOnTwoFloors(t *testing.T) {
	if _, err := parseFloors("floor 1  a\nfloor 0  a\n"); err == nil || !strings.Contains(err.Error(), "already on floor 1") {
		t.Fatalf("err = %v, want a package-on-two-floors error", err)
	}
}
