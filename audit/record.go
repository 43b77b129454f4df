package audit

import (
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
	// V is the record format: 0 (absent) for format 1, plain hash chain; 2 for signed records.
	V int `json:"v,omitempty"`
	// Seq numbers records from 1 without gaps.
	Seq uint64 `json:"seq"`
	// PrevHash is the previous record's Hash (GenesisHash for seq 1).
	PrevHash string `json:"prevHash"`
	// Hash is the lowercase hex SHA-256 of the record's RFC 8785 canonical JSON form without the
	// hash and sig members.
	Hash string `json:"hash,omitempty"`
	// KeyID names the key whose ed25519 signature of Hash is Sig (format 2).
	KeyID string `json:"keyId,omitempty"`
	Sig   string `json:"sig,omitempty"`
	Event
}

// Head is the record's place in the chain.
func (r Record) Head() Head { return Head{Seq: r.Seq, Hash: r.Hash} }

// FormatSigned is the record format of signed records.
const FormatSigned = 2

// Signed reports whether the record carries a signature (format 2).
func (r Record) Signed() bool { return r.V >= FormatSigned }

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

// seal computes r.Hash (and, with a key, signs it as a format-2 record) and returns the line to
// store: the canonical JSON of the whole record and a newline, so the bytes on disk are
// themselves canonical.
func (r *Record) seal(key *SigningKey) ([]byte, error) {
	r.Hash, r.Sig, r.V, r.KeyID = "", "", 0, ""
	if key != nil {
		r.V, r.KeyID = FormatSigned, key.Public().ID
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode record seq %d: %w", r.Seq, err)
	}
	canon, err := canonicalize(raw)
	if err != nil {
		return nil, fmt.Errorf("encode record seq %d: %w", r.Seq, err)
	}
	sum := sha256.Sum256(canon)
	r.Hash = hex.EncodeToString(sum[:])
	if key != nil {
		r.Sig = key.sign(recordSigDomain, r.Hash)
	}
	if raw, err = json.Marshal(r); err != nil {
		return nil, fmt.Errorf("encode record seq %d: %w", r.Seq, err)
	}
	line, err := canonicalize(raw)
	if err != nil {
		return nil, fmt.Errorf("encode record seq %d: %w", r.Seq, err)
	}
	return append(line, '\n'), nil
}

// Line returns the record's stored form (canonical JSON and a newline), the bytes the log holds
// and sinks send. It fails if the record's hash does not match its content.
func (r Record) Line() ([]byte, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode record seq %d: %w", r.Seq, err)
	}
	line, err := canonicalize(raw)
	if err != nil {
		return nil, fmt.Errorf("encode record seq %d: %w", r.Seq, err)
	}
	if _, err := parseLine(line); err != nil {
		return nil, fmt.Errorf("record seq %d: stored hash %s does not match its content: %w", r.Seq, r.Hash, err)
	}
	return append(line, '\n'), nil
}

// errHashMismatch marks a line that parses but whose content does not match its hash: an edit.
var errHashMismatch = errors.New("hash does not match the record's content")

// parseLine decodes one stored line and checks its own hash (not its signature: that needs the
// trusted keys, see Verify). A malformed line returns an error that is not errHashMismatch; an
// edited one returns the decoded record and errHashMismatch.
func parseLine(line []byte) (Record, error) {
	canon, _, err := splitObject(line, "hash", "sig")
	if err != nil {
		var r Record
		_ = json.Unmarshal(line, &r) // best effort, to name the record in the report
		return r, fmt.Errorf("not a valid JSON object: %w", err)
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
	case r.V != 0 && r.V != FormatSigned:
		return r, fmt.Errorf("unknown record format v=%d", r.V)
	case r.V == 0 && (r.Sig != "" || r.KeyID != ""):
		return r, fmt.Errorf("keyId or sig on a record without v=%d", FormatSigned)
	case r.Signed() && (r.Sig == "" || r.KeyID == ""):
		return r, fmt.Errorf("format %d record without keyId or sig", FormatSigned)
	}
	sum := sha256.Sum256(canon)
	if hex.EncodeToString(sum[:]) != r.Hash {
		return r, errHashMismatch
	}
	return r, nil
}
