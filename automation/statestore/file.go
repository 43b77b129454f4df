package statestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/connectsoft/tenantctl/internal/workpool"
)

// fileStore is a file:// backend: a folder on this machine.
type fileStore struct{ root string }

// openFile opens the folder of a file:// URL.
func openFile(backendURL string) (*fileStore, error) {
	dir, _, err := FileBackendDir(backendURL)
	if err != nil {
		return nil, err
	}
	return &fileStore{root: dir}, nil
}

// FileBackendDir is the folder a file:// backend URL names, resolved as Pulumi resolves it:
// file://~ is the home folder, and a query string (file://DIR?no_tmp_dir=true&metadata=skip)
// does not name the folder. ok is false for any other scheme.
func FileBackendDir(backendURL string) (dir string, ok bool, err error) {
	dir, ok = strings.CutPrefix(backendURL, "file://")
	if !ok {
		return "", false, nil
	}
	dir, _, _ = strings.Cut(dir, "?")
	if dir == "~" || strings.HasPrefix(dir, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", true, fmt.Errorf("file backend %s: %w", backendURL, err)
		}
		dir = filepath.Join(home, strings.TrimPrefix(dir, "~"))
	}
	if dir == "" {
		return "", true, fmt.Errorf("file backend %q names no folder", backendURL)
	}
	return dir, true, nil
}

func (s *fileStore) path(key string) string { return filepath.Join(s.root, filepath.FromSlash(key)) }

func (s *fileStore) read(_ context.Context, key string) ([]byte, error) {
	b, err := os.ReadFile(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNotExist
	}
	return b, err
}

// list walks prefix (a folder) and returns the keys of the files below it.
func (s *fileStore) list(_ context.Context, prefix string) ([]string, error) {
	var keys []string
	root := s.path(prefix)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == root {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		keys = append(keys, filepath.ToSlash(rel))
		return nil
	})
	return keys, err
}

func (s *fileStore) listContaining(ctx context.Context, prefix, infix string) ([]string, error) {
	keys, err := s.list(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := keys[:0]
	for _, k := range keys {
		if strings.Contains(k, infix) {
			out = append(out, k)
		}
	}
	return out, nil
}

// readAll reads the files directly in folder prefix whose keys pass keep, eight at a time.
func (s *fileStore) readAll(ctx context.Context, prefix string, keep func(string) bool) (map[string][]byte, error) {
	entries, err := os.ReadDir(s.path(prefix))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string][]byte{}, nil
	}
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, e := range entries {
		if key := path.Join(prefix, e.Name()); e.Type().IsRegular() && keep(key) {
			keys = append(keys, key)
		}
	}
	return s.readKeys(ctx, keys)
}

// readKeys reads the files of keys, eight at a time; a file that is gone is left out.
func (s *fileStore) readKeys(ctx context.Context, keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	var mu sync.Mutex
	var firstErr error
	workpool.Each(ctx, 8, len(keys), func(i int) {
		b, err := os.ReadFile(s.path(keys[i]))
		mu.Lock()
		defer mu.Unlock()
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// removed meanwhile (stack rm): as if never listed
		case err != nil && firstErr == nil:
			firstErr = err
		case err == nil:
			out[keys[i]] = b
		}
	}, nil)
	if firstErr != nil {
		return nil, firstErr
	}
	return out, ctx.Err()
}

func (s *fileStore) Close() error { return nil }

// create writes the object through a temporary file in the same folder and hard-links it to its
// name: link(2) fails when the name exists, so the object appears whole and only once.
func (s *fileStore) create(_ context.Context, key string, data []byte) (bool, error) {
	final := s.path(key)
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o777); err != nil { // the folder mode go-cloud's fileblob uses
		return false, err
	}
	tmp, err := os.CreateTemp(dir, ".tenantctl-create-*") // 0600, as fileblob's files
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	switch err := os.Link(tmp.Name(), final); {
	case errors.Is(err, fs.ErrExist):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}
