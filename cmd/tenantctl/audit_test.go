package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/internal/exitcode"
)

// runAudit executes tenantctl in-process with private config and state locations, returning
// stdout, the error main would print and the exit code.
func runAudit(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv("TENANTCTL_DATA_DIR", "")
	t.Setenv("TENANTCTL_AUDIT_SIGNING_KEY_FILE", "")
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	runExitHooks()
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	return out.String(), msg, exitCodeOf(err)
}

// auditFixture writes a log of three events (tenants acme, globex, acme) with a head file and
// returns its path and lines.
func auditFixture(t *testing.T) (string, []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := audit.Open(path, audit.WithHeadFile(audit.HeadPath(path)), audit.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tenant := range []string{"acme", "globex", "acme"} {
		ev := audit.Event{Type: audit.TypeTenantProvision, TenantID: tenant, Outcome: audit.OutcomeSucceeded, Principal: "local:tester"}
		if _, err := l.Append(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	return path, lines[:len(lines)-1] // each line keeps its newline; the last element is empty
}

func writeAuditFile(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "copy.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAuditVerifyExitCodes(t *testing.T) {
	path, lines := auditFixture(t)
	head, err := os.ReadFile(audit.HeadPath(path))
	if err != nil {
		t.Fatal(err)
	}
	var h audit.Head
	if err := json.Unmarshal(head, &h); err != nil {
		t.Fatal(err)
	}
	truncated := writeAuditFile(t, lines[0], lines[1])
	if err := os.WriteFile(audit.HeadPath(truncated), head, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // substring of stdout
		wantErr  string // substring of the error
	}{
		{"intact, anchored by the head file", []string{"audit", "verify", path}, exitcode.OK, "OK, 3 records, head " + h.String(), ""},
		{"intact via --audit-log", []string{"audit", "--audit-log", path, "verify"}, exitcode.OK, "OK, 3 records", ""},
		{"edited", []string{"audit", "verify", writeAuditFile(t, lines[0], strings.Replace(lines[1], "globex", "evil", 1), lines[2]), "--no-anchor"},
			exitcode.Findings, "", "line 2 (seq 2, event "},
		{"dropped middle", []string{"audit", "verify", writeAuditFile(t, lines[0], lines[2]), "--expect-head", h.String()}, exitcode.Findings, "", "dropped: seq 2 is missing"},
		{"reordered", []string{"audit", "verify", writeAuditFile(t, lines[0], lines[2], lines[1]), "--no-anchor"}, exitcode.Findings, "", "reordered"},
		{"tail cut, caught by FILE.head", []string{"audit", "verify", truncated}, exitcode.Findings, "", "line 3 (seq 3): dropped"},
		{"tail cut, anchor opted out", []string{"audit", "verify", truncated, "--no-anchor"}, exitcode.OK, "no anchor, as --no-anchor says", ""},
		{"tail cut, head file deleted: no anchor is a failure", []string{"audit", "verify", writeAuditFile(t, lines[0], lines[1])}, exitcode.Failed, "", "no anchor: none of"},
		{"emptied, head file deleted", []string{"audit", "verify", writeAuditFile(t)}, exitcode.Failed, "", "no anchor"},
		{"missing --checkpoint file", []string{"audit", "verify", path, "--checkpoint", filepath.Join(t.TempDir(), "none")}, exitcode.Invalid, "", "none of"},
		{"tail cut, --expect-head", []string{"audit", "verify", writeAuditFile(t, lines[0], lines[1]), "--expect-head", h.String()}, exitcode.Findings, "", "dropped"},
		{"bad --expect-head", []string{"audit", "verify", path, "--expect-head", "3:nothex"}, exitcode.Invalid, "", "want SEQ:HASH"},
		{"missing file", []string{"audit", "verify", filepath.Join(t.TempDir(), "none.jsonl")}, exitcode.Invalid, "", "no such file"},
		{"not an audit log", []string{"audit", "verify", writeAuditFile(t, "hello\n"), "--no-anchor"}, exitcode.Invalid, "", "is not an audit log"},
		{"unsupported output", []string{"audit", "verify", path, "-o", "yaml"}, exitcode.Invalid, "", "text or json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, msg, code := runAudit(t, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d (stdout %q, error %q)", code, tt.wantCode, out, msg)
			}
			if !strings.Contains(out, tt.wantOut) || !strings.Contains(msg, tt.wantErr) {
				t.Errorf("stdout %q, error %q; want them to contain %q and %q", out, msg, tt.wantOut, tt.wantErr)
			}
		})
	}
}

func TestAuditVerifyJSON(t *testing.T) {
	_, lines := auditFixture(t)
	out, _, code := runAudit(t, "audit", "verify", writeAuditFile(t, lines[0], lines[2]), "-o", "json", "--no-anchor")
	if code != exitcode.Findings {
		t.Fatalf("exit code %d, want %d", code, exitcode.Findings)
	}
	var res audit.VerifyResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if res.OK || res.FirstBad == nil || res.FirstBad.Problem != audit.ProblemDropped || res.FirstBad.Line != 2 || res.Records != 1 {
		t.Errorf("result = %+v, want a drop named at line 2 after 1 record", res)
	}
}

func TestAuditQuery(t *testing.T) {
	path, _ := auditFixture(t)
	tests := []struct {
		name     string
		args     []string
		wantSeqs []uint64
	}{
		{"all", nil, []uint64{1, 2, 3}},
		{"tenant", []string{"--tenant", "acme"}, []uint64{1, 3}},
		{"type", []string{"--type", "tenant.destroy"}, []uint64{}},
		{"since a duration ago", []string{"--since", "1h"}, []uint64{1, 2, 3}},
		{"until long ago", []string{"--until", "2000-01-01T00:00:00Z"}, []uint64{}},
		{"limit and paging", []string{"--after-seq", "1", "--limit", "1"}, []uint64{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, msg, code := runAudit(t, append([]string{"audit", "query", "--file", path, "-o", "json"}, tt.args...)...)
			if code != exitcode.OK {
				t.Fatalf("exit code %d: %s", code, msg)
			}
			var doc struct {
				Items []audit.Record `json:"items"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			seqs := []uint64{}
			for _, r := range doc.Items {
				seqs = append(seqs, r.Seq)
			}
			if diff := cmp.Diff(tt.wantSeqs, seqs); diff != "" {
				t.Errorf("seqs (-want +got):\n%s", diff)
			}
		})
	}
	out, _, code := runAudit(t, "audit", "query", "--file", path, "--tenant", "globex")
	if code != exitcode.OK || !strings.HasPrefix(out, "SEQ") || strings.Count(out, "\n") != 2 || !strings.Contains(out, "globex") {
		t.Errorf("text query: exit %d, output:\n%s", code, out)
	}
	for _, bad := range [][]string{{"--since", "yesterday"}, {"--trace-id", "XYZ"}, {"-o", "sarif"}} {
		if _, msg, code := runAudit(t, append([]string{"audit", "query", "--file", path}, bad...)...); code != exitcode.Invalid {
			t.Errorf("query %v: exit %d (%s), want %d", bad, code, msg, exitcode.Invalid)
		}
	}
}

func TestAuditHead(t *testing.T) {
	path, _ := auditFixture(t)
	head, err := os.ReadFile(audit.HeadPath(path))
	if err != nil {
		t.Fatal(err)
	}
	var want audit.Head
	if err := json.Unmarshal(head, &want); err != nil {
		t.Fatal(err)
	}
	out, msg, code := runAudit(t, "audit", "head", path)
	if code != exitcode.OK || strings.TrimSpace(out) != want.String() {
		t.Errorf("audit head = %q (exit %d, %s), want %q", out, code, msg, want)
	}
}

// A log written the way every engine command writes it (signed records, the head file and a
// second checkpoint in the data dir) verifies with the public key; a re-chained edit, a rewrite
// without the key and a deleted anchor are each refused and named (issue 14, items 1 and 2).
func TestAuditVerifySignedLog(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "keys", "audit-signing.key")
	path := filepath.Join(dir, "state", "audit.jsonl")
	second := filepath.Join(dir, "data", "audit.checkpoint")
	aud, err := audit.NewFromConfig(audit.Config{Path: path, HeadFile: true, NoFsync: true, SigningKeyFile: key, CheckpointFile: second})
	if err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"acme", "globex", "acme", "initech"} {
		ev := audit.Event{Type: audit.TypeTenantProvision, TenantID: tenant, Outcome: audit.OutcomeSucceeded, Principal: "local:tester"}
		if _, err := aud.Record(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	aud.Close()
	data, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(data), "\n")
	lines = lines[:len(lines)-1]
	anchors := []string{"--checkpoint", audit.HeadPath(path), "--checkpoint", second}
	pub := []string{"--public-key", key + ".pub"}
	verify := func(file string, extra ...string) (string, string, int) {
		return runAudit(t, append(append([]string{"audit", "verify", file}, pub...), extra...)...)
	}
	if out, msg, code := verify(path, anchors...); code != exitcode.OK || !strings.Contains(out, "OK, 4 records") || !strings.Contains(out, "signed checkpoint") {
		t.Fatalf("intact signed log: exit %d, %q %q", code, out, msg)
	}
	if _, msg, code := runAudit(t, append([]string{"audit", "verify", path}, anchors...)...); code != exitcode.Failed || !strings.Contains(msg, "not a trusted public key") {
		t.Errorf("signed log without its public key: exit %d, %q", code, msg)
	}
	// The intruder drops record 2 and renumbers the rest, recomputing every hash.
	var rechained []string
	prev := audit.Head{Hash: audit.GenesisHash}
	for i, l := range append([]string{lines[0]}, lines[2:]...) {
		var rec audit.Record
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		rec.Seq, rec.PrevHash = uint64(i+1), prev.Hash
		line := rehash(t, rec)
		rechained = append(rechained, line)
		_ = json.Unmarshal([]byte(line), &rec)
		prev = rec.Head()
	}
	tampered := writeAuditFile(t, rechained...)
	if _, msg, code := verify(tampered, anchors...); code != exitcode.Findings || !strings.Contains(msg, "line 2 (seq 2") || !strings.Contains(msg, "forged") {
		t.Errorf("dropped and re-chained: exit %d, %q", code, msg)
	}
	// Cut from the end and both anchors kept: the signed checkpoint names what is missing.
	if _, msg, code := verify(writeAuditFile(t, lines[:2]...), anchors...); code != exitcode.Findings || !strings.Contains(msg, "expected head is seq 4") {
		t.Errorf("cut tail: exit %d, %q", code, msg)
	}
}

// rehash recomputes a record's hash without the signing key, as an intruder would.
func rehash(t *testing.T, rec audit.Record) string {
	t.Helper()
	sig := rec.Sig
	rec.Hash, rec.Sig = "", ""
	raw, _ := json.Marshal(rec)
	canon := canonicalJSON(t, raw)
	sum := sha256.Sum256(canon)
	rec.Hash, rec.Sig = hex.EncodeToString(sum[:]), sig
	raw, _ = json.Marshal(rec)
	return string(canonicalJSON(t, raw)) + "\n"
}

func canonicalJSON(t *testing.T, raw []byte) []byte {
	t.Helper()
	v := jsontext.Value(raw)
	if err := v.Canonicalize(); err != nil {
		t.Fatal(err)
	}
	return v
}
