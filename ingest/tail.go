package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Tailer follows files and directories: it reads appended lines, follows
// rotation (a renamed file is recognised by its inode and read on from
// where it was; a truncated file is read from the start), loads .gz files
// once, and remembers offsets in cfg.StateFile across restarts. Tailed
// files are NDJSON: one record per line.
type Tailer struct {
	cfg   FileConfig
	n     *Normalizer
	sink  Sink
	log   *slog.Logger
	state map[string]*fileState // key: device:inode
	saved string                // the state last written, to skip identical writes
}

type fileState struct {
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
	Line   int    `json:"line"`
	Done   bool   `json:"done,omitempty"` // a .gz file, loaded whole
}

// NewTailer checks the configuration and loads the saved offsets.
func NewTailer(cfg FileConfig, n *Normalizer, sink Sink, log *slog.Logger) (*Tailer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Paths) == 0 {
		return nil, errors.New("ingest.files.paths: nothing to tail")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tailer{cfg: cfg, n: n, sink: sink, log: log, state: map[string]*fileState{}}
	data, err := os.ReadFile(cfg.StateFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("ingest.files.state_file: %w", err)
	default:
		if err := json.Unmarshal(data, &t.state); err != nil {
			return nil, fmt.Errorf("ingest.files.state_file: %s: %w", cfg.StateFile, err)
		}
	}
	return t, nil
}

// Run polls until ctx is done. It returns nil on cancellation, or the
// error that stopped it (the sink failing with something other than
// backpressure, the state file not being writable).
func (t *Tailer) Run(ctx context.Context) error {
	tick := time.NewTicker(t.cfg.PollInterval)
	defer tick.Stop()
	for {
		if err := t.Poll(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Poll does one pass over the configured paths.
func (t *Tailer) Poll(ctx context.Context) error {
	seen := map[string]bool{}
	for _, p := range t.files() {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		key := fileKey(fi)
		seen[key] = true
		st := t.state[key]
		if st == nil {
			st = &fileState{}
			t.state[key] = st
		}
		st.Path = p
		if err := t.readFile(ctx, p, fi, st); err != nil {
			return err
		}
	}
	for k := range t.state {
		if !seen[k] {
			delete(t.state, k) // deleted, or rotated out of the watched paths
		}
	}
	return t.save()
}

func (t *Tailer) files() []string {
	var out []string
	stateAbs, _ := filepath.Abs(t.cfg.StateFile)
	for _, p := range t.cfg.Paths {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			t.log.Warn("tail: cannot list directory", "path", p, "err", err)
			continue
		}
		for _, e := range entries {
			name := filepath.Join(p, e.Name())
			if abs, _ := filepath.Abs(name); abs == stateAbs || strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
				continue
			}
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func fileKey(fi os.FileInfo) string {
	if s, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d", s.Dev, s.Ino)
	}
	return "path:" + fi.Name()
}

func (t *Tailer) readFile(ctx context.Context, path string, fi os.FileInfo, st *fileState) error {
	if strings.HasSuffix(path, ".gz") {
		if st.Done {
			return nil
		}
		if _, err := loadPath(ctx, path, t.cfg.Format, t.n, t.sink); err != nil {
			return err
		}
		st.Done, st.Offset = true, fi.Size()
		return t.save()
	}
	if fi.Size() < st.Offset {
		t.log.Info("tail: file shrank, reading from the start", "path", path)
		st.Offset, st.Line = 0, 0
	}
	if fi.Size() == st.Offset {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		t.log.Warn("tail: cannot open", "path", path, "err", err)
		return nil
	}
	defer f.Close()
	max := t.n.cfg.MaxRecordBytes
	buf := make([]byte, 256<<10)
	for {
		if _, err := f.Seek(st.Offset, io.SeekStart); err != nil {
			return fmt.Errorf("tail %s: seek: %w", path, err)
		}
		nr, err := io.ReadFull(f, buf)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return fmt.Errorf("tail %s: read: %w", path, err)
		}
		data := buf[:nr]
		last := bytes.LastIndexByte(data, '\n')
		if last < 0 {
			if nr < len(buf) {
				return nil // a partial last line: wait for the rest
			}
			// A line longer than the buffer: dead-letter its start and skip it.
			if err := t.skipLongLine(ctx, f, path, st, max); err != nil {
				return err
			}
			continue
		}
		b := &batcher{ctx: ctx, n: t.n, sink: t.sink, source: "file:" + path, format: t.cfg.Format}
		for _, line := range bytes.Split(data[:last], []byte{'\n'}) {
			st.Line++
			if l := bytes.TrimSpace(line); len(l) > 0 {
				if err := b.add(l, st.Line); err != nil {
					return err
				}
			}
		}
		if err := b.flush(); err != nil {
			return err
		}
		st.Offset += int64(last + 1)
		if err := t.save(); err != nil {
			return err
		}
		if nr < len(buf) {
			return nil
		}
	}
}

func (t *Tailer) skipLongLine(ctx context.Context, f *os.File, path string, st *fileState, max int) error {
	if _, err := f.Seek(st.Offset, io.SeekStart); err != nil {
		return fmt.Errorf("tail %s: seek: %w", path, err)
	}
	head := make([]byte, min(max+1, 1<<20))
	nh, _ := io.ReadFull(f, head)
	skip := int64(0)
	chunk := make([]byte, 64<<10)
	if _, err := f.Seek(st.Offset, io.SeekStart); err != nil {
		return fmt.Errorf("tail %s: seek: %w", path, err)
	}
	for {
		nr, err := f.Read(chunk)
		if i := bytes.IndexByte(chunk[:nr], '\n'); i >= 0 {
			skip += int64(i + 1)
			break
		}
		skip += int64(nr)
		if err != nil {
			return nil // the line is not finished yet
		}
	}
	st.Line++
	d := t.n.deadLetter(Record{Source: "file:" + path, Line: st.Line, Format: t.cfg.Format}, head[:nh], formatOr(t.cfg.Format), ReasonTooLarge,
		fmt.Sprintf("line is %d bytes, more than ingest.max_record_bytes %d (raw cut to its start)", skip-1, max))
	if err := publishRetry(ctx, t.sink, nil, []DeadLetter{d}); err != nil {
		return fmt.Errorf("tail %s: %w", path, err)
	}
	st.Offset += skip
	return t.save()
}

// save writes the offsets atomically (temp file, then rename), so a crash
// leaves either the old or the new state, never half of one.
func (t *Tailer) save() error {
	data, err := json.MarshalIndent(t.state, "", "  ")
	if err != nil {
		return fmt.Errorf("tail: encode state: %w", err)
	}
	if string(data) == t.saved {
		return nil // polls that read nothing do not touch the disk
	}
	tmp := t.cfg.StateFile + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("tail: write state: %w", err)
	}
	if err := os.Rename(tmp, t.cfg.StateFile); err != nil {
		return fmt.Errorf("tail: write state: %w", err)
	}
	t.saved = string(data)
	return nil
}
