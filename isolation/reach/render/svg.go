package render

import (
	"bufio"
	"context"
	"fmt"
	"html"
	"io"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// svgNS is the only URL the picture contains: the SVG namespace, which is an identifier and is
// never fetched.
const svgNS = "http://www.w3.org/2000/svg"

const svgStyle = `
.reach-graph { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; font-size: 11px; }
.reach-graph .node rect { stroke: #3c4043; stroke-width: 1; rx: 5; }
.reach-graph .node text, .reach-graph .elabel text { dominant-baseline: central; text-anchor: middle; fill: #202124; }
.reach-graph .node.platform rect { fill: #dadce0; }
.reach-graph .node.silo rect { fill: #d2e3fc; }
.reach-graph .node.pool rect { fill: #ceead6; }
.reach-graph .node.shared rect { fill: #e9d2fd; }
.reach-graph .node.undeclared rect { fill: #ffffff; stroke: #d93025; stroke-dasharray: 3 2; }
.reach-graph .node.group rect { stroke-dasharray: 5 3; stroke-width: 1.5; }
.reach-graph .node.focus rect { stroke-width: 2.5; }
.reach-graph .edge path { fill: none; }
.reach-graph .edge .hit { stroke: transparent; stroke-width: 12; }
.reach-graph .edge.allowed .line { stroke-width: 1.3; opacity: 0.55; }
.reach-graph .edge.unknown .line { stroke-width: 2.2; stroke-dasharray: 7 4; }
.reach-graph .edge.unexpected .line { stroke-width: 2.6; }
.reach-graph .edge.exposure .line { stroke-width: 1.6; stroke-dasharray: 2 3; }
.reach-graph .edge { cursor: pointer; }
.reach-graph .edge:hover .line, .reach-graph .edge.selected .line { stroke-width: 4; opacity: 1; }
.reach-graph .elabel rect { fill: #ffffff; stroke-width: 1.2; rx: 3; }
.reach-graph .elabel.unexpected rect { fill: #fce8e6; }
.reach-graph .elabel.unknown rect { fill: #fef3e0; }
.reach-graph .elabel.unexpected text { fill: #a50e0e; font-weight: 600; }
.reach-graph .elabel.unknown text { fill: #b06000; }
.reach-graph .elabel.allowed text { fill: #5f6368; }
.reach-graph .elabel.exposure text { fill: #3c4043; font-style: italic; }
`

// drawView writes a laid-out view as an <svg> element. prefix keeps ids unique when one page
// holds several views.
func drawView(w *bufio.Writer, g *graph.Graph, v *view, p *placed, prefix, focus string) {
	e := html.EscapeString
	kc := colours(g)
	const m = 8.0
	fmt.Fprintf(w, `<svg xmlns="%s" class="reach-graph" id="%s-svg" width="%.0f" height="%.0f" viewBox="%.0f %.0f %.0f %.0f" role="img" aria-label="%s of %s" data-edges="%d" data-omitted="%d">`+"\n",
		svgNS, prefix, p.w+2*m, p.h+2*m, -m, -m, p.w+2*m, p.h+2*m, e(v.title), e(g.Environment), len(v.edges), v.omitted)
	fmt.Fprintf(w, "<style>%s</style>\n<defs>\n", svgStyle)
	for _, k := range kindsOf(g) {
		fmt.Fprintf(w, `<marker id="%s-arrow-%s" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker>`+"\n",
			prefix, e(markerID(k)), kc[k])
	}
	fmt.Fprint(w, "</defs>\n<g class=\"edges\">\n")
	for i, ed := range v.edges {
		class := string(ed.verdict)
		if ed.style != "edge" {
			class += " " + ed.style
		}
		fmt.Fprintf(w, `<g class="edge %s" id="%s-edge-%d" data-view-index="%d" data-edge="%d" data-from="%s" data-to="%s" data-kind="%s" data-verdict="%s" data-style="%s">`,
			class, prefix, i, i, ed.edge, e(ed.from), e(ed.to), e(string(ed.kind)), ed.verdict, ed.style)
		fmt.Fprintf(w, "<title>%s</title>", e(ed.text))
		fmt.Fprintf(w, `<path class="hit" d="%s"/><path class="line" d="%s" stroke="%s" marker-end="url(#%s-arrow-%s)"/></g>`+"\n",
			p.paths[i], p.paths[i], kc[ed.kind], prefix, e(markerID(ed.kind)))
	}
	fmt.Fprint(w, "</g>\n<g class=\"labels\">\n")
	for i, ed := range v.edges {
		b := p.labels[i]
		class := string(ed.verdict)
		if ed.style == "exposure" {
			class = "exposure"
		}
		fmt.Fprintf(w, `<g class="elabel %s" data-view-index="%d"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" stroke="%s"/>`,
			class, i, b.x, b.y, b.w, b.h, kc[ed.kind])
		writeText(w, b, ed.label)
		fmt.Fprint(w, "</g>\n")
	}
	fmt.Fprint(w, "</g>\n<g class=\"nodes\">\n")
	for i, n := range v.nodes {
		b := p.nodes[i]
		class := n.class
		if n.id == focus {
			class += " focus"
		}
		fmt.Fprintf(w, `<g class="node %s" data-id="%s"><title>%s (%s)</title><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`,
			class, e(n.id), e(n.label), e(n.class), b.x, b.y, b.w, b.h)
		writeText(w, b, n.label)
		fmt.Fprint(w, "</g>\n")
	}
	fmt.Fprint(w, "</g>\n</svg>\n")
}

// writeText fits a label to its box: textLength makes the browser's font take exactly the width
// the layout reserved, so no label grows into another.
func writeText(w *bufio.Writer, b box, s string) {
	fmt.Fprintf(w, `<text class="label" x="%.1f" y="%.1f" textLength="%.1f" lengthAdjust="spacingAndGlyphs">%s</text>`,
		b.cx(), b.cy(), b.w-padX+2, html.EscapeString(s))
}

func markerID(k graph.EdgeKind) string {
	out := []byte(k)
	for i, c := range out {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			out[i] = '_'
		}
	}
	return string(out)
}

// legend writes the verdict and kind keys as HTML.
func legend(w *bufio.Writer, g *graph.Graph) {
	kc := colours(g)
	fmt.Fprint(w, `<div class="legend" id="legend">`)
	for _, v := range []string{string(graph.VerdictUnexpected), string(graph.VerdictUnknown), string(graph.VerdictAllowed), "exposure"} {
		fmt.Fprintf(w, `<span class="key verdict-%s"><svg width="44" height="14"><line x1="0" y1="7" x2="44" y2="7" class="v-%s"/><rect x="13" y="2" width="18" height="10" rx="2" class="b-%s"/></svg>%s</span>`, v, v, v, v)
	}
	fmt.Fprint(w, `<span class="kinds-title">line colour = kind:</span>`)
	for _, k := range kindsOf(g) {
		fmt.Fprintf(w, `<span class="key kind" data-kind="%s"><i style="background:%s"></i>%s</span>`, html.EscapeString(string(k)), kc[k], html.EscapeString(string(k)))
	}
	fmt.Fprint(w, "</div>\n")
}

// SVG writes one view of the graph as a standalone SVG document (the matrix needs the HTML page:
// it draws the attention view then).
func SVG(ctx context.Context, w io.Writer, g *graph.Graph, o Options) error {
	if err := o.check(g); err != nil {
		return fmt.Errorf("render svg: %w", err)
	}
	v := pick(g, o)
	p, err := layout(ctx, v)
	if err != nil {
		return fmt.Errorf("render svg: %w", err)
	}
	bw := bufio.NewWriter(w)
	drawView(bw, g, v, p, "v", o.Tenant)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("render svg: %w", err)
	}
	return nil
}

// pick builds the drawn view the options select.
func pick(g *graph.Graph, o Options) *view {
	switch o.View {
	case ViewFocus:
		return focusView(g, o.Tenant)
	case ViewFull:
		return fullView(g)
	}
	return attentionView(g)
}
