package detect

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ImageRef is a parsed container image reference, normalised the way the container runtime
// resolves it: "nginx" is docker.io/library/nginx:latest.
type ImageRef struct {
	// Registry is the host (and port) the image is pulled from, lower-cased: "docker.io",
	// "connectsoft.azurecr.io", "localhost:5000".
	Registry   string
	Repository string
	Tag        string
	// Digest is "sha256:<hex>" when the reference pins one.
	Digest string
}

// DefaultRegistry is where references without a registry host are pulled from.
const DefaultRegistry = "docker.io"

// Pinned reports whether the reference names an immutable digest (a tag next to it is ignored
// by the runtime).
func (r ImageRef) Pinned() bool { return r.Digest != "" }

// String is the fully qualified form.
func (r ImageRef) String() string {
	s := r.Registry + "/" + r.Repository
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

var (
	pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	hostPort      = regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$`)
	tagPattern    = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
	digests       = map[string]*regexp.Regexp{
		"sha256": regexp.MustCompile(`^[a-f0-9]{64}$`),
		"sha512": regexp.MustCompile(`^[a-f0-9]{128}$`),
	}
)

// ParseImage parses an image reference by the distribution reference grammar: an optional
// registry host (the first component when it holds a "." or ":" or is "localhost"), a
// lower-case repository path, an optional tag, an optional digest. Without a host the registry
// is docker.io, and a one-component path gets the "library/" prefix; index.docker.io is
// docker.io. A reference without tag or digest means tag "latest".
func ParseImage(s string) (ImageRef, error) {
	if s == "" {
		return ImageRef{}, errors.New("image reference is empty")
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return ImageRef{}, fmt.Errorf("image reference %q contains whitespace", s)
	}
	var ref ImageRef
	name := s
	if at := strings.Index(s, "@"); at >= 0 {
		name = s[:at]
		algo, hex, ok := strings.Cut(s[at+1:], ":")
		re := digests[algo]
		if !ok || re == nil || !re.MatchString(hex) {
			return ImageRef{}, fmt.Errorf("image reference %q: digest is not sha256:<64 hex> or sha512:<128 hex>", s)
		}
		ref.Digest = algo + ":" + hex
	}
	if colon := strings.LastIndex(name, ":"); colon > strings.LastIndex(name, "/") {
		ref.Tag = name[colon+1:]
		name = name[:colon]
		if !tagPattern.MatchString(ref.Tag) {
			return ImageRef{}, fmt.Errorf("image reference %q: invalid tag %q", s, ref.Tag)
		}
	}
	first, rest, hasSlash := strings.Cut(name, "/")
	if hasSlash && (strings.ContainsAny(first, ".:") || first == "localhost") {
		if !hostPort.MatchString(first) {
			return ImageRef{}, fmt.Errorf("image reference %q: invalid registry host %q", s, first)
		}
		ref.Registry = strings.ToLower(first)
		ref.Repository = rest
	} else {
		ref.Registry = DefaultRegistry
		ref.Repository = name
	}
	if ref.Registry == "index.docker.io" {
		ref.Registry = DefaultRegistry
	}
	for _, c := range strings.Split(ref.Repository, "/") {
		if !pathComponent.MatchString(c) {
			return ImageRef{}, fmt.Errorf("image reference %q: invalid repository path %q", s, ref.Repository)
		}
	}
	if ref.Registry == DefaultRegistry && !strings.Contains(ref.Repository, "/") {
		ref.Repository = "library/" + ref.Repository
	}
	if ref.Tag == "" && ref.Digest == "" {
		ref.Tag = "latest"
	}
	return ref, nil
}

// TrustedBy reports whether the reference's registry is one of trusted (host[:port], compared
// case-insensitively; "index.docker.io" counts as docker.io).
func (r ImageRef) TrustedBy(trusted []string) bool {
	for _, t := range trusted {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "index.docker.io" {
			t = DefaultRegistry
		}
		if t == r.Registry {
			return true
		}
	}
	return false
}
