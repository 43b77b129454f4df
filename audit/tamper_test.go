package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// signedLog is a log written with a signing key and two checkpoint files: the head file beside
// the log and a second copy elsewhere (as the state backend's folder would hold it).
type signedLog struct {
	path, head, second string
	key                *SigningKey
}

func newSignedLog(t *testing.T, n int) signedLog {
	t.Helper()
	key, err := GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := signedLog{path: filepath.Join(dir, "log", "audit.jsonl"), second: filepath.Join(dir, "state", "audit.checkpoint"), key: key}
	s.head = HeadPath(s.path)
	l, err := Open(s.path, s.opts(WithClock(fixedClock()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := 1; i <= n; i++ {
		if _, err := l.Append(context.Background(), sampleEvent(i)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	return s
}

func (s signedLog) opts(extra ...Option) []Option {
	return append([]Option{WithoutFsync(), WithRecordSigningKey(s.key), WithHeadFile(s.head), WithCheckpointFiles(s.second)}, extra...)
}

// reopenAndAppend does what a restarted server does: open the log and append one record.
func (s signedLog) reopenAndAppend(t *testing.T) error {
	t.Helper()
	l, err := Open(s.path, s.opts()...)
	if err != nil {
		return err
	}
	defer l.Close()
	_, err = l.Append(context.Background(), sampleEvent(99))
	return err
}

func (s signedLog) verify(t *testing.T) VerifyResult {
	t.Helper()
	cp, _, found, err := LatestCheckpoint(nil, s.head, s.second)
	if err != nil {
		t.Fatal(err)
	}
	opts := VerifyOptions{Keys: NewKeyring(s.key.Public())}
	if found {
		opts.Checkpoint = &cp
	}
	res, err := VerifyFile(context.Background(), s.path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func writeLines(t *testing.T, path string, lines [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

// rechain is what an intruder with write access but without the key can do: rewrite records
// from index i on (renumbered from seq, linked to prev) with freshly computed hashes, keeping
// their signatures or signing them with key (their own).
func rechain(t *testing.T, lines [][]byte, i int, prev Head, key *SigningKey, edit func(*Record)) [][]byte {
	t.Helper()
	out := append([][]byte(nil), lines[:i]...)
	for _, l := range lines[i:] {
		rec, err := parseLine(bytes.TrimSuffix(l, []byte("\n")))
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(&rec)
			edit = nil
		}
		rec.Seq, rec.PrevHash = prev.Seq+1, prev.Hash
		sig, kid, v := rec.Sig, rec.KeyID, rec.V
		line, err := rec.seal(key)
		if err != nil {
			t.Fatal(err)
		}
		if key == nil && v == FormatSigned { // keep the old signature: hash over v and keyId
			rec.V, rec.KeyID = v, kid
			line = resealKeepingSignature(t, rec, sig)
		}
		out = append(out, line)
		prev = Head{Seq: rec.Seq, Hash: rec.Hash}
	}
	return out
}

func resealKeepingSignature(t *testing.T, rec Record, sig string) []byte {
	t.Helper()
	rec.Hash, rec.Sig = "", ""
	raw := mustJSON(t, rec)
	canon, err := canonicalize(raw)
	if err != nil {
		t.Fatal(err)
	}
	rec.Hash = sha256Hex(canon)
	rec.Sig = sig
	line, err := canonicalize(mustJSON(t, rec))
	if err != nil {
		t.Fatal(err)
	}
	return append(line, '\n')
}

// Issue 14.1: cut the tail, restart, append — the restarted log refuses, whatever anchor copy
// survived, and verify names the missing records.
func TestCutTailThenRestartIsRefused(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, s signedLog)
		want   string
	}{
		{"last record cut", func(t *testing.T, s signedLog) {
			writeLines(t, s.path, readLines(t, s.path)[:4])
		}, "record seq 5 was removed"},
		{"two records cut and the head file deleted", func(t *testing.T, s signedLog) {
			writeLines(t, s.path, readLines(t, s.path)[:3])
			os.Remove(s.head)
		}, "records seq 4..5 were removed"},
		{"log emptied and the head file deleted", func(t *testing.T, s signedLog) {
			writeLines(t, s.path, nil)
			os.Remove(s.head)
		}, "the log was emptied or replaced"},
		{"cut and every checkpoint deleted", func(t *testing.T, s signedLog) {
			writeLines(t, s.path, readLines(t, s.path)[:4])
			os.Remove(s.head)
			os.Remove(s.second)
		}, "none of its checkpoint files exists"},
		{"head file rolled back to an older checkpoint, second copy kept", func(t *testing.T, s signedLog) {
			old, err := os.ReadFile(s.head)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.reopenAndAppend(t); err != nil {
				t.Fatal(err)
			}
			writeLines(t, s.path, readLines(t, s.path)[:5])
			os.WriteFile(s.head, old, 0o600)
		}, "record seq 6 was removed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSignedLog(t, 5)
			tc.damage(t, s)
			err := s.reopenAndAppend(t)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("reopen and append after %s: %v, want ErrCorrupt saying %q", tc.name, err, tc.want)
			}
		})
	}
}

// The same holds for an unsigned log with a head file: Open checks the tail against it.
func TestCutTailOfUnsignedLogWithHeadFileIsRefused(t *testing.T) {
	head := filepath.Join(t.TempDir(), "audit.head")
	path, lines := writeFixture(t, 5, WithHeadFile(head))
	writeLines(t, path, lines[:4])
	_, err := Open(path, WithoutFsync(), WithHeadFile(head))
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "record seq 5 was removed") {
		t.Fatalf("open of a cut unsigned log: %v", err)
	}
}

// Issue 14.2: a record edited and re-hashed, a middle record deleted and the rest re-chained, a
// forged checkpoint, and a downgrade to unsigned records are each named.
func TestVerifyNamesRewrittenRecords(t *testing.T) {
	attacker, err := GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		damage  func(t *testing.T, s signedLog, lines [][]byte)
		problem Problem
		line    int
		detail  string
	}{
		{"record 3 edited, re-hashed and re-chained, head rewritten", func(t *testing.T, s signedLog, lines [][]byte) {
			prev := lineHead(t, lines[1])
			out := rechain(t, lines, 2, prev, nil, func(r *Record) { r.TenantID = "mallory" })
			writeLines(t, s.path, out)
			os.WriteFile(s.head, []byte(`{"seq":5,"hash":"`+lineHead(t, out[4]).Hash+`"}`), 0o600)
			os.Remove(s.second)
		}, ProblemForged, 3, "signature does not verify"},
		{"record 2 deleted and the rest re-numbered", func(t *testing.T, s signedLog, lines [][]byte) {
			out := rechain(t, append(lines[:1:1], lines[2:]...), 1, lineHead(t, lines[0]), nil, nil)
			writeLines(t, s.path, out)
		}, ProblemForged, 2, "re-numbered and re-chained"},
		{"record 3 deleted, not re-chained", func(t *testing.T, s signedLog, lines [][]byte) {
			writeLines(t, s.path, append(lines[:2:2], lines[3:]...))
		}, ProblemDropped, 3, "seq 3 is missing"},
		{"records re-signed with another key", func(t *testing.T, s signedLog, lines [][]byte) {
			writeLines(t, s.path, rechain(t, lines, 0, Head{Hash: GenesisHash}, attacker, nil))
		}, ProblemUnsigned, 1, "not a trusted public key"},
		{"checkpoint forged with another key", func(t *testing.T, s signedLog, lines [][]byte) {
			cp, err := ReadCheckpoint(s.second)
			if err != nil {
				t.Fatal(err)
			}
			forged, err := signCheckpoint(attacker, cp)
			if err != nil {
				t.Fatal(err)
			}
			os.Remove(s.head)
			writeCheckpoint(s.second, forged, false)
		}, ProblemAnchor, 0, "not authentic"},
		{"whole log rewritten unsigned", func(t *testing.T, s signedLog, lines [][]byte) {
			var out [][]byte
			prev := Head{Hash: GenesisHash}
			for _, l := range lines {
				rec, _ := parseLine(bytes.TrimSuffix(l, []byte("\n")))
				rec.Seq, rec.PrevHash = prev.Seq+1, prev.Hash
				line, err := rec.seal(nil)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, line)
				prev = Head{Seq: rec.Seq, Hash: rec.Hash}
			}
			writeLines(t, s.path, out)
			os.Remove(s.head)
		}, ProblemUnsigned, 1, "every record from seq 1 on is signed"},
		{"tail cut, head file deleted", func(t *testing.T, s signedLog, lines [][]byte) {
			writeLines(t, s.path, lines[:3])
			os.Remove(s.head)
		}, ProblemDropped, 4, "the log ends at seq 3 but the expected head is seq 5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSignedLog(t, 5)
			if res := s.verify(t); !res.OK || res.Records != 5 {
				t.Fatalf("intact signed log: %+v", res)
			}
			tc.damage(t, s, readLines(t, s.path))
			res := s.verify(t)
			if res.OK {
				t.Fatalf("verify passed after %s", tc.name)
			}
			got := res.FirstBad
			if got.Problem != tc.problem || got.Line != tc.line || !strings.Contains(got.Detail, tc.detail) {
				t.Errorf("first bad = %s, want %s on line %d mentioning %q", got, tc.problem, tc.line, tc.detail)
			}
		})
	}
}

func lineHead(t *testing.T, line []byte) Head {
	t.Helper()
	rec, err := parseLine(bytes.TrimSuffix(line, []byte("\n")))
	if err != nil && !errors.Is(err, errHashMismatch) {
		t.Fatal(err)
	}
	return Head{Seq: rec.Seq, Hash: rec.Hash}
}

// Issue 15.6: logs written by the format-1 code (testdata/v1-log.jsonl, written before the move
// to jsontext and google/uuid) still verify byte for byte, and re-encoding each record gives the
// stored line back.
func TestFormat1LogWrittenByEarlierCodeStillVerifies(t *testing.T) {
	head, err := os.ReadFile(filepath.Join("testdata", "v1-log.head"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseHead(string(head))
	if err != nil {
		t.Fatal(err)
	}
	res, err := VerifyFile(context.Background(), filepath.Join("testdata", "v1-log.jsonl"), VerifyOptions{ExpectHead: &h})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Records != 6 || res.Head != h {
		t.Fatalf("format-1 fixture: %+v (first bad %v)", res, res.FirstBad)
	}
	for i, l := range readLines(t, filepath.Join("testdata", "v1-log.jsonl")) {
		rec, err := parseLine(bytes.TrimSuffix(l, []byte("\n")))
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		again, err := rec.Line()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(l), string(again)); diff != "" {
			t.Errorf("line %d re-encodes differently (-stored +now):\n%s", i+1, diff)
		}
	}
}

// A format-1 log is migrated in place by appending with a key: the old records keep their
// format, new ones are signed, the checkpoint says from which seq on, and an edit of an old
// record is still caught (the first signed record vouches for the chain before it).
func TestFormat1LogContinuesSigned(t *testing.T) {
	key, err := GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	data, err := os.ReadFile(filepath.Join("testdata", "v1-log.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s := signedLog{path: path, head: HeadPath(path), second: filepath.Join(dir, "second.checkpoint"), key: key}
	if err := s.reopenAndAppend(t); err != nil {
		t.Fatalf("append with a key to a format-1 log: %v", err)
	}
	cp, err := ReadCheckpoint(s.second)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Seq != 7 || cp.SignedFrom != 7 || !cp.Signed() {
		t.Fatalf("checkpoint after migration = %+v, want seq 7 signed from 7", cp)
	}
	if res := s.verify(t); !res.OK || res.Records != 7 {
		t.Fatalf("migrated log: %+v (first bad %v)", res, res.FirstBad)
	}
	// Unkeyed writers can no longer extend it.
	l, err := Open(path, WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), sampleEvent(100)); !errors.Is(err, ErrSigningKeyRequired) {
		t.Errorf("unsigned append to a signed log: %v, want ErrSigningKeyRequired", err)
	}
	l.Close()
	// Re-chaining edited format-1 records cannot reach the signed record's prevHash.
	lines := readLines(t, path)
	edited := rechain(t, lines[:6], 2, lineHead(t, lines[1]), nil, func(r *Record) { r.Outcome = OutcomeSucceeded })
	writeLines(t, path, append(edited, lines[6]))
	res := s.verify(t)
	if res.OK || res.FirstBad.Problem != ProblemEdited || !strings.Contains(res.FirstBad.Detail, "unsigned records on lines 1..6") {
		t.Errorf("edited format-1 record before a signed one: %+v", res.FirstBad)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
