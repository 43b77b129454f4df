package audit

import (
	"bufio"
	"errors"
	"io"
)

// lineScanner reads '\n'-terminated lines of at most max bytes, reporting the byte offset of each
// line, whether it was terminated and whether it was cut for being too long, so a reader of an
// audit log can tell a truncated record from a complete one.
type lineScanner struct {
	r   *bufio.Reader
	max int

	line     []byte // without the '\n'; at most max bytes
	off      int64  // offset of the line's first byte
	size     int    // bytes the line took in the input, '\n' included
	number   int    // 1-based
	complete bool   // ended with '\n'
	tooLong  bool
	next     int64
	err      error
}

func newLineScanner(r io.Reader, max int) *lineScanner {
	return &lineScanner{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

func (s *lineScanner) Scan() bool {
	s.line, s.complete, s.tooLong, s.off, s.size = s.line[:0], false, false, s.next, 0
	for {
		chunk, err := s.r.ReadSlice('\n')
		s.size += len(chunk)
		if room := s.max + 1 - len(s.line); room > 0 {
			s.line = append(s.line, chunk[:min(room, len(chunk))]...)
		}
		switch {
		case err == nil:
			s.complete = true
			s.line = s.line[:len(s.line)-min(1, len(s.line))]
			if s.size-1 > s.max {
				s.tooLong, s.line = true, s.line[:min(len(s.line), s.max)]
			}
			return s.advance()
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if s.size == 0 {
				return false
			}
			if s.size > s.max {
				s.tooLong, s.line = true, s.line[:s.max]
			}
			return s.advance()
		default:
			s.err = err
			return false
		}
	}
}

func (s *lineScanner) advance() bool {
	s.number++
	s.next = s.off + int64(s.size)
	return true
}

func (s *lineScanner) Err() error { return s.err }
