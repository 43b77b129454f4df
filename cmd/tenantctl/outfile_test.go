package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/internal/exitcode"
)

// withUmask runs f under umask mask. The umask is process-wide: callers are not parallel tests, and
// Go runs parallel tests only after the sequential ones have finished.
func withUmask(t *testing.T, mask int, f func()) {
	t.Helper()
	old := syscall.Umask(mask)
	defer syscall.Umask(old)
	f()
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestWriteFileAtomicModes: shared files are 0644 and private ones 0600 under a strict and a loose
// umask, for a new file and for one that existed with another mode; nothing is left behind.
func TestWriteFileAtomicModes(t *testing.T) {
	for _, mask := range []int{0o077, 0o022, 0o000} {
		for _, kind := range []fileKind{sharedFile, privateFile} {
			for _, existing := range []os.FileMode{0, 0o600, 0o666} {
				dir := t.TempDir()
				path := filepath.Join(dir, "out")
				if existing != 0 {
					if err := os.WriteFile(path, []byte("old"), existing); err != nil {
						t.Fatal(err)
					}
					if err := os.Chmod(path, existing); err != nil {
						t.Fatal(err)
					}
				}
				withUmask(t, mask, func() {
					if err := writeFileAtomic(path, kind, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
						t.Fatal(err)
					}
				})
				if got := fileMode(t, path); got != kind.mode() {
					t.Errorf("umask %03o, %s file over existing mode %v: mode %v, want %v", mask, kind, existing, got, kind.mode())
				}
				if b, _ := os.ReadFile(path); string(b) != "new" {
					t.Errorf("content %q", b)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 1 {
					t.Errorf("temporary files left: %v", entries)
				}
			}
		}
	}
	if sharedFile.mode() != 0o644 || privateFile.mode() != 0o600 {
		t.Errorf("modes: shared %v private %v", sharedFile.mode(), privateFile.mode())
	}
}

// TestWriteFileAtomicFailureKeepsOld: a writer that fails leaves the previous file as it was.
func TestWriteFileAtomicFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	if err := os.WriteFile(path, []byte("previous"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := writeFileAtomic(path, sharedFile, func(w io.Writer) error {
		_, _ = io.WriteString(w, "half")
		return io.ErrShortWrite
	})
	if err == nil {
		t.Fatal("no error")
	}
	if b, _ := os.ReadFile(path); string(b) != "previous" {
		t.Errorf("content %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

// TestOutFilesAreSharedUnderAnyUmask runs the commands that write reports and pictures with --out
// under umask 077 and 022: the files are 0644 either way.
func TestOutFilesAreSharedUnderAnyUmask(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, mask := range []int{0o077, 0o022} {
		dir := t.TempDir()
		a := shardReport(t, dir, "c1", &report.Shard{Index: 1, Count: 2}, "acme")
		b := shardReport(t, dir, "c1", &report.Shard{Index: 2, Count: 2}, "globex")
		for _, tc := range []struct {
			name string
			args func(out string) []string
		}{
			{"drift merge --out", func(out string) []string { return []string{"drift", "merge", "-o", "sarif", "--out", out, a, b} }},
			{"isolation graph --out", func(out string) []string {
				return []string{"isolation", "graph", "-d", examplesDir, "--desired-only", "-o", "dot", "--out", out}
			}},
		} {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			var code int
			var stderr string
			withUmask(t, mask, func() {
				code, _, stderr = execTenantctl(t, context.Background(), tc.args(out)...)
			})
			if code != exitcode.OK {
				t.Fatalf("%s: exit %d: %s", tc.name, code, stderr)
			}
			if got := fileMode(t, out); got != 0o644 {
				t.Errorf("umask %03o: %s wrote mode %v, want 0644", mask, tc.name, got)
			}
		}
	}
}
