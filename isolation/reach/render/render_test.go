package render_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
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

	reachbench "github.com/connectsoft/tenantctl/bench/reach"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
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

type drawFunc func(io.Writer, *reach.Graph) error

func formats(o render.Options) map[string]drawFunc {
	ctx := context.Background()
	return map[string]drawFunc{
		"html": func(w io.Writer, g *reach.Graph) error { return render.HTML(ctx, w, g, o) },
		"svg":  func(w io.Writer, g *reach.Graph) error { return render.SVG(ctx, w, g, o) },
		"dot":  func(w io.Writer, g *reach.Graph) error { return render.DOT(w, g, o) },
	}
}

func draw(t *testing.T, fn drawFunc, g *reach.Graph) string {
	t.Helper()
	var b bytes.Buffer
	if err := fn(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestNoNetworkReferences(t *testing.T) {
	g := fixtureGraph(t)
	for _, o := range []render.Options{{}, {View: render.ViewMatrix}, {Tenant: "acme"}, {View: render.ViewFull}} {
		for name, fn := range formats(o) {
			out := draw(t, fn, g)
			for _, u := range httpURL.FindAllString(out, -1) {
				if u != "http://www.w3.org/2000/svg" {
					t.Errorf("%s %+v output references %s", name, o, u)
				}
			}
			for _, tag := range []string{"<link", "<img", "src=", "@import", "url(http"} {
				if strings.Contains(out, tag) {
					t.Errorf("%s %+v output contains %q, which could fetch", name, o, tag)
				}
			}
		}
	}
}

func TestOptionsAreChecked(t *testing.T) {
	g := fixtureGraph(t)
	for _, o := range []render.Options{{View: "pie"}, {View: render.ViewFocus}, {Tenant: "nobody"}} {
		for name, fn := range formats(o) {
			if err := fn(io.Discard, g); err == nil {
				t.Errorf("%s accepted %+v", name, o)
			}
		}
	}
}

// expected is what each view must draw, computed from the graph without the renderer.
type expected struct {
	attention, attentionAggregates, focus, cells int
	focusTenant                                  string
}

func expect(g *reach.Graph) expected {
	var x expected
	groups := map[string]bool{}
	pairs := map[[2]string]bool{}
	for _, e := range g.Edges {
		pairs[[2]string{e.From, e.To}] = true
		switch {
		case e.Verdict != reach.VerdictAllowed:
			x.attention++
			if x.focusTenant == "" && e.Verdict == reach.VerdictUnexpected {
				x.focusTenant = e.From
			}
		case e.From == isolation.Platform || e.To == isolation.Platform:
			other := e.From
			if other == isolation.Platform {
				other = e.To
			}
			n := g.Node(other)
			tier := string(n.Tier)
			if !n.Declared || tier == "" {
				tier = "undeclared"
			}
			groups[fmt.Sprint(tier, e.From == isolation.Platform)] = true
		}
	}
	x.attention += len(g.Exposures)
	x.attentionAggregates = len(groups)
	x.cells = len(pairs)
	if x.focusTenant == "" {
		x.focusTenant = g.Nodes[len(g.Nodes)-1].ID
	}
	for _, e := range g.Edges {
		if e.From == x.focusTenant || e.To == x.focusTenant {
			x.focus++
		}
	}
	for _, e := range g.Exposures {
		if e.Tenant == x.focusTenant || e.Peer == x.focusTenant || e.Peer == graph.AnyTenant {
			x.focus++
		}
	}
	return x
}

// svgEdges counts the SVG's <g class="edge ..."> by class, and checks it is well-formed XML.
func svgEdges(t *testing.T, out string) map[string]int {
	t.Helper()
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
				if a.Name.Local == "class" && strings.HasPrefix(a.Value, "edge ") {
					counts["all"]++
					counts[strings.TrimPrefix(a.Value, "edge ")]++
				}
			}
		}
	}
	return counts
}

// TestSVGViews: the attention view draws every unexpected and unknown edge and exposure and one
// line per tier and direction for the allowed platform edges; the focus view a tenant's edges;
// the full view every edge.
func TestSVGViews(t *testing.T) {
	g := fixtureGraph(t)
	x := expect(g)
	ctx := context.Background()
	for _, tc := range []struct {
		o    render.Options
		want map[string]int
	}{
		{render.Options{}, map[string]int{"all": x.attention + x.attentionAggregates, "unexpected": g.Count(reach.VerdictUnexpected),
			"unknown": g.Count(reach.VerdictUnknown), "allowed aggregate": x.attentionAggregates, "unexpected exposure": len(g.Exposures)}},
		{render.Options{Tenant: x.focusTenant}, map[string]int{"all": x.focus}},
		{render.Options{View: render.ViewFull}, map[string]int{"all": len(g.Edges) + len(g.Exposures), "allowed": g.Count(reach.VerdictAllowed)}},
	} {
		var b bytes.Buffer
		if err := render.SVG(ctx, &b, g, tc.o); err != nil {
			t.Fatal(err)
		}
		got := svgEdges(t, b.String())
		for k, want := range tc.want {
			if got[k] != want {
				t.Errorf("%+v: %d edges of class %q, want %d (all: %v)", tc.o, got[k], k, want, got)
			}
		}
	}
}

func TestDOTHasEveryEdge(t *testing.T) {
	g := fixtureGraph(t)
	out := draw(t, formats(render.Options{View: render.ViewFull})["dot"], g)
	if got := strings.Count(out, " -> "); got != len(g.Edges)+len(g.Exposures) {
		t.Errorf("DOT has %d edges, graph has %d and %d exposures", got, len(g.Edges), len(g.Exposures))
	}
	if got := strings.Count(out, `style=bold`); got != g.Count(reach.VerdictUnexpected) {
		t.Errorf("DOT has %d bold edges, graph has %d unexpected", got, g.Count(reach.VerdictUnexpected))
	}
	if !strings.HasPrefix(out, "digraph reachability {") || !strings.HasSuffix(out, "}\n") {
		t.Errorf("DOT is not one digraph:\n%s", out)
	}
}

// TestKindsComeFromTheVocabulary: every kind gets its own colour and legend entry, including
// kinds no version of the renderer knows (a data-plane grant added by another analyser).
func TestKindsComeFromTheVocabulary(t *testing.T) {
	g := fixtureGraph(t)
	kinds := []reach.EdgeKind{"database-grant", "row-level-security", graph.KindIdentityRBAC, reach.KindNodeSubnet}
	for _, k := range kinds {
		g.Edges = append(g.Edges, reach.Edge{From: "acme", To: "hooli", Kind: k, Verdict: reach.VerdictUnexpected, Reason: "test", Paths: 1})
	}
	g.Sort()
	out := draw(t, formats(render.Options{})["html"], g)
	legend := regexp.MustCompile(`<span class="key kind" data-kind="([^"]+)"><i style="background:(#[0-9a-f]{6})"></i>`).FindAllStringSubmatch(out, -1)
	colours := map[string]string{}
	for _, m := range legend {
		colours[m[1]] = m[2]
	}
	seen := map[string]string{}
	for _, k := range append(kinds, reach.KindNetworkPolicy) {
		c, ok := colours[string(k)]
		if !ok {
			t.Errorf("no legend entry for kind %s (legend %v)", k, colours)
			continue
		}
		if other, dup := seen[c]; dup {
			t.Errorf("kinds %s and %s share colour %s", k, other, c)
		}
		seen[c] = string(k)
		if !strings.Contains(out, `data-kind="`+string(k)+`"`) {
			t.Errorf("no edge of kind %s drawn", k)
		}
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

// browser loads pages in headless Chromium.
type browser struct {
	t     *testing.T
	bin   string
	flags []string
}

func newBrowser(t *testing.T) *browser {
	bin := chromium(t)
	dir := t.TempDir()
	return &browser{t: t, bin: bin, flags: []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--disable-background-networking", "--user-data-dir=" + filepath.Join(dir, "profile"), "--enable-logging=stderr", "--v=0", "--window-size=1500,1000"}}
}

// body loads url and returns the attributes the page script left on <body>.
func (b *browser) body(url string) map[string]string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, b.bin, append(b.flags, "--dump-dom", url)...)
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		b.t.Fatalf("chromium --dump-dom %s: %v\n%s", url, err, stderr.String())
	}
	tag := regexp.MustCompile(`<body[^>]*>`).Find(dom)
	if tag == nil {
		b.t.Fatalf("no <body> in the dumped DOM of %s:\n%.2000s", url, dom)
	}
	attrs := map[string]string{}
	for _, m := range regexp.MustCompile(`([a-z-]+)="([^"]*)"`).FindAllSubmatch(tag, -1) {
		attrs[string(m[1])] = string(m[2])
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "CONSOLE(") {
			b.t.Errorf("browser console (%s): %s", url, line)
		}
	}
	return attrs
}

func (b *browser) screenshot(url, png string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, b.bin, append(b.flags, "--hide-scrollbars", "--screenshot="+png, url)...).CombinedOutput(); err != nil {
		b.t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	data, err := os.ReadFile(png)
	if err != nil {
		b.t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) || len(data) < 10_000 {
		b.t.Fatalf("screenshot %s is not a plausible PNG (%d bytes)", png, len(data))
	}
	b.t.Logf("screenshot: %s (%d bytes)", png, len(data))
}

// TestPagesInHeadlessChromium loads the page of generated fleets of 10, 100 and 1,000 tenants in
// headless Chromium, on each view: the script runs to the end without console errors, draws
// the edges and cells the graph has, and no two labels overlap (their boxes are measured in the
// page). Screenshots go to $TENANTCTL_SCREENSHOT_DIR when set, else the test's temp dir.
func TestPagesInHeadlessChromium(t *testing.T) {
	b := newBrowser(t)
	shots := os.Getenv("TENANTCTL_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	}
	for _, n := range []int{10, 100, 1000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			b.t = t
			fleet, err := reachbench.Generate(n)
			if err != nil {
				t.Fatal(err)
			}
			g, err := reach.Analyze(context.Background(), fleet.Env, fleet.Bindings, fleet.Snapshot)
			if err != nil {
				t.Fatal(err)
			}
			x := expect(g)
			page := filepath.Join(t.TempDir(), "graph.html")
			var out bytes.Buffer
			if err := render.HTML(context.Background(), &out, g, render.Options{Tenant: x.focusTenant, View: render.ViewAttention}); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(page, out.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, view := range []render.View{render.ViewAttention, render.ViewMatrix, render.ViewFocus} {
				url := "file://" + page + "#" + string(view)
				a := b.body(url)
				if a["data-state"] != "ready" || a["data-console-errors"] != "0" || a["data-view"] != string(view) {
					t.Fatalf("%s: state %q, %s console errors, view %q", view, a["data-state"], a["data-console-errors"], a["data-view"])
				}
				if a["data-label-overlaps"] != "0" {
					t.Errorf("%s: %s of %s labels overlap", view, a["data-label-overlaps"], a["data-labels"])
				}
				if labels, _ := strconv.Atoi(a["data-labels"]); labels == 0 {
					t.Errorf("%s: no label measured", view)
				}
				want := map[render.View]map[string]int{
					render.ViewAttention: {"data-rendered-edges": x.attention + x.attentionAggregates, "data-rendered-unexpected": g.Count(reach.VerdictUnexpected),
						"data-rendered-unknown": g.Count(reach.VerdictUnknown), "data-rendered-exposures": len(g.Exposures)},
					render.ViewMatrix: {"data-rendered-cells": x.cells, "data-matrix-rows": len(g.Nodes)},
					render.ViewFocus:  {"data-rendered-edges": x.focus},
				}[view]
				for k, w := range want {
					if a[k] != strconv.Itoa(w) {
						t.Errorf("%s: %s = %q, want %d", view, k, a[k], w)
					}
				}
				b.screenshot(url, filepath.Join(shots, fmt.Sprintf("reach-%d-%s.png", n, view)))
			}
			// A link to one line of the focus view opens its evidence.
			url := "file://" + page + "#focus:0"
			if a := b.body(url); !strings.Contains(a["data-evidence"], "→") {
				t.Errorf("#focus:0 shows no evidence: %q", a["data-evidence"])
			}
			b.screenshot(url, filepath.Join(shots, fmt.Sprintf("reach-%d-focus-evidence.png", n)))
		})
	}
}
