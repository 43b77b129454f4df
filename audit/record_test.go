package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSealedLineIsCanonicalAndHashCoversEverythingButHash(t *testing.T) {
	rec := Record{Seq: 1, PrevHash: GenesisHash, Event: sampleEvent(1)}
	rec.Time = fixedClock()()
	line, err := rec.seal(nil)
	if err != nil {
		t.Fatal(err)
	}
	// The stored line is already canonical: re-canonicalizing it changes nothing.
	again, err := canonicalString(t, string(bytes.TrimSuffix(line, []byte("\n"))))
	if err != nil {
		t.Fatal(err)
	}
	if again+"\n" != string(line) {
		t.Errorf("stored line is not canonical:\n got %s\nwant %s", line, again)
	}
	// Independently: the hash is SHA-256 of the line with the "hash" member taken out.
	withoutHash := bytes.Replace(line, []byte(`"hash":"`+rec.Hash+`",`), nil, 1)
	sum := sha256.Sum256(bytes.TrimSuffix(withoutHash, []byte("\n")))
	if got := hex.EncodeToString(sum[:]); got != rec.Hash {
		t.Errorf("hash = %s, SHA-256 of the canonical form without hash = %s", rec.Hash, got)
	}
	parsed, err := parseLine(bytes.TrimSuffix(line, []byte("\n")))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rec, parsed); diff != "" {
		t.Errorf("parseLine(seal(rec)) (-want +got):\n%s", diff)
	}
}

func TestRecordLineDetectsMismatchedHash(t *testing.T) {
	rec := Record{Seq: 1, PrevHash: GenesisHash, Event: sampleEvent(1)}
	rec.Time = fixedClock()()
	if _, err := rec.seal(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.Line(); err != nil {
		t.Fatalf("Line() of a sealed record: %v", err)
	}
	rec.TenantID = "tampered"
	if _, err := rec.Line(); err == nil {
		t.Error("Line() of a record changed after sealing succeeded, want an error")
	}
}

func TestParseLineClassifies(t *testing.T) {
	rec := Record{Seq: 1, PrevHash: GenesisHash, Event: sampleEvent(1)}
	rec.Time = fixedClock()()
	line, err := rec.seal(nil)
	if err != nil {
		t.Fatal(err)
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	tests := []struct {
		name       string
		line       []byte
		wantEdited bool
	}{
		{"edited value", bytes.Replace(line, []byte(`"tenantId":"globex"`), []byte(`"tenantId":"evil"`), 1), true},
		{"added member", bytes.Replace(line, []byte(`{`), []byte(`{"extra":"x",`), 1), true},
		{"not json", line[:len(line)/2], false},
		{"duplicate member", bytes.Replace(line, []byte(`{`), []byte(`{"tenantId":"evil",`), 1), false},
		{"no hash", bytes.Replace(line, []byte(`"hash":"`+rec.Hash+`",`), nil, 1), false},
		{"array", []byte(`[1,2]`), false},
	}
	for _, tt := range tests {
		_, err := parseLine(tt.line)
		if err == nil {
			t.Errorf("%s: parseLine accepted %s", tt.name, tt.line)
			continue
		}
		if got := errors.Is(err, errHashMismatch); got != tt.wantEdited {
			t.Errorf("%s: edited = %v (%v), want %v", tt.name, got, err, tt.wantEdited)
		}
	}
}

func TestParseHead(t *testing.T) {
	hash := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	tests := []struct {
		in      string
		want    Head
		wantErr bool
	}{
		{in: "12:" + hash, want: Head{Seq: 12, Hash: hash}},
		{in: hash + "\n", want: Head{Hash: hash}},
		{in: "0:" + hash, wantErr: true},
		{in: "x:" + hash, wantErr: true},
		{in: "012:" + hash, wantErr: true},
		{in: "12:" + hash[:63], wantErr: true},
		{in: "12:" + hash[:63] + "G", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseHead(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseHead(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseHead(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}
