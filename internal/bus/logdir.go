package bus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// lockDir takes an exclusive lock on the log directory for as long as the
// returned file stays open: two brokers appending to one log would
// corrupt it (say `agentwatch ingest --file` on the data_dir of a running
// `agentwatch run`).
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("bus: embedded log: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("bus: embedded log %s is in use by another agentwatch process (pid %s); one process at a time per data_dir",
				dir, strings.TrimSpace(string(holder)))
		}
		return nil, fmt.Errorf("bus: embedded log: lock %s: %w", path, err)
	}
	// The pid only helps the message above; the lock is what counts.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// stateLogs are kfake's append-only logs of consumer-group state (offsets,
// membership) and producer ids.
var stateLogs = []string{"groups.log", "pids.log"}

// crc32c is the checksum kfake frames its state log entries with.
var crc32c = crc32.MakeTable(crc32.Castagnoli)

// repairStateLogs cuts a torn or corrupt tail off kfake's state logs
// before kfake loads them. kfake itself stops reading at such a tail but
// leaves it in place and appends after it, which would hide every later
// entry (every later offset commit) from the next start. Segment files
// need no help: kfake truncates a torn segment tail itself and logs how
// many bytes it cut.
func repairStateLogs(dir string, log *slog.Logger) error {
	for _, name := range stateLogs {
		path := filepath.Join(dir, name)
		raw, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("bus: embedded log: %w", err)
		}
		valid := validEntries(raw)
		if valid == len(raw) {
			continue
		}
		if err := os.Truncate(path, int64(valid)); err != nil {
			return fmt.Errorf("bus: embedded log: cut the torn tail of %s: %w", path, err)
		}
		if err := syncFile(path); err != nil {
			return err
		}
		log.Warn("embedded log: cut a torn write off the end of a state log (a crash in the middle of an append); the entries before it are kept",
			"file", path, "bytes_cut", len(raw)-valid, "bytes_kept", valid)
	}
	return nil
}

// validEntries returns how many leading bytes of raw are whole entries:
// [4 length][4 CRC-32C of the rest][2 version][data], little-endian, the
// length counting version and data.
func validEntries(raw []byte) int {
	pos := 0
	for pos+10 <= len(raw) {
		n := int(binary.LittleEndian.Uint32(raw[pos:]))
		if n < 2 || pos+8+n > len(raw) {
			break
		}
		body := raw[pos+8 : pos+8+n]
		if crc32.Checksum(body, crc32c) != binary.LittleEndian.Uint32(raw[pos+4:]) {
			break
		}
		pos += 8 + n
	}
	return pos
}

// syncFile fsyncs the file at path, if it exists.
func syncFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bus: embedded log: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("bus: embedded log: fsync %s: %w", path, err)
	}
	return nil
}

// refuseProduce answers a produce request with a retriable error for
// every partition, writing nothing: the client backs off and sends again.
func refuseProduce(pr *kmsg.ProduceRequest) kmsg.Response {
	resp := pr.ResponseKind().(*kmsg.ProduceResponse)
	for i := range pr.Topics {
		t := &pr.Topics[i]
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		for j := range t.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition = t.Partitions[j].Partition
			rp.ErrorCode = kerr.RequestTimedOut.Code
			rp.ErrorMessage = kmsg.StringPtr("agentwatch is behind by more than bus.embedded.max_backlog records; retry later")
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
