package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/internal/exitcode"
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

// ParseFormat accepts a format name in any case; an unknown one is invalid input (exit 3).
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Formats, f) {
		return f, nil
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", exitcode.With(exitcode.Invalid, fmt.Errorf("output format %q: want one of %s", s, strings.Join(names, ", ")))
}

// Render writes r to w in format f.
func Render(w io.Writer, f Format, r *Report) error {
	switch f {
	case FormatText:
		return Text(w, r)
	case FormatJSON:
		return JSON(w, r)
	case FormatSARIF:
		return SARIF(w, r)
	case FormatJUnit:
		return JUnit(w, r)
	case FormatGitHub:
		return GitHub(w, r)
	}
	_, err := ParseFormat(string(f))
	return err
}
