package audit

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// rehash re-seals a stored line after edit changes the record, as an attacker who knows the
// format would.
func rehash(t *testing.T, line []byte, prevHash string, edit func(*Record)) ([]byte, string) {
	t.Helper()
	rec, err := parseLine(bytes.TrimSuffix(line, []byte("\n")))
	if err != nil {
		t.Fatal(err)
	}
	if prevHash != "" {
		rec.PrevHash = prevHash
	}
	edit(&rec)
	out, err := rec.seal(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out, rec.Hash
}

func headOf(t *testing.T, line []byte) Head {
	t.Helper()
	rec, err := parseLine(bytes.TrimSuffix(line, []byte("\n")))
	if err != nil {
		t.Fatal(err)
	}
	return Head{Seq: rec.Seq, Hash: rec.Hash}
}

func TestVerifyDetectsTampering(t *testing.T) {
	_, orig := writeFixture(t, 5)
	head5 := headOf(t, orig[4])
	anyHead5 := Head{Hash: head5.Hash}

	// Each case gets a fresh copy of the five stored lines and returns the tampered file.
	tests := []struct {
		name    string
		tamper  func(lines [][]byte) [][]byte
		opts    VerifyOptions
		records int        // intact records before the first bad one
		want    *BadRecord // nil: the log verifies
	}{
		{name: "untouched", records: 5, tamper: func(l [][]byte) [][]byte { return l }},
		{name: "untouched with anchor", records: 5, opts: VerifyOptions{ExpectHead: &head5}, tamper: func(l [][]byte) [][]byte { return l }},
		{name: "reformatted whitespace keeps the same canonical form", records: 5,
			tamper: func(l [][]byte) [][]byte {
				l[2] = bytes.ReplaceAll(l[2], []byte(`,"`), []byte(`, "`))
				return l
			}},
		{name: "edit a field", records: 2,
			tamper: func(l [][]byte) [][]byte {
				l[2] = bytes.Replace(l[2], []byte(`"outcome":"succeeded"`), []byte(`"outcome":"failed"`), 1)
				return l
			},
			want: &BadRecord{Line: 3, Seq: 3, EventID: "evt-3", Problem: ProblemEdited}},
		{name: "add a member", records: 1,
			tamper: func(l [][]byte) [][]byte {
				l[1] = bytes.Replace(l[1], []byte(`{`), []byte(`{"approvedBy":"mallory",`), 1)
				return l
			},
			want: &BadRecord{Line: 2, Seq: 2, EventID: "evt-2", Problem: ProblemEdited}},
		{name: "edit a field and recompute its hash", records: 2,
			tamper: func(l [][]byte) [][]byte {
				l[2], _ = rehash(t, l[2], "", func(r *Record) { r.Principal = "someone-else" })
				return l
			},
			want: &BadRecord{Line: 3, Seq: 3, EventID: "evt-3", Problem: ProblemEdited}},
		{name: "drop a middle record", records: 2,
			tamper: func(l [][]byte) [][]byte { return append(l[:2:2], l[3:]...) },
			want:   &BadRecord{Line: 3, Seq: 4, EventID: "evt-4", Problem: ProblemDropped}},
		{name: "drop two middle records", records: 1,
			tamper: func(l [][]byte) [][]byte { return append(l[:1:1], l[3:]...) },
			want:   &BadRecord{Line: 2, Seq: 4, EventID: "evt-4", Problem: ProblemDropped}},
		{name: "drop the first record", records: 0,
			tamper: func(l [][]byte) [][]byte { return l[1:] },
			want:   &BadRecord{Line: 1, Seq: 2, EventID: "evt-2", Problem: ProblemDropped}},
		// A chain cannot show its own end was cut: only an anchor can.
		{name: "drop the last record without an anchor", records: 4,
			tamper: func(l [][]byte) [][]byte { return l[:4] }},
		{name: "drop the last record, anchored by seq and hash", records: 4, opts: VerifyOptions{ExpectHead: &head5},
			tamper: func(l [][]byte) [][]byte { return l[:4] },
			want:   &BadRecord{Line: 5, Seq: 5, Problem: ProblemDropped}},
		{name: "drop the last record, anchored by hash", records: 4, opts: VerifyOptions{ExpectHead: &anyHead5},
			tamper: func(l [][]byte) [][]byte { return l[:4] },
			want:   &BadRecord{Line: 5, Problem: ProblemDropped}},
		{name: "drop everything, anchored", records: 0, opts: VerifyOptions{ExpectHead: &head5},
			tamper: func(l [][]byte) [][]byte { return nil },
			want:   &BadRecord{Line: 1, Seq: 1, Problem: ProblemDropped}},
		{name: "rewrite and re-chain from record 3, anchored", records: 4, opts: VerifyOptions{ExpectHead: &head5},
			tamper: func(l [][]byte) [][]byte {
				prev := ""
				for i := 2; i < 5; i++ {
					l[i], prev = rehash(t, l[i], prev, func(r *Record) {
						if r.Seq == 3 {
							r.Outcome = OutcomeFailed
						}
					})
				}
				return l
			},
			want: &BadRecord{Line: 5, Seq: 5, EventID: "evt-5", Problem: ProblemEdited}},
		{name: "reorder two adjacent records", records: 1,
			tamper: func(l [][]byte) [][]byte {
				l[1], l[2] = l[2], l[1]
				return l
			},
			want: &BadRecord{Line: 2, Seq: 3, EventID: "evt-3", Problem: ProblemReordered}},
		{name: "move the last record to the front", records: 0,
			tamper: func(l [][]byte) [][]byte { return append([][]byte{l[4]}, l[:4]...) },
			want:   &BadRecord{Line: 1, Seq: 5, EventID: "evt-5", Problem: ProblemReordered}},
		{name: "move a record back", records: 2,
			tamper: func(l [][]byte) [][]byte { return [][]byte{l[0], l[1], l[3], l[4], l[2]} },
			want:   &BadRecord{Line: 3, Seq: 4, EventID: "evt-4", Problem: ProblemReordered}},
		{name: "replay a record", records: 3,
			tamper: func(l [][]byte) [][]byte { return [][]byte{l[0], l[1], l[2], l[2], l[3], l[4]} },
			want:   &BadRecord{Line: 4, Seq: 3, EventID: "evt-3", Problem: ProblemReordered}},
		{name: "replay an older record", records: 3,
			tamper: func(l [][]byte) [][]byte { return [][]byte{l[0], l[1], l[2], l[0], l[3], l[4]} },
			want:   &BadRecord{Line: 4, Seq: 1, EventID: "evt-1", Problem: ProblemReordered}},
		{name: "truncated last line", records: 4,
			tamper: func(l [][]byte) [][]byte {
				l[4] = l[4][:len(l[4])/2]
				return l
			},
			want: &BadRecord{Line: 5, Problem: ProblemMalformed}},
		{name: "last line without its newline", records: 4,
			tamper: func(l [][]byte) [][]byte {
				l[4] = bytes.TrimSuffix(l[4], []byte("\n"))
				return l
			},
			want: &BadRecord{Line: 5, Seq: 5, EventID: "evt-5", Problem: ProblemMalformed}},
		{name: "truncated middle line", records: 2,
			tamper: func(l [][]byte) [][]byte {
				l[2] = append(l[2][:40:40], '\n')
				return l
			},
			want: &BadRecord{Line: 3, Problem: ProblemMalformed}},
		{name: "inserted blank line", records: 2,
			tamper: func(l [][]byte) [][]byte { return [][]byte{l[0], l[1], []byte("\n"), l[2], l[3], l[4]} },
			want:   &BadRecord{Line: 3, Problem: ProblemMalformed}},
		{name: "duplicate member", records: 0,
			tamper: func(l [][]byte) [][]byte {
				l[0] = bytes.Replace(l[0], []byte(`{`), []byte(`{"tenantId":"evil",`), 1)
				return l
			},
			want: &BadRecord{Line: 1, Seq: 1, EventID: "evt-1", Problem: ProblemMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := make([][]byte, len(orig))
			for i := range orig {
				lines[i] = bytes.Clone(orig[i])
			}
			data := bytes.Join(tt.tamper(lines), nil)
			got, err := VerifyWith(bytes.NewReader(data), tt.opts)
			if err != nil {
				t.Fatalf("VerifyWith: %v", err)
			}
			if diff := cmp.Diff(tt.want, got.FirstBad, cmpopts.IgnoreFields(BadRecord{}, "Detail")); diff != "" {
				t.Errorf("first bad record (-want +got):\n%s", diff)
			}
			if got.Records != tt.records {
				t.Errorf("Records = %d, want %d", got.Records, tt.records)
			}
			if got.OK != (tt.want == nil) {
				t.Errorf("OK = %v, want %v", got.OK, tt.want == nil)
			}
			if got.FirstBad != nil && got.FirstBad.Detail == "" {
				t.Error("the first bad record has no explanation")
			}
		})
	}
}

func TestVerifyReportsCountAndHead(t *testing.T) {
	path, lines := writeFixture(t, 7)
	got, err := VerifyFile(context.Background(), path, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := VerifyResult{OK: true, Records: 7, Head: headOf(t, lines[6])}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("VerifyFile (-want +got):\n%s", diff)
	}
}

func TestVerifyEmptyLog(t *testing.T) {
	got, err := Verify(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	want := VerifyResult{OK: true, Head: Head{Hash: GenesisHash}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Verify(empty) (-want +got):\n%s", diff)
	}
}

func TestVerifyFileErrors(t *testing.T) {
	dir := t.TempDir()
	for name, path := range map[string]string{"missing": dir + "/nope.jsonl", "directory": dir} {
		if _, err := VerifyFile(context.Background(), path, VerifyOptions{}); err == nil {
			t.Errorf("%s: VerifyFile(%s) succeeded, want an error", name, path)
		}
	}
}

func TestBadRecordString(t *testing.T) {
	b := BadRecord{Line: 3, Seq: 4, EventID: "evt-4", Problem: ProblemDropped, Detail: "seq 3 is missing before this record"}
	if got, want := b.String(), "line 3 (seq 4, event evt-4): dropped: seq 3 is missing before this record"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
