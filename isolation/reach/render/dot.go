package render

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// quote makes s a DOT string literal.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// DOT writes one view in Graphviz DOT, for other tools to lay out: tenants grouped by tier, edges
// coloured by kind, unknown edges dashed, unexpected ones bold, exposures dotted, evidence in each
// edge's tooltip. The matrix view has no DOT form: it writes every edge (the full view).
func DOT(w io.Writer, g *graph.Graph, o Options) error {
	if err := o.check(g); err != nil {
		return fmt.Errorf("render dot: %w", err)
	}
	if o.View == ViewMatrix {
		o.View = ViewFull
	}
	v := pick(g, o)
	kc := colours(g)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "digraph reachability {\n  graph [rankdir=LR, label=%s, labelloc=t, fontname=\"sans-serif\"];\n",
		quote(fmt.Sprintf("Reachability of %s (%s), %s: %d unexpected, %d unknown, %d allowed, %d exposures", g.Environment, g.Mode, v.title,
			g.Count(graph.VerdictUnexpected), g.Count(graph.VerdictUnknown), g.Count(graph.VerdictAllowed), len(g.Exposures))))
	fmt.Fprint(bw, "  node [shape=box, style=\"rounded,filled\", fontname=\"sans-serif\", fontsize=10];\n  edge [fontname=\"sans-serif\", fontsize=9];\n")
	fill := map[string]string{"platform": "#dadce0", "silo": "#d2e3fc", "pool": "#ceead6", "shared": "#e9d2fd"}
	byClass := map[string][]vnode{}
	var classes []string
	for _, n := range v.nodes {
		c := strings.Fields(n.class)[0]
		if byClass[c] == nil {
			classes = append(classes, c)
		}
		byClass[c] = append(byClass[c], n)
	}
	for i, c := range classes {
		fmt.Fprintf(bw, "  subgraph cluster_%d {\n    label=%s; style=dashed; color=\"#dadce0\";\n", i, quote(c))
		for _, n := range byClass[c] {
			color, ok := fill[c]
			if !ok {
				color = "#ffffff"
			}
			fmt.Fprintf(bw, "    %s [label=%s, fillcolor=%s, tooltip=%s];\n", quote(n.id), quote(n.label), quote(color), quote(n.label+" ("+n.class+")"))
		}
		fmt.Fprint(bw, "  }\n")
	}
	for _, e := range v.edges {
		style := map[graph.Verdict]string{graph.VerdictAllowed: "solid", graph.VerdictUnknown: "dashed", graph.VerdictUnexpected: "bold"}[e.verdict]
		if e.style == "exposure" {
			style = "dotted"
		}
		fmt.Fprintf(bw, "  %s -> %s [color=%s, fontcolor=%s, style=%s, class=%s, label=%s, tooltip=%s];\n", quote(e.from), quote(e.to),
			quote(kc[e.kind]), quote(verdictColour[e.verdict]), style, quote(string(e.verdict)+" "+e.style), quote(e.label), quote(e.text))
	}
	if v.omitted > 0 {
		fmt.Fprintf(bw, "  omitted [shape=note, label=%s];\n", quote(fmt.Sprintf("%d more lines not drawn", v.omitted)))
	}
	fmt.Fprint(bw, "}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("render dot: %w", err)
	}
	return nil
}
