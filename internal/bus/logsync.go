package bus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// logSync makes what the embedded broker wrote to its log directory
// durable, for many waiters at once (group commit). A waiter asks for a
// round that starts after it asked; one round fsyncs every segment file
// that grew since the previous round, and releases every waiter that
// asked before it began. A produce request's answer waits for such a
// round (see gatedConn), so at high rates one fsync covers the requests
// of every connection and partition that arrived meanwhile.
//
// It relies on kfake's layout of a data directory: one directory per
// partition under partitions/, named url.PathEscape(topic)-partition,
// holding BASE.dat (record batches in the Kafka wire format, which kfake
// documents as its stable segment format) and BASE.idx (an index of
// them). Appends go to the segment with the highest BASE; when kfake
// moves on, the new segment's BASE is the offset after the last batch of
// the previous one, which a round reads from the batch headers, whatever
// segment size the topic has. Retention deletes whole segments. The tests
// in embedded_test.go fail if kfake changes this layout.
//
// Only segment files are synced, not their index files: each index entry
// carries its own checksum, and kfake reads a missing or damaged entry as
// "leader epoch 0, not transactional", which is what every batch written
// here is (one broker, no transactions of ours), so after a power loss
// the records are whole without their index.
type logSync struct {
	dir string // the broker's data directory
	// observe, if set, hears how long each round took and whether it failed.
	observe func(d time.Duration, err error)

	mu     sync.Mutex
	next   *syncRound // the round that starts next; nil until someone waits
	closed bool

	kick chan struct{} // capacity 1: a round is wanted
	stop chan struct{}
	done chan struct{}

	// parts is owned by the loop goroutine.
	parts map[string]*partFiles
}

type syncRound struct {
	done chan struct{}
	err  error
}

// partFiles are one partition's open segment files: the active one, and
// earlier ones until synced after kfake moved on from them.
type partFiles struct {
	dir    string
	active *syncedFile
	old    []*syncedFile
}

type syncedFile struct {
	f      *os.File
	base   int64
	synced int64 // size at the last successful fsync
	// parsed is how far the batch headers have been read; next is the
	// offset after the last whole batch read (the next segment's BASE).
	parsed int64
	next   int64
}

// errSyncClosed answers waiters once the broker is closing.
var errSyncClosed = errors.New("bus: embedded log is closing")

func newLogSync(dir string, observe func(time.Duration, error)) *logSync {
	s := &logSync{
		dir: dir, observe: observe, parts: map[string]*partFiles{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go s.loop()
	return s
}

// partitionDirName is kfake's directory name for a topic's partition.
func partitionDirName(topic string, partition int32) string {
	return url.PathEscape(topic) + "-" + strconv.Itoa(int(partition))
}

// wait returns once a round that started after the call has synced the
// log, or with that round's error.
func (s *logSync) wait() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errSyncClosed
	}
	r := s.next
	if r == nil {
		r = &syncRound{done: make(chan struct{})}
		s.next = r
	}
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
	<-r.done // the loop fails the rounds it does not run when it stops
	return r.err
}

func (s *logSync) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
}

func (s *logSync) loop() {
	defer close(s.done)
	defer func() {
		for _, p := range s.parts {
			p.closeAll()
		}
	}()
	for {
		stopping := false
		select {
		case <-s.stop:
			stopping = true
		case <-s.kick:
		}
		s.mu.Lock()
		r := s.next
		s.next = nil
		s.mu.Unlock()
		if r != nil {
			// When stopping, a last round: what was written before the
			// close is made durable for whoever still waits on it.
			start := time.Now()
			r.err = s.round()
			if s.observe != nil {
				s.observe(time.Since(start), r.err)
			}
			close(r.done)
		}
		if stopping {
			return
		}
	}
}

// round fsyncs every segment file that grew since the last round, and the
// directories of files that appeared.
func (s *logSync) round() error {
	if err := s.discover(); err != nil {
		return err
	}
	var todo []*syncedFile
	var sizes []int64
	var dirs []string
	for _, p := range s.parts {
		appeared, err := p.refresh()
		if err != nil {
			return err
		}
		if appeared {
			dirs = append(dirs, p.dir)
		}
		for _, f := range p.files() {
			fi, err := f.f.Stat()
			if err != nil {
				return fmt.Errorf("bus: embedded log: stat %s: %w", f.f.Name(), err)
			}
			if fi.Size() != f.synced {
				todo = append(todo, f)
				sizes = append(sizes, fi.Size())
			}
		}
	}
	// fsyncs of several files run together, so the file system can
	// commit them in one journal transaction.
	errs := make([]error, len(todo)+len(dirs))
	var wg sync.WaitGroup
	for i, f := range todo {
		wg.Go(func() {
			if err := f.f.Sync(); err != nil {
				errs[i] = fmt.Errorf("bus: embedded log: fsync %s: %w", f.f.Name(), err)
			}
		})
	}
	wg.Wait()
	for i, d := range dirs {
		errs[len(todo)+i] = syncDir(d)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for i, f := range todo {
		f.synced = sizes[i]
	}
	for _, p := range s.parts {
		p.dropOld()
	}
	return nil
}

// discover opens the partition directories that appeared since the last
// round (kfake makes one at the first write to a partition, before it
// answers), and fsyncs the directories holding their entries.
func (s *logSync) discover() error {
	root := filepath.Join(s.dir, "partitions")
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bus: embedded log: list %s: %w", root, err)
	}
	newDir := false
	for _, e := range entries {
		if _, known := s.parts[e.Name()]; known || !e.IsDir() {
			continue
		}
		s.parts[e.Name()] = &partFiles{dir: filepath.Join(root, e.Name())}
		newDir = true
	}
	if newDir {
		return errors.Join(syncDir(root), syncDir(s.dir))
	}
	return nil
}

// refresh follows kfake to the segment it appends to: at first sight and
// when the active segment was deleted, by listing the directory; else by
// reading the new batch headers of the active segment and looking for
// the segment that would follow it. It reports whether files appeared
// (whose directory entries need an fsync).
func (p *partFiles) refresh() (bool, error) {
	appeared := false
	if p.active != nil {
		fi, err := p.active.f.Stat()
		if err != nil {
			return false, fmt.Errorf("bus: embedded log: stat %s: %w", p.active.f.Name(), err)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink == 0 {
			// Deleted by retention: nothing more to sync in it.
			p.active.f.Close()
			p.active = nil
		}
	}
	if p.active == nil {
		entries, err := os.ReadDir(p.dir)
		if err != nil {
			return false, fmt.Errorf("bus: embedded log: list %s: %w", p.dir, err)
		}
		last := int64(-1)
		for _, e := range entries {
			if base, ok := segmentBase(e.Name()); ok && base > last {
				last = base
			}
		}
		if last < 0 {
			return false, nil
		}
		f, err := openSegment(p.dir, last)
		if err != nil || f == nil {
			return false, err
		}
		p.active, appeared = f, true
	}
	for {
		if err := p.active.readHeaders(); err != nil {
			return appeared, err
		}
		if p.active.next < 0 {
			return appeared, nil
		}
		f, err := openSegment(p.dir, p.active.next)
		if err != nil || f == nil {
			return appeared, err
		}
		// kfake moved on: the old segment gets its last fsync in this
		// round and is closed after it.
		p.old = append(p.old, p.active)
		p.active, appeared = f, true
	}
}

// openSegment opens BASE.dat in dir, or returns nil if there is none.
func openSegment(dir string, base int64) (*syncedFile, error) {
	f, err := os.Open(filepath.Join(dir, strconv.FormatInt(base, 10)+".dat"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bus: embedded log: %w", err)
	}
	return &syncedFile{f: f, base: base, next: -1}, nil
}

// batchHeader is the start of a Kafka record batch up to its last offset
// delta: base offset (8), length (4), leader epoch (4), magic (1), CRC
// (4), attributes (2), last offset delta (4), big-endian.
const batchHeader = 27

// readHeaders reads the headers of the whole batches appended since the
// last call, so next names the offset after the last of them.
func (f *syncedFile) readHeaders() error {
	fi, err := f.f.Stat()
	if err != nil {
		return fmt.Errorf("bus: embedded log: stat %s: %w", f.f.Name(), err)
	}
	var h [batchHeader]byte
	for f.parsed+batchHeader <= fi.Size() {
		if _, err := f.f.ReadAt(h[:], f.parsed); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("bus: embedded log: read %s: %w", f.f.Name(), err)
		}
		length := int64(binary.BigEndian.Uint32(h[8:12]))
		if length < batchHeader-12 || f.parsed+12+length > fi.Size() {
			return nil // a batch still being written
		}
		first := int64(binary.BigEndian.Uint64(h[0:8]))
		delta := int64(int32(binary.BigEndian.Uint32(h[23:27])))
		f.next = first + delta + 1
		f.parsed += 12 + length
	}
	return nil
}

// files are the partition's open segments.
func (p *partFiles) files() []*syncedFile {
	if p.active == nil {
		return p.old
	}
	return append(p.old[:len(p.old):len(p.old)], p.active)
}

// dropOld closes the segments kfake moved on from once they are synced.
func (p *partFiles) dropOld() {
	kept := p.old[:0]
	for _, f := range p.old {
		if fi, err := f.f.Stat(); err == nil && fi.Size() != f.synced {
			kept = append(kept, f)
			continue
		}
		f.f.Close()
	}
	p.old = kept
}

// closeAll closes the files; what they were synced to stays readable.
func (p *partFiles) closeAll() {
	for _, f := range p.files() {
		f.f.Close()
	}
}

// segmentBase parses BASE.dat.
func segmentBase(name string) (int64, bool) {
	stem, ok := strings.CutSuffix(name, ".dat")
	if !ok {
		return 0, false
	}
	base, err := strconv.ParseInt(stem, 10, 64)
	return base, err == nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("bus: embedded log: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("bus: embedded log: fsync directory %s: %w", dir, err)
	}
	return nil
}
