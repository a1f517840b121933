package ingest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

// DefaultExclude are the files a directory walk skips unless
// ingest.files.exclude says otherwise: CloudTrail's digest files sit
// beside its logs in the S3 layout and hold signatures, not records.
var DefaultExclude = []string{"**/CloudTrail-Digest/**"}

// walker finds the files that configured paths name. A path is a file
// (read as named), a directory (walked recursively) or a glob with "**"
// (walked from its literal leading directories). Files found by walking
// pass the include and exclude globs; hidden files and directories (".x")
// and the skipped paths (the collector's own state file) are never read.
type walker struct {
	include, exclude []string
	skip             map[string]bool // absolute paths
	// times caches what each file's name says about its time: the
	// collector sorts the same thousands of names every pass.
	times map[string]timeKey
}

type timeKey struct {
	t  time.Time
	ok bool
}

// walkResult is what one path named.
type walkResult struct {
	Path string
	// Files are the regular files found, in time order (see walker.sort).
	Files []string
	// Why says why a path named no file ("" when it named some).
	Why string
}

func newWalker(include, exclude []string, skip ...string) *walker {
	w := &walker{include: include, exclude: exclude, skip: map[string]bool{}, times: map[string]timeKey{}}
	for _, s := range skip {
		if s == "" {
			continue
		}
		if abs, err := filepath.Abs(s); err == nil {
			w.skip[abs] = true
		}
	}
	return w
}

// list walks every path and returns, per path, the files it names.
// Problems listing a directory below a path are returned as warnings: one
// unreadable folder must not stop the others from being read.
func (w *walker) list(paths []string) (res []walkResult, warnings []error) {
	for _, p := range paths {
		r := walkResult{Path: p}
		var files []string
		switch {
		case isGlob(p):
			base := globBase(p)
			pat := splitPath(filepath.ToSlash(filepath.Clean(p)))
			files, warnings = w.walkDir(base, warnings, func(full, rel string) bool {
				return matchSegments(pat, splitPath(filepath.ToSlash(full)))
			})
			if len(files) == 0 {
				r.Why = "no file matches the pattern"
				if _, err := os.Stat(base); err != nil {
					r.Why = fmt.Sprintf("no file matches the pattern (%s does not exist)", base)
				}
			}
		default:
			fi, err := os.Stat(p)
			switch {
			case err != nil && errors.Is(err, fs.ErrNotExist):
				r.Why = "does not exist"
			case err != nil:
				r.Why = err.Error()
			case fi.IsDir():
				files, warnings = w.walkDir(p, warnings, nil)
				if len(files) == 0 {
					r.Why = "directory holds no file to read"
					if len(w.include) > 0 || len(w.exclude) > 0 {
						r.Why += fmt.Sprintf(" (include %v, exclude %v)", w.include, w.exclude)
					}
				}
			case fi.Mode().IsRegular():
				files = []string{p}
			default:
				r.Why = "is not a regular file or directory"
			}
		}
		w.sort(files)
		r.Files = files
		res = append(res, r)
	}
	return res, warnings
}

// sort orders files by the time their names say they cover, ties and
// files of one time by path; files whose names say no time come last, by
// path (so app.log sorts before its rotated app.log.1, as the collector
// always read them). Delivered logs of several accounts, regions or
// services thus interleave in time, where a sort of the full paths would
// read one region's month before the next region's. Each name's time is
// read once; names not sorted in this call are forgotten.
func (w *walker) sort(files []string) {
	if len(w.times) > 2*len(files)+1024 {
		keep := make(map[string]timeKey, len(files))
		for _, f := range files {
			if k, ok := w.times[f]; ok {
				keep[f] = k
			}
		}
		w.times = keep
	}
	for _, f := range files {
		if _, ok := w.times[f]; !ok {
			t, ok := fileTime(f)
			w.times[f] = timeKey{t, ok}
		}
	}
	sortKeyed(files, w.times)
}

// walkDir lists the regular files under root that pass the filters (and
// match, when set), following symbolic links to files and directories but
// never into a directory it has already entered.
func (w *walker) walkDir(root string, warnings []error, match func(full, rel string) bool) ([]string, []error) {
	var out []string
	seen := map[string]bool{}
	absRoot := absPath(root) // once: filepath.Abs of a relative path asks for the working directory
	var walk func(dir, rel string)
	walk = func(dir, rel string) {
		if fi, err := os.Stat(dir); err == nil {
			k := fileKey(fi)
			if seen[k] {
				return // a link cycle
			}
			seen[k] = true
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			warnings = append(warnings, fmt.Errorf("list directory %s: %w", dir, err))
			return
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			full := filepath.Join(dir, name)
			r := name
			if rel != "" {
				r = rel + "/" + name
			}
			mode := e.Type()
			if mode&fs.ModeSymlink != 0 {
				fi, err := os.Stat(full)
				if err != nil {
					continue // a dangling link
				}
				mode = fi.Mode().Type()
			}
			switch {
			case mode.IsDir():
				walk(full, r)
			case mode.IsRegular():
				if (len(w.skip) > 0 && w.skip[filepath.Join(absRoot, r)]) || !w.wants(r) || (match != nil && !match(full, r)) {
					continue
				}
				out = append(out, full)
			}
		}
	}
	walk(root, "")
	return out, warnings
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// wants applies include and exclude to a path relative to the walked root.
func (w *walker) wants(rel string) bool {
	if len(w.include) > 0 && !matchAnyFile(w.include, rel) {
		return false
	}
	return !matchAnyFile(w.exclude, rel)
}

// matchAnyFile reports whether rel matches one of the patterns. A pattern
// without "/" is matched against the file name only, as in .gitignore.
func matchAnyFile(patterns []string, rel string) bool {
	segs := splitPath(rel)
	for _, p := range patterns {
		if !strings.Contains(p, "/") {
			if ok, _ := path.Match(p, segs[len(segs)-1]); ok {
				return true
			}
			continue
		}
		if matchSegments(splitPath(p), segs) {
			return true
		}
	}
	return false
}

func splitPath(p string) []string {
	return strings.Split(strings.Trim(p, "/"), "/")
}

// matchSegments matches a path, segment by segment, against a pattern
// whose segments are path.Match globs, except "**", which matches any
// number of segments (none included).
func matchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			if len(pat) == 1 {
				return true
			}
			for i := 0; i <= len(name); i++ {
				if matchSegments(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], name[0]); err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// checkFileGlob reports a malformed pattern of ingest.files.
func checkFileGlob(p string) error {
	for _, s := range splitPath(filepath.ToSlash(p)) {
		if s == "**" {
			continue
		}
		if strings.Contains(s, "**") {
			return fmt.Errorf("%q: \"**\" must be a whole path segment (as in a/**/b)", p)
		}
		if _, err := path.Match(s, ""); err != nil {
			return fmt.Errorf("%q: %w", p, err)
		}
	}
	return nil
}

func isGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

// globBase is the directory a glob path is walked from: its segments
// before the first one with a wildcard.
func globBase(p string) string {
	clean := filepath.ToSlash(filepath.Clean(p))
	segs := strings.Split(clean, "/")
	var lit []string
	for _, s := range segs {
		if isGlob(s) {
			break
		}
		lit = append(lit, s)
	}
	base := strings.Join(lit, "/")
	switch {
	case base == "" && strings.HasPrefix(clean, "/"):
		return "/"
	case base == "":
		return "."
	}
	return filepath.FromSlash(base)
}

// Time stamps in file names and folders, as the log deliveries write them.
var (
	// CloudTrail: 123456789012_CloudTrail_us-east-1_20230710T1145Z_x.json.gz
	// (digests add seconds: 20230710T114500Z).
	reCompactStamp = regexp.MustCompile(`(?:^|[^0-9])(\d{8})T(\d{4}(?:\d{2})?)Z`)
	// ISO-like date and time: 2026-11-26T12:00:00Z, 2026-11-26T1200Z,
	// Firehose's stream-1-2026-11-26-12-00-05-uuid.
	reISOStamp = regexp.MustCompile(`(?:^|[^0-9])(\d{4})-(\d{2})-(\d{2})[T_ -](\d{2})[:-]?(\d{2})(?:[:-]?(\d{2}))?`)
	reISODate  = regexp.MustCompile(`(?:^|[^0-9])(\d{4})-(\d{2})-(\d{2})(?:[^0-9]|$)`)
	// GCS export of Cloud Audit Logs: 14:00:00_14:59:59_S0.json, the date
	// in the folders above it.
	reClockName = regexp.MustCompile(`^(\d{2}):(\d{2}):(\d{2})_`)
	// Folders YYYY/MM/DD, optionally /HH (CloudTrail, GCS, Firehose).
	reDateDirs = regexp.MustCompile(`(?:^|/)(\d{4})/(\d{2})/(\d{2})(?:/(\d{2}))?(?:/|$)`)
)

// fileTime reads the time a log file's name says it covers: a date and
// time in the name, else the date of its YYYY/MM/DD folders with the time
// of day in the name or an HH folder, else a date in the name. ok is
// false when neither says anything.
func fileTime(p string) (t time.Time, ok bool) {
	p = filepath.ToSlash(p)
	dir, name := path.Split(p)
	if m := reCompactStamp.FindStringSubmatch(name); m != nil {
		hms := m[2]
		if len(hms) == 4 {
			hms += "00"
		}
		if t, err := time.Parse("20060102150405", m[1]+hms); err == nil {
			return t, true
		}
	}
	if m := reISOStamp.FindStringSubmatch(name); m != nil {
		if t, ok := mkTime(m[1], m[2], m[3], m[4], m[5], m[6]); ok {
			return t, true
		}
	}
	if all := reDateDirs.FindAllStringSubmatch(dir, -1); all != nil {
		d := all[len(all)-1] // the deepest date folders: year, month, day, hour
		if day, ok := mkTime(d[1], d[2], d[3], "", "", ""); ok {
			if m := reClockName.FindStringSubmatch(name); m != nil {
				if t, ok := mkTime(d[1], d[2], d[3], m[1], m[2], m[3]); ok {
					return t, true
				}
			}
			if d[4] != "" {
				if t, ok := mkTime(d[1], d[2], d[3], d[4], "", ""); ok {
					return t, true
				}
			}
			return day, true
		}
	}
	if m := reISODate.FindStringSubmatch(name); m != nil {
		return mkTime(m[1], m[2], m[3], "", "", "")
	}
	return time.Time{}, false
}

// mkTime builds a UTC time from decimal fields ("" = 0), rejecting
// impossible ones (month 13, 25 o'clock) rather than normalising them.
func mkTime(y, mo, d, h, mi, s string) (time.Time, bool) {
	var v [6]int
	for i, f := range [6]string{y, mo, d, h, mi, s} {
		for _, c := range f {
			v[i] = v[i]*10 + int(c-'0')
		}
	}
	t := time.Date(v[0], time.Month(v[1]), v[2], v[3], v[4], v[5], 0, time.UTC)
	if t.Year() != v[0] || int(t.Month()) != v[1] || t.Day() != v[2] || t.Hour() != v[3] || t.Minute() != v[4] || t.Second() != v[5] {
		return time.Time{}, false
	}
	return t, true
}

func sortKeyed(files []string, keys map[string]timeKey) {
	type item struct {
		timeKey
		path string
	}
	items := make([]item, len(files))
	for i, f := range files {
		items[i] = item{keys[f], f}
	}
	sort.Slice(items, func(i, j int) bool {
		a, b := &items[i], &items[j]
		switch {
		case a.ok != b.ok:
			return a.ok
		case a.ok && !a.t.Equal(b.t):
			return a.t.Before(b.t)
		}
		return a.path < b.path
	})
	for i := range items {
		files[i] = items[i].path
	}
}

// deliveredWhole reports whether a plain file is a delivery object written
// once and complete (a CloudTrail log file), which is read whole like a
// .gz file rather than followed line by line: such a file is one JSON
// document, possibly longer than any line a tailer reads.
func deliveredWhole(p string) bool {
	name := filepath.Base(p)
	return strings.HasSuffix(name, ".json") && strings.Contains(name, "_CloudTrail_")
}

// fileKey identifies a file across renames: device and inode.
func fileKey(fi os.FileInfo) string {
	if s, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d", s.Dev, s.Ino)
	}
	return "path:" + fi.Name()
}
