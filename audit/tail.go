package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrSigningKeyRequired: the log holds signed records, so appending unsigned ones would look like
// (and be reported as) a downgrade by someone without the key.
var ErrSigningKeyRequired = errors.New("the audit log holds signed records: appending needs the signing key")

// openChain resumes the chain on Open and checks it against the latest checkpoint: a log that
// lost records since the checkpoint, was emptied or replaced, or whose anchored record changed is
// refused (ErrCorrupt), so a restarted process never extends a log that was cut.
func (l *Log) openChain() error {
	if len(l.cfg.checkpoints) > 0 {
		cp, _, found, err := LatestCheckpoint(l.cfg.trusted, l.cfg.checkpoints...)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if found {
			l.anchor = &cp
			if cp.Signed() {
				l.signedFrom = cp.SignedFrom
			}
		}
	}
	if err := l.readFirst(); err != nil {
		return err
	}
	if err := l.catchUp(); err != nil {
		return err
	}
	return l.checkAnchor()
}

// readFirst learns the hash of record 1, which checkpoints name the log by.
func (l *Log) readFirst() error {
	sc := newLineScanner(io.NewSectionReader(l.f, 0, MaxRecordBytes+1), MaxRecordBytes)
	if !sc.Scan() || !sc.complete || sc.tooLong {
		return sc.Err()
	}
	if rec, err := parseChainLinks(sc.line); err == nil && rec.Seq == 1 {
		l.first = rec.Hash
	}
	return nil
}

func (l *Log) checkAnchor() error {
	a := l.anchor
	if a == nil {
		if l.lastSigned && len(l.cfg.checkpoints) > 0 {
			return fmt.Errorf("%w: the log holds signed records but none of its checkpoint files exists (%v): the anchor was deleted",
				ErrCorrupt, l.cfg.checkpoints)
		}
		return nil
	}
	switch {
	case l.head.Seq == 0:
		return fmt.Errorf("%w: the log is empty but its checkpoint records seq %d: the log was emptied or replaced", ErrCorrupt, a.Seq)
	case l.head.Seq < a.Seq:
		return fmt.Errorf("%w: the log ends at seq %d but its checkpoint records seq %d: %s removed from the end",
			ErrCorrupt, l.head.Seq, a.Seq, seqRange(l.head.Seq+1, a.Seq))
	case a.Signed() && l.first != "" && a.Log != l.first:
		return fmt.Errorf("%w: record 1 is not the one the checkpoint names: the log was replaced", ErrCorrupt)
	case l.anchorSeen != "" && l.anchorSeen != a.Hash:
		return fmt.Errorf("%w: record seq %d is not the one the checkpoint records: it was rewritten", ErrCorrupt, a.Seq)
	}
	return nil
}

// seqRange names the records from..to for messages.
func seqRange(from, to uint64) string {
	if from == to {
		return fmt.Sprintf("record seq %d was", from)
	}
	return fmt.Sprintf("records seq %d..%d were", from, to)
}

// reloadThreshold: when others appended more than this since the Log last looked, it reads just the
// index window at the end instead of every new record (a long-running engine beside busy CLIs).
const reloadThreshold = 4 << 20

// catchUp brings head, offset and index up to date with the file: on Open it reads the last
// indexSize records; later it reads what other processes appended since. The caller holds a file
// lock, so no record is half-written while it reads.
func (l *Log) catchUp() error {
	fi, err := l.f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	switch {
	case size < l.offset:
		return fmt.Errorf("%w: file shrank from %d to %d bytes", ErrCorrupt, l.offset, size)
	case size == l.offset:
		return nil
	}
	if err := checkTerminated(l.f, size); err != nil {
		return err
	}
	start, link := l.offset, &Head{Seq: l.head.Seq, Hash: l.head.Hash}
	if l.offset == 0 || size-l.offset > reloadThreshold {
		windowStart, err := tailStart(l.f, size, l.cfg.indexSize)
		if err != nil {
			return err
		}
		if windowStart > l.offset {
			start, link = windowStart, nil // the window's first record cannot be linked: Verify's job
		}
	}
	if start == 0 {
		link = &Head{Hash: GenesisHash}
	}
	return l.load(start, size, link)
}

// load reads the records in [start, end): it checks that each follows the one before (while link
// is known) and the full hash of the last one, the record the next append chains to. Hashing
// every record of the window would make each Open cost as much as verifying it; that is Verify's
// job.
func (l *Log) load(start, end int64, link *Head) error {
	sc := newLineScanner(io.NewSectionReader(l.f, start, end-start), MaxRecordBytes)
	sc.next = start
	for sc.Scan() {
		if sc.tooLong {
			return fmt.Errorf("%w: line at byte %d is longer than %d bytes", ErrCorrupt, sc.off, MaxRecordBytes)
		}
		parse := parseChainLinks
		if sc.off+int64(sc.size) == end {
			parse = parseLine
		}
		rec, err := parse(sc.line)
		if errors.Is(err, errHashMismatch) {
			return fmt.Errorf("%w: record at byte %d (seq %d) was edited: %v", ErrCorrupt, sc.off, rec.Seq, err)
		}
		if err != nil {
			return fmt.Errorf("%w: line at byte %d is not a valid record: %v", ErrCorrupt, sc.off, err)
		}
		if link != nil && (rec.Seq != link.Seq+1 || rec.PrevHash != link.Hash) {
			return fmt.Errorf("%w: record at byte %d (seq %d) does not follow seq %d", ErrCorrupt, sc.off, rec.Seq, link.Seq)
		}
		link = &Head{Seq: rec.Seq, Hash: rec.Hash}
		l.noteRecord(rec.Seq, rec.Hash, rec.Signed())
		l.index.add(rec.EventID, lineRef{off: sc.off, n: sc.size})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	if link != nil {
		l.head = *link
	}
	l.offset = end
	return nil
}

// checkTerminated refuses a file whose last record has no newline: a crash mid-write or a cut
// file. Appending after it would glue two records into one malformed line.
func checkTerminated(r io.ReaderAt, size int64) error {
	var last [1]byte
	if _, err := r.ReadAt(last[:], size-1); err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	if last[0] != '\n' {
		return fmt.Errorf("%w: the last record is incomplete (no trailing newline); "+
			"run `tenantctl audit verify` and repair the file by hand", ErrCorrupt)
	}
	return nil
}

// tailStart returns the offset of the first of the last n lines of a newline-terminated file.
func tailStart(r io.ReaderAt, size int64, n int) (int64, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	newlines := 0
	for pos := size; pos > 0; {
		length := min(int64(chunk), pos)
		pos -= length
		if _, err := r.ReadAt(buf[:length], pos); err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("read audit log: %w", err)
		}
		for i := length - 1; i >= 0; i-- {
			if buf[i] != '\n' {
				continue
			}
			// The file's final newline ends the last line; the (n+1)-th one ends the line before
			// the window.
			if newlines++; newlines == n+1 {
				return pos + i + 1, nil
			}
		}
	}
	return 0, nil
}

// parseChainLinks decodes just what the chain and the idempotency index need from a line.
func parseChainLinks(line []byte) (Record, error) {
	var links struct {
		V        int    `json:"v"`
		Seq      uint64 `json:"seq"`
		PrevHash string `json:"prevHash"`
		Hash     string `json:"hash"`
		EventID  string `json:"eventId"`
	}
	if err := json.Unmarshal(line, &links); err != nil {
		return Record{}, fmt.Errorf("not an audit record: %w", err)
	}
	rec := Record{V: links.V, Seq: links.Seq, PrevHash: links.PrevHash, Hash: links.Hash, Event: Event{EventID: links.EventID}}
	if rec.Seq == 0 || !isHash(rec.Hash) || !isHash(rec.PrevHash) || rec.EventID == "" {
		return rec, fmt.Errorf("missing seq, hash, prevHash or eventId")
	}
	return rec, nil
}
