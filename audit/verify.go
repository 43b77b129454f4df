package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Problem classifies the first bad record Verify finds.
type Problem string

const (
	// ProblemMalformed: the line is not a complete audit record (truncated, not JSON, missing
	// members, over-long).
	ProblemMalformed Problem = "malformed"
	// ProblemEdited: the record's content does not match its hash, or the chain was re-hashed
	// after an edit so the next record no longer links to it, or it differs from the anchor.
	ProblemEdited Problem = "edited"
	// ProblemDropped: records are missing (a gap in seq, or the log ends before the anchor).
	ProblemDropped Problem = "dropped"
	// ProblemReordered: seq goes backwards, or a record that looks missing appears later.
	ProblemReordered Problem = "reordered"
	// ProblemUnsigned: a record that must be signed (after a signed one, or from the checkpoint's
	// signedFrom on) is not, or is signed by a key that is not trusted.
	ProblemUnsigned Problem = "unsigned"
	// ProblemForged: a signature does not verify: the record was edited and re-hashed, or
	// re-numbered and re-chained after records before it were removed.
	ProblemForged Problem = "forged"
	// ProblemAnchor: the checkpoint itself is not authentic or names another log.
	ProblemAnchor Problem = "anchor"
)

// BadRecord names the first record that breaks the chain.
type BadRecord struct {
	// Line is the 1-based line of the bad record; for records dropped from the end it is the line
	// the first missing record would have had.
	Line    int     `json:"line"`
	Seq     uint64  `json:"seq,omitempty"`
	EventID string  `json:"eventId,omitempty"`
	Problem Problem `json:"problem"`
	Detail  string  `json:"detail"`
}

func (b BadRecord) String() string {
	var id []string
	if b.Seq > 0 {
		id = append(id, fmt.Sprintf("seq %d", b.Seq))
	}
	if b.EventID != "" {
		id = append(id, "event "+b.EventID)
	}
	where := fmt.Sprintf("line %d", b.Line)
	if len(id) > 0 {
		where += " (" + strings.Join(id, ", ") + ")"
	}
	return fmt.Sprintf("%s: %s: %s", where, b.Problem, b.Detail)
}

// VerifyResult is the outcome of Verify.
type VerifyResult struct {
	OK bool `json:"ok"`
	// Records counts the good records before the first bad one (all of them when OK).
	Records int `json:"records"`
	// Head is the last good record; anchor it to detect later truncation.
	Head     Head       `json:"head"`
	FirstBad *BadRecord `json:"firstBad,omitempty"`
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// ExpectHead is an anchor taken earlier (a head file, a record a sink forwarded). A chain
	// alone cannot show that records were cut from its end; with an anchor the log must still hold
	// that record: with Seq set, the record with that seq must have Hash; with Seq 0, some record
	// must have Hash. Records appended after the anchor are fine.
	ExpectHead *Head
	// Checkpoint is a signed anchor (see Checkpoint): its signature must verify with Keys, the
	// log must be the one it names and hold its head, and every record from its SignedFrom on must
	// be signed. It replaces ExpectHead.
	Checkpoint *Checkpoint
	// Keys are the trusted public keys: every signed record's signature must verify with the key
	// it names. Without keys a signed record cannot be trusted and is reported.
	Keys Keyring
}

// maxLookahead bounds how many missing seqs Verify looks for further on, to tell a reorder from a
// drop.
const maxLookahead = 1 << 16

// Verify checks a whole log: each record's hash, seq continuity from 1 and the prevHash chain.
// The error is only for failing to read r; a broken chain is reported in the result.
func Verify(r io.Reader) (VerifyResult, error) { return VerifyWith(r, VerifyOptions{}) }

// VerifyWith is Verify with options.
func VerifyWith(r io.Reader, opts VerifyOptions) (VerifyResult, error) {
	v := verifier{sc: newLineScanner(r, MaxRecordBytes), opts: opts, prev: Head{Hash: GenesisHash}}
	if cp := opts.Checkpoint; cp != nil {
		h := cp.Head()
		v.opts.ExpectHead = &h
		if cp.Signed() {
			if err := cp.VerifySignature(opts.Keys); err != nil {
				v.fail(0, Record{}, ProblemAnchor, "the checkpoint is not authentic: %v", err)
			}
		}
	}
	for v.res.FirstBad == nil && v.sc.Scan() {
		v.check()
	}
	if err := v.sc.Err(); err != nil {
		return v.res, fmt.Errorf("read audit log: %w", err)
	}
	if v.res.FirstBad == nil {
		v.checkAnchorSeen()
	}
	v.res.Head = v.prev
	v.res.OK = v.res.FirstBad == nil
	return v.res, nil
}

// VerifyFile verifies the log at path as it is now: it waits for any append in progress (a shared
// lock) and checks the bytes present at that moment, so records appended meanwhile are not
// mistaken for a truncated line.
func VerifyFile(ctx context.Context, path string, opts VerifyOptions) (VerifyResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return VerifyResult{}, fmt.Errorf("verify audit log: %w", err)
	}
	defer f.Close()
	size, err := stableSize(ctx, path, f)
	if err != nil {
		return VerifyResult{}, fmt.Errorf("verify audit log %s: %w", path, err)
	}
	res, err := VerifyWith(io.LimitReader(f, size), opts)
	if err != nil {
		return res, fmt.Errorf("verify audit log %s: %w", path, err)
	}
	return res, nil
}

// stableSize returns the size of f, open on path, while no append is in progress.
func stableSize(ctx context.Context, path string, f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("not a regular file")
	}
	unlock, err := lockPath(ctx, path, false)
	if err != nil {
		return 0, err
	}
	defer unlock()
	if fi, err = f.Stat(); err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

type verifier struct {
	sc   *lineScanner
	opts VerifyOptions
	res  VerifyResult

	prev        Head
	prevLine    int
	prevEventID string
	beforePrev  Head // the head before prev, in case prev turns out to be the bad one
	anchorSeen  bool
	// lastSignedLine is the line of the last signed record (0: none yet).
	lastSignedLine int
	lastSignedSeq  uint64
}

func (v *verifier) fail(line int, rec Record, p Problem, format string, args ...any) {
	v.res.FirstBad = &BadRecord{Line: line, Seq: rec.Seq, EventID: rec.EventID, Problem: p, Detail: fmt.Sprintf(format, args...)}
}

func (v *verifier) check() {
	line := v.sc.number
	if v.sc.tooLong {
		v.fail(line, Record{}, ProblemMalformed, "line is longer than %d bytes", MaxRecordBytes)
		return
	}
	rec, err := parseLine(v.sc.line)
	switch {
	case !v.sc.complete:
		v.fail(line, rec, ProblemMalformed, "truncated: the last line has no trailing newline")
		return
	case errors.Is(err, errHashMismatch):
		v.fail(line, rec, ProblemEdited, "content does not match the record's hash")
		return
	case err != nil:
		v.fail(line, rec, ProblemMalformed, "%v", err)
		return
	}
	want := v.prev.Seq + 1
	switch {
	case rec.Seq < want && rec.Seq == v.prev.Seq && rec.Hash == v.prev.Hash:
		v.fail(line, rec, ProblemReordered, "repeats the record on line %d", v.prevLine)
		return
	case rec.Seq < want:
		v.fail(line, rec, ProblemReordered, "seq %d follows seq %d (line %d): the sequence goes backwards", rec.Seq, v.prev.Seq, v.prevLine)
		return
	case rec.Seq > want:
		v.gap(line, rec, want)
		return
	}
	if !v.checkSignature(line, rec) {
		return
	}
	switch {
	case rec.PrevHash != v.prev.Hash && v.prevLine == 0:
		v.fail(line, rec, ProblemEdited, "the first record does not start a chain (prevHash is not the genesis hash)")
		return
	case rec.PrevHash != v.prev.Hash && rec.Signed() && v.lastSignedLine < v.prevLine:
		// A signed record vouches for its prevHash: the unsigned records since the last signed
		// one no longer hash to what was signed.
		from := v.lastSignedLine + 1
		v.fail(from, Record{Seq: v.lastSignedSeq + 1}, ProblemEdited,
			"unsigned records on lines %d..%d (seq %d..%d) were altered: the signed record on line %d links to a different hash",
			from, v.prevLine, v.lastSignedSeq+1, v.prev.Seq, line)
		v.res.Records = from - 1
		return
	case rec.PrevHash != v.prev.Hash:
		// Both records hash correctly, so the previous one was edited and re-hashed (or this one
		// forged): the previous record is the first one that is no longer what was written.
		v.fail(v.prevLine, Record{Seq: v.prev.Seq, Event: Event{EventID: v.prevEventID}}, ProblemEdited,
			"its hash was recomputed after an edit: the next record (line %d, seq %d) links to a different hash", line, rec.Seq)
		v.prev, v.prevLine = v.beforePrev, v.prevLine-1
		v.res.Records--
		return
	}
	if a := v.opts.ExpectHead; a != nil {
		switch {
		case a.Seq == rec.Seq && a.Hash != rec.Hash:
			v.fail(line, rec, ProblemEdited, "hash differs from the expected head %s: this record or an earlier one was rewritten and re-chained", a)
			return
		case a.Hash == rec.Hash && (a.Seq == 0 || a.Seq == rec.Seq):
			v.anchorSeen = true
		}
	}
	v.beforePrev = v.prev
	v.prev, v.prevLine, v.prevEventID = Head{Seq: rec.Seq, Hash: rec.Hash}, line, rec.EventID
	if rec.Seq == 1 && v.opts.Checkpoint != nil && v.opts.Checkpoint.Signed() && v.opts.Checkpoint.Log != rec.Hash {
		v.fail(line, rec, ProblemAnchor, "the checkpoint names another log (its record 1 hashes to %s): the log was replaced", v.opts.Checkpoint.Log)
		return
	}
	if rec.Signed() {
		v.lastSignedLine, v.lastSignedSeq = line, rec.Seq
	}
	v.res.Records++
}

// checkSignature applies the signing rules to a record whose own hash is right: signed records
// must verify with a trusted key; after a signed record, and from the checkpoint's signedFrom on,
// every record must be signed.
func (v *verifier) checkSignature(line int, rec Record) bool {
	if !rec.Signed() {
		switch cp := v.opts.Checkpoint; {
		case v.lastSignedLine > 0:
			v.fail(line, rec, ProblemUnsigned, "unsigned record after the signed record on line %d: written or rewritten without the signing key", v.lastSignedLine)
			return false
		case cp != nil && cp.Signed() && cp.SignedFrom > 0 && rec.Seq >= cp.SignedFrom:
			v.fail(line, rec, ProblemUnsigned, "unsigned record, but the checkpoint says every record from seq %d on is signed", cp.SignedFrom)
			return false
		}
		return true
	}
	if _, ok := v.opts.Keys[rec.KeyID]; !ok {
		v.fail(line, rec, ProblemUnsigned, "signed with key %s, which is not a trusted public key", rec.KeyID)
		return false
	}
	if err := v.opts.Keys.verify(rec.KeyID, recordSigDomain, rec.Hash, rec.Sig); err != nil {
		v.fail(line, rec, ProblemForged, "%v: the record was edited and re-hashed, or re-numbered and re-chained after records before it were removed", err)
		return false
	}
	return true
}

// gap reports the record after missing seqs; if one of them appears further on, the records were
// moved rather than dropped.
func (v *verifier) gap(line int, rec Record, want uint64) {
	missing := rec.Seq - want
	if missing <= maxLookahead {
		for v.sc.Scan() {
			var later struct {
				Seq uint64 `json:"seq"`
			}
			if json.Unmarshal(v.sc.line, &later) == nil && later.Seq >= want && later.Seq < rec.Seq {
				v.fail(line, rec, ProblemReordered, "seq %d comes before seq %d, which is on line %d", rec.Seq, later.Seq, v.sc.number)
				return
			}
		}
	}
	if missing == 1 {
		v.fail(line, rec, ProblemDropped, "seq %d is missing before this record", want)
		return
	}
	v.fail(line, rec, ProblemDropped, "seqs %d..%d are missing before this record", want, rec.Seq-1)
}

// checkAnchorSeen reports an anchor the log no longer reaches: records cut from the end.
func (v *verifier) checkAnchorSeen() {
	a := v.opts.ExpectHead
	if a == nil || v.anchorSeen {
		return
	}
	line := v.prevLine + 1
	if a.Seq > v.prev.Seq {
		v.fail(line, Record{Seq: v.prev.Seq + 1}, ProblemDropped,
			"the log ends at seq %d but the expected head is seq %d: records were dropped from the end", v.prev.Seq, a.Seq)
		return
	}
	v.fail(line, Record{}, ProblemDropped,
		"no record has the expected head hash %s: records were dropped from the end or the chain was rewritten", a.Hash)
}
