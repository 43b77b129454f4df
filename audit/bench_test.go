package audit

import (
	"context"
	"path/filepath"
	"testing"
)

func BenchmarkAppend(b *testing.B) {
	key, err := GenerateSigningKey()
	if err != nil {
		b.Fatal(err)
	}
	for _, durable := range []bool{false, true} {
		for _, signed := range []bool{false, true} {
			name := "no-fsync"
			if durable {
				name = "fsync"
			}
			if signed {
				name += "/signed+2-checkpoints"
			} else {
				name += "/unsigned"
			}
			b.Run(name, func(b *testing.B) {
				dir := b.TempDir()
				path := filepath.Join(dir, "audit.jsonl")
				var opts []Option
				if !durable {
					opts = append(opts, WithoutFsync())
				}
				if signed {
					opts = append(opts, WithRecordSigningKey(key), WithHeadFile(HeadPath(path)), WithCheckpointFiles(filepath.Join(dir, "second.checkpoint")))
				}
				l, err := Open(path, opts...)
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				ev := sampleEvent(1)
				ev.EventID = ""
				for b.Loop() {
					if _, err := l.Append(context.Background(), ev); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkOpen measures resuming a log whose tail window is full: the cost every CLI run pays.
func BenchmarkOpen(b *testing.B) {
	path := filepath.Join(b.TempDir(), "audit.jsonl")
	l, err := Open(path, WithoutFsync())
	if err != nil {
		b.Fatal(err)
	}
	ev := sampleEvent(1)
	ev.EventID = ""
	for range DefaultIndexSize + 100 {
		if _, err := l.Append(context.Background(), ev); err != nil {
			b.Fatal(err)
		}
	}
	l.Close()
	for b.Loop() {
		l, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		l.Close()
	}
}
