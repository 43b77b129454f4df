package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// fileKind says who may read a file tenantctl writes, and so its mode. Every file a command
// writes goes through writeFileAtomic with one of these, so the choice is made (and reviewed) at
// the call site, not left to the umask.
type fileKind int

const (
	// sharedFile: reports (drift check/merge --out), pictures (isolation graph --out) and ignore
	// files (drift baseline). They are meant to be handed on, served by CI, committed: 0644
	// whatever the umask, so a CI job running with umask 077 still publishes readable artifacts.
	sharedFile fileKind = iota
	// privateFile: state (the watcher's last report), keys, passphrases, remediation plans (they
	// name every tenant's objects) and inventory snapshots (ConfigMap values, object names):
	// 0600, whatever the umask allows.
	privateFile
)

// mode is the file mode of the kind.
func (k fileKind) mode() os.FileMode {
	if k == sharedFile {
		return 0o644
	}
	return 0o600
}

func (k fileKind) String() string {
	if k == sharedFile {
		return "shared"
	}
	return "private"
}

// writeFileAtomic writes path with the mode of kind through a temporary file in the same folder:
// a failed write never leaves half a file behind, and a reader never sees one. The temporary file
// is created 0600 (os.CreateTemp) and then chmod-ed, which the umask does not apply to; the rename
// keeps that mode, also when path existed with another one.
func writeFileAtomic(path string, kind fileKind, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(kind.mode()); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	// Reports land in CI artifacts and state is read by the next run: flush before the rename
	// publishes the file, so a crash cannot leave an empty file under the final name.
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
