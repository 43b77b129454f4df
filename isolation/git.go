package isolation

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// gitInfo is the revision of the desired state: the work tree root, the HEAD commit and whether
// the files Load read differ from it.
type gitInfo struct {
	root   string
	commit string
	dirty  bool
}

// readGit finds the Git work tree holding dir (searching parent folders) and compares the files
// Load read with the HEAD commit's copy of the folder.
//
// Dirtiness is computed for the desired-state files only, not with Worktree().Status(): that
// hashes the entire work tree (slow for a big monorepo) and judges files Load never reads. We
// hash exactly the bytes Load decoded and compare them with the blobs of HEAD's tree below the
// folder, so "clean" means "these documents are the commit's", whatever the index holds.
func readGit(dir string, files []sourceFile) (gitInfo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return gitInfo{}, fmt.Errorf("git: %w", err)
	}
	repo, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return gitInfo{}, nil
	}
	if err != nil {
		return gitInfo{}, fmt.Errorf("git: open repository at %s: %w", dir, err)
	}
	wt, err := repo.Worktree()
	if errors.Is(err, git.ErrIsBareRepository) {
		return gitInfo{}, nil
	}
	if err != nil {
		return gitInfo{}, fmt.Errorf("git: work tree: %w", err)
	}
	info := gitInfo{root: wt.Filesystem.Root()}
	prefix, err := relativeTo(info.root, abs)
	if err != nil {
		return gitInfo{}, fmt.Errorf("git: %w", err)
	}

	onDisk := make(map[string]plumbing.Hash, len(files))
	for _, f := range files {
		onDisk[f.rel] = plumbing.ComputeHash(plumbing.BlobObject, f.data)
	}
	head, err := repo.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		info.dirty = len(onDisk) > 0 // no commit yet: every file is new
		return info, nil
	}
	if err != nil {
		return gitInfo{}, fmt.Errorf("git: HEAD: %w", err)
	}
	info.commit = head.Hash().String()
	committed, err := committedFiles(repo, head.Hash(), prefix)
	if err != nil {
		return gitInfo{}, fmt.Errorf("git: commit %s: %w", info.commit, err)
	}
	info.dirty = !sameFiles(onDisk, committed)
	return info, nil
}

// relativeTo returns dir relative to the work tree root, slash-separated ("" for the root).
// Symlinks are resolved on both sides (/tmp is a link on some systems).
func relativeTo(root, dir string) (string, error) {
	r, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	d, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(r, d)
	if err != nil {
		return "", err
	}
	if rel == "." {
		return "", nil
	}
	if strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("%s is outside the work tree %s", dir, root)
	}
	return filepath.ToSlash(rel), nil
}

// committedFiles lists the desired-state files of the commit's tree below prefix, by path
// relative to prefix.
func committedFiles(repo *git.Repository, hash plumbing.Hash, prefix string) (map[string]plumbing.Hash, error) {
	commit, err := repo.CommitObject(hash)
	if err != nil {
		return nil, err
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, err
	}
	out := map[string]plumbing.Hash{}
	if prefix != "" {
		tree, err = tree.Tree(prefix)
		if errors.Is(err, object.ErrDirectoryNotFound) {
			return out, nil // the folder is not in the commit at all
		}
		if err != nil {
			return nil, err
		}
	}
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	for {
		name, entry, err := walker.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if entry.Mode == filemode.Regular || entry.Mode == filemode.Executable || entry.Mode == filemode.Deprecated {
			if IsDesiredStateFile(name) {
				out[name] = entry.Hash
			}
		}
	}
}

func sameFiles(a, b map[string]plumbing.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
