package audit

import (
	"context"
	"path/filepath"
	"testing"
)

func BenchmarkAppend(b *testing.B) {
	for _, durable := range []bool{false, true} {
		name := "no-fsync"
		opts := []Option{WithoutFsync()}
		if durable {
			name, opts = "fsync", nil
		}
		b.Run(name, func(b *testing.B) {
			l, err := Open(filepath.Join(b.TempDir(), "audit.jsonl"), opts...)
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
