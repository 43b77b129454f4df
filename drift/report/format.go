package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/internal/errkind"
)

// Format is an output format of -o/--output.
type Format string

const (
	FormatText   Format = "text"
	FormatJSON   Format = "json"
	FormatSARIF  Format = "sarif"
	FormatJUnit  Format = "junit"
	FormatGitHub Format = "github"
)

// Formats lists every format, for flag help.
var Formats = []Format{FormatText, FormatJSON, FormatSARIF, FormatJUnit, FormatGitHub}

// ParseFormat accepts a format name in any case; an unknown one is invalid input.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Formats, f) {
		return f, nil
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", errkind.Mark(errkind.Invalid, fmt.Errorf("output format %q: want one of %s", s, strings.Join(names, ", ")))
}

// RenderOption configures Render, Text, SARIF and GitHub.
type RenderOption func(*renderOptions)

type renderOptions struct {
	exitCode func(Status) int
}

// WithExitCodes has the text, SARIF and GitHub formats state the exit code the caller returns for
// a report of each status. The caller decides the codes (cmd/tenantctl owns the exit-code
// contract); without this option those formats state the status alone.
func WithExitCodes(code func(Status) int) RenderOption {
	return func(o *renderOptions) { o.exitCode = code }
}

func renderConfig(opts []RenderOption) renderOptions {
	var o renderOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// exitCodeOf is the code stated for r, and whether one is.
func (o renderOptions) exitCodeOf(r *Report) (int, bool) {
	if o.exitCode == nil {
		return 0, false
	}
	return o.exitCode(r.Status()), true
}

// Render writes r to w in format f.
func Render(w io.Writer, f Format, r *Report, opts ...RenderOption) error {
	switch f {
	case FormatText:
		return Text(w, r, opts...)
	case FormatJSON:
		return JSON(w, r)
	case FormatSARIF:
		return SARIF(w, r, opts...)
	case FormatJUnit:
		return JUnit(w, r)
	case FormatGitHub:
		return GitHub(w, r, opts...)
	}
	_, err := ParseFormat(string(f))
	return err
}
