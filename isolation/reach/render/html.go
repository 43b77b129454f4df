package render

import (
	"bufio"
	"encoding/json"
	"fmt"
	"html"
	"io"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

const pageStyle = `
body { margin: 0; font-family: system-ui, sans-serif; color: #202124; }
header { padding: 12px 20px; border-bottom: 1px solid #dadce0; }
header h1 { font-size: 18px; margin: 0 0 6px; }
.counts span { margin-right: 16px; }
.counts .unexpected { color: #d93025; font-weight: 600; }
.counts .unknown { color: #e37400; font-weight: 600; }
.counts .allowed { color: #5f6368; }
main { display: flex; align-items: flex-start; }
#graph { flex: 1 1 auto; overflow: auto; padding: 8px; }
#graph svg { max-width: 100%; height: auto; }
aside { flex: 0 0 380px; border-left: 1px solid #dadce0; padding: 12px 16px; position: sticky; top: 0; max-height: 100vh; overflow: auto; }
aside pre { white-space: pre-wrap; font-size: 12px; }
table { border-collapse: collapse; margin: 0 20px 20px; font-size: 12px; }
td, th { border-bottom: 1px solid #eee; padding: 4px 8px; text-align: left; vertical-align: top; }
tr.unexpected td.verdict { color: #d93025; font-weight: 600; }
tr.unknown td.verdict { color: #e37400; font-weight: 600; }
tr.allowed { color: #80868b; }
tr.selected { background: #fce8e6; }
tr { cursor: pointer; }
body.hide-allowed .edge.allowed, body.hide-allowed tr.allowed { display: none; }
`

// pageScript wires hover and click on edges and table rows to the evidence panel. It also
// records script errors and the rendered edge counts on <body>, which is what the headless
// browser test reads back.
const pageScript = `
(function () {
  var errors = [];
  function report() {
    document.getElementById("console-errors").textContent = errors.join("\n");
    document.body.setAttribute("data-console-errors", String(errors.length));
  }
  window.addEventListener("error", function (e) { errors.push(String(e.message)); report(); });
  var consoleError = console.error;
  console.error = function () {
    errors.push(Array.prototype.join.call(arguments, " "));
    report();
    consoleError.apply(console, arguments);
  };
  var data = JSON.parse(document.getElementById("graph-data").textContent);
  var panel = document.getElementById("evidence-text");
  var hint = panel.textContent;
  var selected = -1;
  function edge(i) { return document.getElementById("edge-" + i); }
  function row(i) { return document.getElementById("row-" + i); }
  function show(i) { panel.textContent = i < 0 ? hint : data.edges[i]; }
  function select(i) {
    if (selected >= 0) { edge(selected).classList.remove("selected"); row(selected).classList.remove("selected"); }
    selected = (selected === i) ? -1 : i;
    if (selected >= 0) { edge(selected).classList.add("selected"); row(selected).classList.add("selected"); }
    show(selected);
  }
  function wire(el, i) {
    el.addEventListener("mouseenter", function () { show(i); });
    el.addEventListener("mouseleave", function () { show(selected); });
    el.addEventListener("click", function () { select(i); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("svg .edge"), function (g) { wire(g, Number(g.getAttribute("data-index"))); });
  Array.prototype.forEach.call(document.querySelectorAll("tr.edge-row"), function (r) { wire(r, Number(r.getAttribute("data-index"))); });
  document.getElementById("toggle-allowed").addEventListener("change", function (e) {
    document.body.classList.toggle("hide-allowed", !e.target.checked);
  });
  document.body.setAttribute("data-rendered-edges", String(document.querySelectorAll("svg .edge").length));
  document.body.setAttribute("data-rendered-unexpected", String(document.querySelectorAll("svg .edge.unexpected").length));
  document.body.setAttribute("data-rendered-unknown", String(document.querySelectorAll("svg .edge.unknown").length));
  document.body.setAttribute("data-state", "ready");
  report();
})();
`

// HTML writes a self-contained page: the SVG inline, a table of edges and a panel that shows an
// edge's evidence on hover or click. It loads nothing from the network.
func HTML(w io.Writer, g *graph.Graph) error {
	bw := bufio.NewWriter(w)
	e := html.EscapeString
	data := struct {
		Edges []string `json:"edges"`
	}{Edges: make([]string, len(g.Edges))}
	for i, ed := range g.Edges {
		data.Edges[i] = evidenceText(ed)
	}
	// json.Marshal escapes <, > and &, so the data cannot close the script element.
	blob, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	title := fmt.Sprintf("Reachability of %s (%s)", g.Environment, g.Mode)
	fmt.Fprintf(bw, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n<style>%s</style>\n</head>\n", e(title), pageStyle)
	fmt.Fprintf(bw, "<body data-state=\"loading\" data-console-errors=\"0\" data-edges=\"%d\" data-unexpected=\"%d\" data-unknown=\"%d\">\n",
		len(g.Edges), g.Count(graph.VerdictUnexpected), g.Count(graph.VerdictUnknown))
	fmt.Fprintf(bw, "<header><h1>%s</h1><div class=\"counts\"><span class=\"unexpected\" id=\"count-unexpected\">%d unexpected</span><span class=\"unknown\" id=\"count-unknown\">%d unknown</span><span class=\"allowed\" id=\"count-allowed\">%d allowed</span><span>%d exposures</span><label><input type=\"checkbox\" id=\"toggle-allowed\" checked> show allowed edges</label></div></header>\n",
		e(title), g.Count(graph.VerdictUnexpected), g.Count(graph.VerdictUnknown), g.Count(graph.VerdictAllowed), len(g.Exposures))
	fmt.Fprint(bw, "<main>\n<div id=\"graph\">\n")
	writeSVG(bw, g)
	fmt.Fprint(bw, "</div>\n<aside><h2>Evidence</h2><pre id=\"evidence-text\">Hover over or click an edge to see the chain that opens it.</pre><pre id=\"console-errors\" hidden></pre></aside>\n</main>\n")
	fmt.Fprint(bw, "<h2 style=\"margin:0 20px\">Edges</h2>\n<table id=\"edges\"><thead><tr><th>verdict</th><th>from</th><th>to</th><th>kind</th><th>ports</th><th>reason</th></tr></thead><tbody>\n")
	for i, ed := range g.Edges {
		fmt.Fprintf(bw, "<tr class=\"edge-row %s\" id=\"row-%d\" data-index=\"%d\"><td class=\"verdict\">%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			ed.Verdict, i, i, ed.Verdict, e(ed.From), e(ed.To), e(string(ed.Kind)), e(ed.Ports.String()), e(ed.Reason))
	}
	fmt.Fprint(bw, "</tbody></table>\n")
	if len(g.Exposures) > 0 {
		fmt.Fprint(bw, "<h2 style=\"margin:0 20px\">Exposures</h2>\n<table id=\"exposures\"><thead><tr><th>tenant</th><th>peer</th><th>kind</th><th>resource</th><th>detail</th></tr></thead><tbody>\n")
		for _, x := range g.Exposures {
			fmt.Fprintf(bw, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
				e(x.Tenant), e(x.Peer), e(string(x.Kind)), e(x.Resource.Type+" "+x.Resource.Name), e(x.Detail))
		}
		fmt.Fprint(bw, "</tbody></table>\n")
	}
	fmt.Fprintf(bw, "<script id=\"graph-data\" type=\"application/json\">%s</script>\n<script>%s</script>\n</body>\n</html>\n", blob, pageScript)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	return nil
}
