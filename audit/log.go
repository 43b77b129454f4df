package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ErrCorrupt means the log file is not a valid chain where the Log needs to extend it (its tail,
// or records another process appended): it refuses to append rather than continue a broken chain.
// `tenantctl audit verify` names the first bad record.
var ErrCorrupt = errors.New("audit log is damaged or was tampered with")

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("audit log is closed")

// Log is an append-only, hash-chained JSON Lines audit log file. Append is safe for concurrent use
// by goroutines and by processes appending to the same file: appends are serialized by a mutex
// and an exclusive flock, and each one first reads what other processes appended meanwhile.
type Log struct {
	path string
	cfg  logConfig

	mu     sync.Mutex
	f      *os.File
	head   Head
	offset int64 // bytes of the file read and checked; the next record starts here
	index  *eventIndex
	// first is the hash of record 1 (what checkpoints name the log by); lastSigned tells whether
	// the last record is signed, signedFrom is the first signed record's seq.
	first      string
	lastSigned bool
	signedFrom uint64
	// anchor is the checkpoint Open found; anchorSeen is the hash the log holds at its seq.
	anchor     *Checkpoint
	anchorSeen string
}

// Option configures Open.
type Option func(*logConfig)

type logConfig struct {
	fsync       bool
	indexSize   int
	redactor    *Redactor
	checkpoints []string
	key         *SigningKey
	trusted     Keyring
	now         func() time.Time
	secrets     []string
}

// WithoutFsync skips the fsync after each append: faster, but a machine crash may lose the last
// records (they are still chained, so the loss shows as a shorter log, detectable with a head
// anchor).
func WithoutFsync() Option { return func(c *logConfig) { c.fsync = false } }

// WithIndexSize sets how many recent event ids are remembered for idempotency (default
// DefaultIndexSize). Open reads that many records from the end of the file.
func WithIndexSize(n int) Option { return func(c *logConfig) { c.indexSize = max(n, 1) } }

// WithRedactor sets the redactor run on every event before it is encoded.
func WithRedactor(r *Redactor) Option { return func(c *logConfig) { c.redactor = r } }

// WithSecretValues registers values that must never be written; they are masked wherever they
// appear in an event.
func WithSecretValues(values ...string) Option {
	return func(c *logConfig) { c.secrets = append(c.secrets, values...) }
}

// WithHeadFile makes every append also write the new head to path: a signed Checkpoint with
// WithRecordSigningKey, else the unsigned {"seq":N,"hash":"…"}. Open checks the log against it and
// `tenantctl audit verify` requires it, so records dropped from the end are detected.
func WithHeadFile(path string) Option { return WithCheckpointFiles(path) }

// WithCheckpointFiles adds files that receive the checkpoint after every append, like the head
// file. Keep one where whoever can write the log cannot (beside the state backend, another
// volume): Open and Verify use the latest of them, so deleting or rolling back one copy is caught
// by the other.
func WithCheckpointFiles(paths ...string) Option {
	return func(c *logConfig) { c.checkpoints = append(c.checkpoints, paths...) }
}

// WithRecordSigningKey signs every appended record (format 2) and checkpoint with k. A log that holds
// signed records can only be extended with a key.
func WithRecordSigningKey(k *SigningKey) Option { return func(c *logConfig) { c.key = k } }

// WithTrustedKeys adds public keys that checkpoints found by Open may be signed with (the keys
// used before a rotation). The signing key's own public key is always trusted.
func WithTrustedKeys(keys Keyring) Option {
	return func(c *logConfig) {
		if c.trusted == nil {
			c.trusted = Keyring{}
		}
		for id, k := range keys {
			c.trusted[id] = k
		}
	}
}

// WithClock sets the clock that stamps events without a Time; Append calls it concurrently.
func WithClock(now func() time.Time) Option { return func(c *logConfig) { c.now = now } }

// HeadPath is the conventional head file beside a log.
func HeadPath(logPath string) string { return logPath + ".head" }

// Open opens or creates the log at path (mode 0600, directories 0700) and resumes its chain from
// the last record, checking the hashes and links of the records it reads from the tail. It does
// not verify the whole file; use Verify for that.
func Open(path string, opts ...Option) (*Log, error) {
	cfg := logConfig{fsync: true, indexSize: DefaultIndexSize, redactor: NewRedactor(), now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.redactor == nil {
		cfg.redactor = NewRedactor()
	}
	cfg.redactor.AddSecretValues(cfg.secrets...)
	if cfg.key != nil {
		cfg.trusted = NewKeyring(append([]PublicKey{cfg.key.Public()}, keyValues(cfg.trusted)...)...)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open audit log %s: %w", path, err)
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log %s: %w", path, err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		syncDir(dir) // make the new file's directory entry durable too
	}
	l := &Log{path: path, cfg: cfg, f: f, head: Head{Hash: GenesisHash}, index: newEventIndex(cfg.indexSize)}
	unlock, err := lockPath(context.Background(), path, false)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open audit log %s: %w", path, err)
	}
	err = l.openChain()
	unlock()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open audit log %s: %w", path, err)
	}
	return l, nil
}

// Path returns the log's file path.
func (l *Log) Path() string { return l.path }

// Head returns the last record this Log has seen (Seq 0 and GenesisHash for an empty log). Other
// processes may have appended since.
func (l *Log) Head() Head {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.head
}

// Redactor returns the log's redactor, to register secret values learned at run time.
func (l *Log) Redactor() *Redactor { return l.cfg.redactor }

// Close closes the file. Appends after Close fail with ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Append fills ev's defaults (EventID, Time, TraceID from ctx or fresh), validates and redacts it,
// and appends it as the next record. If a record with the same EventID is among the last
// WithIndexSize records, nothing is written and that record is returned. ctx bounds the wait for
// the file lock.
func (l *Log) Append(ctx context.Context, ev Event) (Record, error) {
	ev, err := l.prepare(ctx, ev)
	if err != nil {
		return Record{}, fmt.Errorf("audit append: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return Record{}, ErrClosed
	}
	unlock, err := lockPath(ctx, l.path, true)
	if errors.Is(err, os.ErrNotExist) {
		return Record{}, fmt.Errorf("%w: %s was removed while open", ErrCorrupt, l.path)
	}
	if err != nil {
		return Record{}, fmt.Errorf("audit append %s: %w", ev.Type, err)
	}
	defer unlock()
	if err := l.checkSameFile(); err != nil {
		return Record{}, err
	}
	if err := l.catchUp(); err != nil {
		return Record{}, fmt.Errorf("audit append %s to %s: %w", ev.Type, l.path, err)
	}
	if ref, ok := l.index.get(ev.EventID); ok {
		rec, err := l.readAt(ref)
		if err != nil {
			return Record{}, fmt.Errorf("audit append: read existing event %s: %w", ev.EventID, err)
		}
		return rec, nil
	}
	return l.write(ev)
}

func (l *Log) prepare(ctx context.Context, ev Event) (Event, error) {
	if ev.EventID == "" {
		ev.EventID = NewEventID()
	}
	if ev.Time.IsZero() {
		ev.Time = l.cfg.now()
	}
	ev.Time = ev.Time.UTC()
	if ev.TraceID == "" {
		if id, ok := TraceIDFromContext(ctx); ok {
			ev.TraceID = id
		} else {
			ev.TraceID = NewTraceID()
		}
	}
	ev = l.cfg.redactor.Event(ev)
	return ev, ev.Validate()
}

// write appends ev as the record after l.head. The caller holds the mutex and the file lock.
func (l *Log) write(ev Event) (Record, error) {
	if l.cfg.key == nil && l.lastSigned {
		return Record{}, fmt.Errorf("audit append %s: %w", ev.Type, ErrSigningKeyRequired)
	}
	rec := Record{Seq: l.head.Seq + 1, PrevHash: l.head.Hash, Event: ev}
	line, err := rec.seal(l.cfg.key)
	if err != nil {
		return Record{}, fmt.Errorf("audit append %s: %w", ev.Type, err)
	}
	if len(line) > MaxRecordBytes {
		return Record{}, fmt.Errorf("audit append %s: record is %d bytes, more than %d", ev.Type, len(line), MaxRecordBytes)
	}
	if l.cfg.redactor.Leaks(line) {
		return Record{}, fmt.Errorf("audit append %s: encoded record still contains a registered secret value; not written", ev.Type)
	}
	off := l.offset
	if n, err := l.f.Write(line); err != nil {
		if n > 0 { // never leave half a record: it would end the chain for every later reader
			_ = l.f.Truncate(off)
		}
		return Record{}, fmt.Errorf("audit append %s to %s: %w", ev.Type, l.path, err)
	}
	// The record is in the file now: account for it before anything else can fail, so a retry
	// with the same EventID finds it instead of appending it twice.
	l.offset += int64(len(line))
	l.head = Head{Seq: rec.Seq, Hash: rec.Hash}
	l.noteRecord(rec.Seq, rec.Hash, rec.Signed())
	l.index.add(rec.EventID, lineRef{off: off, n: len(line)})
	if l.cfg.fsync {
		if err := l.f.Sync(); err != nil {
			return Record{}, fmt.Errorf("audit append %s: fsync %s: %w", ev.Type, l.path, err)
		}
	}
	if err := l.writeCheckpoints(); err != nil {
		return Record{}, fmt.Errorf("audit append %s: %w", ev.Type, err)
	}
	return rec, nil
}

// noteRecord keeps what checkpoints say about the log as records are read or written.
func (l *Log) noteRecord(seq uint64, hash string, signed bool) {
	if seq == 1 {
		l.first = hash
	}
	l.lastSigned = signed
	if signed && l.signedFrom == 0 {
		l.signedFrom = seq
	}
	if l.anchor != nil && seq == l.anchor.Seq {
		l.anchorSeen = hash
	}
}

// writeCheckpoints writes the head to every checkpoint file, signed when the log has a key.
func (l *Log) writeCheckpoints() error {
	if len(l.cfg.checkpoints) == 0 {
		return nil
	}
	cp := Checkpoint{Seq: l.head.Seq, Hash: l.head.Hash}
	if l.cfg.key != nil {
		cp.Log, cp.SignedFrom, cp.Time = l.first, l.signedFrom, l.cfg.now().UTC()
		var err error
		if cp, err = signCheckpoint(l.cfg.key, cp); err != nil {
			return err
		}
	}
	for _, p := range l.cfg.checkpoints {
		if err := writeCheckpoint(p, cp, l.cfg.fsync); err != nil {
			return err
		}
	}
	return nil
}

// checkSameFile refuses to append through a descriptor whose path now names another file (the log
// was moved or replaced): those records would silently go to the old file.
func (l *Log) checkSameFile() error {
	onDisk, err := os.Stat(l.path)
	if err != nil {
		return fmt.Errorf("audit log %s: %w", l.path, err)
	}
	open, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("audit log %s: %w", l.path, err)
	}
	if !os.SameFile(onDisk, open) {
		return fmt.Errorf("%w: %s was replaced by another file while open", ErrCorrupt, l.path)
	}
	return nil
}

func (l *Log) readAt(ref lineRef) (Record, error) {
	buf := make([]byte, ref.n)
	if _, err := l.f.ReadAt(buf, ref.off); err != nil {
		return Record{}, err
	}
	rec, err := parseLine(buf[:len(buf)-1])
	if err != nil {
		return Record{}, fmt.Errorf("%w: record at byte %d: %v", ErrCorrupt, ref.off, err)
	}
	return rec, nil
}

// syncDir makes directory entries durable; best effort, as some filesystems refuse it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

func keyValues(r Keyring) []PublicKey {
	out := make([]PublicKey, 0, len(r))
	for _, id := range r.IDs() {
		out = append(out, r[id])
	}
	return out
}

// Keys are the public keys this log trusts: its signing key's and those of WithTrustedKeys. Pass
// them to Verify.
func (l *Log) Keys() Keyring { return NewKeyring(keyValues(l.cfg.trusted)...) }
