package check

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
)

// revision is what a report names as the desired state it compared against.
type revision struct {
	commit string
	dirty  bool
}

// readRevision describes the desired state. Outside a Git work tree (or before the first commit)
// there is no commit id: the report names the content instead ("sha256:<16 hex>" over every file
// Load reads), so shard reports of one content still merge and reports of different content do
// not; it is marked dirty because no commit describes it.
func readRevision(state *isolation.DesiredState) (revision, error) {
	rev := revision{commit: state.Commit, dirty: state.Dirty}
	if state.Commit != "" {
		return rev, nil
	}
	digest, err := scanDesiredFiles(state.Dir)
	if err != nil {
		return rev, fmt.Errorf("desired state %s: %w", state.Dir, err)
	}
	rev.commit, rev.dirty = "sha256:"+digest[:16], true
	return rev, nil
}

// scanDesiredFiles hashes the files isolation.Load reads (path and content, in walk order, which
// is lexical).
func scanDesiredFiles(dir string) (digest string, err error) {
	h := sha256.New()
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !d.Type().IsRegular() || !isolation.IsDesiredStateFile(rel) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		h.Write([]byte(rel + "\x00" + strconv.Itoa(len(data)) + "\x00"))
		h.Write(data)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}
