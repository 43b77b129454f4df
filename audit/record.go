package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// GenesisHash is the PrevHash of the first record of a log.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// MaxRecordBytes bounds one encoded record (one line) so appends stay a single write and readers
// can bound their buffers.
const MaxRecordBytes = 1 << 20

// Record is an Event as stored in the log: numbered, chained to its predecessor and sealed by a
// hash. Its JSON form is flat (the event's members beside seq, prevHash and hash).
type Record struct {
	// Seq numbers records from 1 without gaps.
	Seq uint64 `json:"seq"`
	// PrevHash is the previous record's Hash (GenesisHash for seq 1).
	PrevHash string `json:"prevHash"`
	// Hash is the lowercase hex SHA-256 of the record's RFC 8785 canonical JSON form without the
	// hash member itself.
	Hash string `json:"hash,omitempty"`
	Event
}

// Head identifies the last record of a log: what to anchor elsewhere so that dropping records from
// the end of the log is detectable (see VerifyOptions.ExpectHead).
type Head struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

func (h Head) String() string { return fmt.Sprintf("%d:%s", h.Seq, h.Hash) }

// ParseHead parses "SEQ:HASH" or a bare "HASH" (Seq 0: the record may be anywhere in the log).
func ParseHead(s string) (Head, error) {
	s = strings.TrimSpace(s)
	var h Head
	hash := s
	if seq, rest, ok := strings.Cut(s, ":"); ok {
		if _, err := fmt.Sscanf(seq, "%d", &h.Seq); err != nil || h.Seq == 0 || fmt.Sprint(h.Seq) != seq {
			return Head{}, fmt.Errorf("head %q: sequence number %q is not a positive integer", s, seq)
		}
		hash = rest
	}
	if !isHash(hash) {
		return Head{}, fmt.Errorf("head %q: want SEQ:HASH or HASH with a 64-digit lowercase hex SHA-256", s)
	}
	h.Hash = hash
	return h, nil
}

func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// seal computes r.Hash and returns the line to store: the canonical JSON of the whole record
// (hash included) and a newline, so the bytes on disk are themselves canonical.
func (r *Record) seal() ([]byte, error) {
	r.Hash = ""
	obj, err := recordObject(*r)
	if err != nil {
		return nil, err
	}
	hash, err := canonicalHash(obj)
	if err != nil {
		return nil, err
	}
	r.Hash = hash
	obj["hash"] = hash
	var buf bytes.Buffer
	if err := writeCanonical(&buf, obj); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// Line returns the record's stored form (canonical JSON and a newline), the bytes the log holds
// and sinks send. It fails if the record's hash does not match its content.
func (r Record) Line() ([]byte, error) {
	want := r.Hash
	line, err := r.seal()
	if err != nil {
		return nil, err
	}
	if r.Hash != want {
		return nil, fmt.Errorf("record seq %d: stored hash %s does not match its content (%s)", r.Seq, want, r.Hash)
	}
	return line, nil
}

func recordObject(r Record) (jsonObject, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode record seq %d: %w", r.Seq, err)
	}
	v, err := parseJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("encode record seq %d: %w", r.Seq, err)
	}
	obj, _ := v.(jsonObject) // a struct always marshals to an object
	return obj, nil
}

// canonicalHash hashes obj without its "hash" member.
func canonicalHash(obj jsonObject) (string, error) {
	stored, had := obj["hash"]
	delete(obj, "hash")
	var buf bytes.Buffer
	err := writeCanonical(&buf, obj)
	if had {
		obj["hash"] = stored
	}
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(sum[:]), nil
}

// errHashMismatch marks a line that parses but whose content does not match its hash: an edit.
var errHashMismatch = errors.New("hash does not match the record's content")

// parseLine decodes one stored line and checks its own hash. A malformed line returns an error
// that is not errHashMismatch; an edited one returns the decoded record and errHashMismatch.
func parseLine(line []byte) (Record, error) {
	v, err := parseJSON(line)
	if err != nil {
		var r Record
		_ = json.Unmarshal(line, &r) // best effort, to name the record in the report
		return r, fmt.Errorf("not valid JSON: %w", err)
	}
	obj, ok := v.(jsonObject)
	if !ok {
		return Record{}, fmt.Errorf("not a JSON object")
	}
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		return Record{}, fmt.Errorf("not an audit record: %w", err)
	}
	switch {
	case r.Seq == 0:
		return r, fmt.Errorf("missing seq")
	case !isHash(r.Hash):
		return r, fmt.Errorf("hash %q is not 64 lowercase hex digits", r.Hash)
	case !isHash(r.PrevHash):
		return r, fmt.Errorf("prevHash %q is not 64 lowercase hex digits", r.PrevHash)
	case r.EventID == "" || r.Type == "" || r.Time.IsZero():
		return r, fmt.Errorf("missing eventId, type or time")
	}
	sum, err := canonicalHash(obj)
	if err != nil {
		return r, fmt.Errorf("not canonicalizable: %w", err)
	}
	if sum != r.Hash {
		return r, errHashMismatch
	}
	return r, nil
}
