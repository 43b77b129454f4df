package render_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
	f "github.com/connectsoft/tenantctl/isolation/reach/internal/fixture"
	"github.com/connectsoft/tenantctl/isolation/reach/render"
)

// fixtureGraph has allowed platform edges, an unexpected edge (a cross-tenant policy pair, on a
// namespace that also lost its default-deny) and unknown ones (an ipBlock over part of the pod
// range).
func fixtureGraph(t *testing.T) *reach.Graph {
	t.Helper()
	env := f.Env("kubernetes")
	bs := []*isolation.RuntimeTenantBinding{
		f.Binding("acme", isolation.TierSilo, "10.20.0.0/16"),
		f.Binding("globex", isolation.TierPool, ""),
		f.Binding("hooli", isolation.TierPool, ""),
		f.Binding("initech", isolation.TierShared, ""),
	}
	snap, err := reach.PlannedSnapshot(env, bs)
	if err != nil {
		t.Fatal(err)
	}
	tenant := func(id string) map[string]any { return f.Sel(f.Labels(f.TenantLabel + "=" + id)) }
	objs := append(snap.Kubernetes,
		f.Policy("t-globex", "from-acme", map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"},
			"ingress": []any{map[string]any{"from": []any{map[string]any{"namespaceSelector": tenant("acme")}}}}}),
		f.Policy("t-acme", "to-globex", map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Egress"},
			"egress": []any{map[string]any{"to": []any{map[string]any{"namespaceSelector": tenant("globex")}},
				"ports": []any{map[string]any{"protocol": "TCP", "port": int64(5432)}}}}}),
		f.Policy("t-hooli", "to-pods", map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Egress"},
			"egress": []any{map[string]any{"to": []any{map[string]any{"ipBlock": map[string]any{"cidr": "10.244.7.0/24"}}}}}}),
	)
	g, err := reach.Analyze(context.Background(), env, bs, f.Snapshot(withoutPolicies(objs, "t-globex")))
	if err != nil {
		t.Fatal(err)
	}
	if g.Count(reach.VerdictUnexpected) == 0 || g.Count(reach.VerdictUnknown) == 0 || g.Count(reach.VerdictAllowed) == 0 {
		t.Fatalf("fixture should have edges of every verdict, has %d/%d/%d", g.Count(reach.VerdictUnexpected), g.Count(reach.VerdictUnknown), g.Count(reach.VerdictAllowed))
	}
	return g
}

// withoutPolicies drops globex's default-deny, leaving its same-namespace policy: pods stay
// selected for both directions, so only the added policies open anything.
func withoutPolicies(objs []unstructured.Unstructured, ns string) []unstructured.Unstructured {
	return f.Without(objs, "NetworkPolicy "+ns+"/default-deny")
}

var httpURL = regexp.MustCompile(`https?://[^\s"'<>)]+`)

func draw(t *testing.T, fn func(io.Writer, *reach.Graph) error, g *reach.Graph) string {
	t.Helper()
	var b bytes.Buffer
	if err := fn(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestNoNetworkReferences(t *testing.T) {
	g := fixtureGraph(t)
	for name, fn := range map[string]func(io.Writer, *reach.Graph) error{"html": render.HTML, "svg": render.SVG, "dot": render.DOT} {
		out := draw(t, fn, g)
		for _, u := range httpURL.FindAllString(out, -1) {
			if u != "http://www.w3.org/2000/svg" {
				t.Errorf("%s output references %s", name, u)
			}
		}
		for _, tag := range []string{"<link", "<img", "src=", "@import", "url(http"} {
			if strings.Contains(out, tag) {
				t.Errorf("%s output contains %q, which could fetch", name, tag)
			}
		}
	}
}

func TestSVGIsWellFormedAndCountsEdges(t *testing.T) {
	g := fixtureGraph(t)
	out := draw(t, render.SVG, g)
	dec := xml.NewDecoder(strings.NewReader(out))
	counts := map[string]int{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "g" {
			for _, a := range se.Attr {
				if a.Name.Local == "class" {
					counts[a.Value]++
				}
			}
		}
	}
	for _, v := range []reach.Verdict{reach.VerdictAllowed, reach.VerdictUnexpected, reach.VerdictUnknown} {
		if got, want := counts["edge "+string(v)], g.Count(v); got != want {
			t.Errorf("SVG draws %d %s edges, graph has %d", got, v, want)
		}
	}
}

func TestDOTHasEveryEdge(t *testing.T) {
	g := fixtureGraph(t)
	out := draw(t, render.DOT, g)
	if got := strings.Count(out, " -> "); got != len(g.Edges) {
		t.Errorf("DOT has %d edges, graph has %d", got, len(g.Edges))
	}
	if got := strings.Count(out, `[color="#d93025"`); got != g.Count(reach.VerdictUnexpected) {
		t.Errorf("DOT has %d red edges, graph has %d unexpected", got, g.Count(reach.VerdictUnexpected))
	}
	if !strings.HasPrefix(out, "digraph reachability {") || !strings.HasSuffix(out, "}\n") {
		t.Errorf("DOT is not one digraph:\n%s", out)
	}
}

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH (`make test-deps` installs Debian's chromium)"
	if os.Getenv("TENANTCTL_SKIP_INTEGRATION") == "1" && os.Getenv("CI") != "true" {
		t.Skip(msg)
	}
	t.Fatal(msg)
	return ""
}

// TestHTMLInHeadlessChromium loads the page in headless Chromium: the script must run to the end
// without console errors and draw the fixture's edges; a screenshot is written (to
// $TENANTCTL_SCREENSHOT_DIR when set, else the test's temp dir).
func TestHTMLInHeadlessChromium(t *testing.T) {
	bin := chromium(t)
	g := fixtureGraph(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "graph.html")
	if err := os.WriteFile(page, []byte(draw(t, render.HTML, g)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--disable-background-networking", "--user-data-dir=" + filepath.Join(dir, "profile"), "--enable-logging=stderr", "--v=0"}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append(flags, "--dump-dom", "file://"+page)...)
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, stderr.String())
	}
	body := regexp.MustCompile(`<body[^>]*>`).Find(dom)
	if body == nil {
		t.Fatalf("no <body> in the dumped DOM:\n%.2000s", dom)
	}
	attr := func(name string) string {
		m := regexp.MustCompile(name + `="([^"]*)"`).FindSubmatch(body)
		if m == nil {
			return ""
		}
		return string(m[1])
	}
	if got := attr("data-state"); got != "ready" {
		t.Errorf("page script did not finish: data-state=%q\n%s", got, stderr.String())
	}
	if got := attr("data-console-errors"); got != "0" {
		t.Errorf("page logged %s console errors", got)
	}
	for name, want := range map[string]int{
		"data-rendered-edges":      len(g.Edges),
		"data-rendered-unexpected": g.Count(reach.VerdictUnexpected),
		"data-rendered-unknown":    g.Count(reach.VerdictUnknown),
	} {
		if got := attr(name); got != strconv.Itoa(want) {
			t.Errorf("%s = %q, want %d", name, got, want)
		}
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "CONSOLE(") {
			t.Errorf("browser console: %s", line)
		}
	}

	shots := os.Getenv("TENANTCTL_SCREENSHOT_DIR")
	if shots == "" {
		shots = dir
	}
	png := filepath.Join(shots, "reachability-graph.png")
	shot := exec.CommandContext(ctx, bin, append(flags, "--hide-scrollbars", "--window-size=1500,900", "--screenshot="+png, "file://"+page)...)
	if out, err := shot.CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	data, err := os.ReadFile(png)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) || len(data) < 10_000 {
		t.Fatalf("screenshot %s is not a plausible PNG (%d bytes)", png, len(data))
	}
	t.Logf("screenshot: %s (%d bytes)", png, len(data))
}
