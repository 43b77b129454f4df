package render

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"slices"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

const pageStyle = `
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #202124; font-size: 13px; }
header { padding: 10px 18px 6px; border-bottom: 1px solid #dadce0; }
header h1 { font-size: 17px; margin: 0 0 6px; font-weight: 600; }
.summary { display: flex; flex-wrap: wrap; gap: 6px 18px; align-items: baseline; }
.summary .big { font-size: 20px; font-weight: 600; margin-right: 4px; }
.summary .unexpected { color: #d93025; } .summary .unknown { color: #e37400; } .summary .allowed, .summary .muted { color: #5f6368; }
.legend { margin-top: 6px; display: flex; flex-wrap: wrap; gap: 4px 14px; color: #3c4043; font-size: 12px; }
.legend .key { display: inline-flex; align-items: center; gap: 5px; }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; }
.legend line { stroke: #3c4043; } .legend .v-unexpected { stroke-width: 2.6; } .legend .v-unknown { stroke-width: 2.2; stroke-dasharray: 7 4; }
.legend .v-allowed { stroke-width: 1.3; opacity: 0.55; } .legend .v-exposure { stroke-width: 1.6; stroke-dasharray: 2 3; }
.legend rect { stroke: #3c4043; stroke-width: 1; fill: #fff; } .legend .b-unexpected { fill: #fce8e6; stroke: #d93025; } .legend .b-unknown { fill: #fef3e0; stroke: #e37400; }
.legend .kind { margin-left: 2px; } .legend .kinds-title { color: #5f6368; }
nav { display: flex; gap: 2px; padding: 0 18px; border-bottom: 1px solid #dadce0; }
nav a { padding: 8px 14px; text-decoration: none; color: #3c4043; border-bottom: 3px solid transparent; }
nav a.active { color: #1a73e8; border-bottom-color: #1a73e8; font-weight: 600; }
main { display: flex; align-items: flex-start; }
.pane { flex: 1 1 auto; overflow: auto; padding: 10px; min-width: 0; max-height: calc(100vh - 150px); }
.pane[hidden] { display: none; }
.pane .note { color: #5f6368; margin: 4px 0 10px; }
aside { flex: 0 0 360px; border-left: 1px solid #dadce0; padding: 10px 14px; position: sticky; top: 0; max-height: calc(100vh - 150px); overflow: auto; }
aside h2 { font-size: 14px; margin: 0 0 6px; }
aside pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12px; margin: 0; }
.toolbar { display: flex; gap: 14px; align-items: center; margin-bottom: 8px; flex-wrap: wrap; }
#matrix-wrap { position: relative; }
#matrix-canvas { position: absolute; image-rendering: pixelated; cursor: crosshair; }
.mlabel { position: absolute; white-space: nowrap; overflow: hidden; color: #3c4043; line-height: 1; }
.mlabel.col { writing-mode: vertical-rl; transform: rotate(180deg); }
.mlabel.band { font-weight: 600; color: #5f6368; }
.mlabel.attention { color: #a50e0e; font-weight: 600; }
#matrix-tip { position: fixed; pointer-events: none; background: #202124; color: #fff; padding: 4px 7px; border-radius: 4px; font-size: 12px; z-index: 5; }
table { border-collapse: collapse; font-size: 12px; }
td, th { border-bottom: 1px solid #eee; padding: 4px 8px; text-align: left; vertical-align: top; }
tr.unexpected td.verdict { color: #d93025; font-weight: 600; }
tr.unknown td.verdict { color: #e37400; font-weight: 600; }
tr.allowed { color: #80868b; }
tr.selected { background: #fce8e6; }
tr.edge-row { cursor: pointer; }
`

// pageScript runs the page: tabs, evidence on hover and click, the matrix on a canvas. It also
// records script errors, the rendered counts and the label boxes it measured on <body>, which is
// what the headless browser test reads back.
const pageScript = `
(function () {
  var errors = [];
  function report() {
    document.getElementById("console-errors").textContent = errors.join("\n");
    document.body.setAttribute("data-console-errors", String(errors.length));
  }
  window.addEventListener("error", function (e) { errors.push(String(e.message)); report(); });
  var consoleError = console.error;
  console.error = function () { errors.push(Array.prototype.join.call(arguments, " ")); report(); consoleError.apply(console, arguments); };

  var data = JSON.parse(document.getElementById("graph-data").textContent);
  var panel = document.getElementById("evidence-text");
  var hint = panel.textContent;
  var selected = null;
  function show(text) { panel.textContent = text || hint; }
  function textOf(el) {
    var pane = el.closest("[data-pane]").getAttribute("data-pane");
    var i = Number(el.getAttribute("data-view-index"));
    return data.views[pane][i];
  }
  function select(el, text) {
    if (selected) { selected.classList.remove("selected"); }
    selected = (selected === el) ? null : el;
    if (selected) { selected.classList.add("selected"); }
    show(selected ? text : "");
  }
  function wire(el, text) {
    el.addEventListener("mouseenter", function () { show(text()); });
    el.addEventListener("mouseleave", function () { show(selected ? selected.__text : ""); });
    el.addEventListener("click", function () { el.__text = text(); select(el, el.__text); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("svg .edge"), function (g) { wire(g, function () { return textOf(g); }); });
  Array.prototype.forEach.call(document.querySelectorAll("tr.edge-row"), function (r) {
    wire(r, function () { return data.edges[Number(r.getAttribute("data-edge"))]; });
  });

  // The matrix: a canvas for the cells, positioned labels only where a cell is tall enough for
  // them, so no label ever covers another.
  var m = data.matrix, canvas = document.getElementById("matrix-canvas"), wrap = document.getElementById("matrix-wrap");
  var tip = document.getElementById("matrix-tip");
  var cellSize = 0, rows = [], pos = [], labelRoom = 0, colourBy = "verdict", onlyAttention = false;
  var verdictColours = ["#d93025", "#e37400", "#bdc1c6"], verdictNames = ["unexpected", "unknown", "allowed"];
  function drawMatrix() {
    rows = [];
    pos = new Array(m.nodes.length);
    m.nodes.forEach(function (n, i) { if (!onlyAttention || n.attention || n.tier === "platform") { pos[i] = rows.length; rows.push(i); } });
    var n = rows.length;
    if (!cellSize) { cellSize = Math.max(1, Math.min(18, Math.floor(860 / Math.max(n, 1)))); }
    var c = cellSize, showNames = c >= 11;
    labelRoom = showNames ? 150 : 96;
    Array.prototype.forEach.call(wrap.querySelectorAll(".mlabel"), function (l) { l.remove(); });
    canvas.width = n * c; canvas.height = n * c;
    canvas.style.left = labelRoom + "px"; canvas.style.top = labelRoom + "px";
    wrap.style.width = (labelRoom + n * c + 10) + "px"; wrap.style.height = (labelRoom + n * c + 10) + "px";
    var ctx = canvas.getContext("2d");
    ctx.fillStyle = "#ffffff"; ctx.fillRect(0, 0, n * c, n * c);
    // Tier bands: alternate shading, so the groups read at any size.
    var bands = [];
    m.tiers.forEach(function (t, k) {
      var first = -1, count = 0;
      for (var i = t.start; i < t.start + t.count; i++) { if (pos[i] !== undefined) { if (first < 0) { first = pos[i]; } count++; } }
      if (count === 0) { return; }
      bands.push({ name: t.name, first: first, count: count });
      if (k % 2 === 1) {
        ctx.fillStyle = "#f1f3f4";
        ctx.fillRect(first * c, 0, count * c, n * c);
        ctx.fillRect(0, first * c, n * c, count * c);
      }
      ctx.fillStyle = "#dadce0";
      ctx.fillRect(first * c, 0, Math.max(1, c / 8), n * c);
      ctx.fillRect(0, first * c, n * c, Math.max(1, c / 8));
    });
    var drawn = 0;
    var order = m.cells.slice().sort(function (a, b) { return b[2] - a[2]; });
    order.forEach(function (cell) {
      var r = pos[cell[0]], col = pos[cell[1]];
      if (r === undefined || col === undefined) { return; }
      drawn++;
      var colour = colourBy === "kind" ? m.kinds[cell[3]].colour : verdictColours[cell[2]];
      // Cells that need attention stay visible however small the cells get.
      var s = cell[2] < 2 ? Math.max(c, 5) : c, off = (s - c) / 2;
      ctx.fillStyle = colour;
      ctx.fillRect(col * c - off, r * c - off, s, s);
    });
    var labels = 0;
    function label(text, cls, x, y, w, h, size) {
      var d = document.createElement("div");
      d.className = "mlabel label " + cls;
      d.textContent = text;
      d.style.left = x + "px"; d.style.top = y + "px"; d.style.width = w + "px"; d.style.height = h + "px"; d.style.fontSize = size + "px";
      wrap.appendChild(d);
      labels++;
    }
    bands.forEach(function (b) {
      var h = b.count * c;
      if (h >= 14) { label(showNames ? b.name : b.name + " (" + b.count + ")", "band", 2, labelRoom + b.first * c + 1, (showNames ? 70 : labelRoom) - 4, Math.min(h - 2, 14), 11); }
      if (h >= 14 && !showNames) { label(b.name, "band col", labelRoom + b.first * c + 1, 2, Math.min(h - 2, 14), labelRoom - 6, 11); }
    });
    if (showNames) {
      var size = Math.min(11, c - 2);
      rows.forEach(function (i, k) {
        var nd = m.nodes[i], cls = nd.attention ? "attention" : "";
        label(nd.id, cls, 70, labelRoom + k * c, labelRoom - 74, c, size);
        label(nd.id, "col " + cls, labelRoom + k * c, 70, c, labelRoom - 74, size);
      });
    }
    document.body.setAttribute("data-rendered-cells", String(drawn));
    document.body.setAttribute("data-matrix-rows", String(n));
    document.getElementById("matrix-size").textContent = n + " × " + n + ", cells of " + c + " px";
    return labels;
  }
  function cellAt(ev) {
    var rect = canvas.getBoundingClientRect();
    var col = Math.floor((ev.clientX - rect.left) / cellSize), r = Math.floor((ev.clientY - rect.top) / cellSize);
    if (r < 0 || col < 0 || r >= rows.length || col >= rows.length) { return null; }
    var from = m.nodes[rows[r]].id, to = m.nodes[rows[col]].id, found = null;
    m.cells.forEach(function (cell) { if (cell[0] === rows[r] && cell[1] === rows[col]) { found = cell; } });
    return { from: from, to: to, cell: found };
  }
  function cellText(at) {
    if (!at.cell) { return at.from + " → " + at.to + ": no edge"; }
    return at.cell.slice(4).map(function (i) { return data.edges[i]; }).join("\n\n");
  }
  canvas.addEventListener("mousemove", function (ev) {
    var at = cellAt(ev);
    if (!at) { tip.hidden = true; return; }
    tip.hidden = false;
    tip.style.left = (ev.clientX + 14) + "px"; tip.style.top = (ev.clientY + 12) + "px";
    tip.textContent = at.from + " → " + at.to + (at.cell ? ": " + verdictNames[at.cell[2]] + ", " + (at.cell.length - 4) + " edge(s)" : "");
    if (!selected) { show(at.cell ? cellText(at) : ""); }
  });
  canvas.addEventListener("mouseleave", function () { tip.hidden = true; });
  canvas.addEventListener("click", function (ev) { var at = cellAt(ev); if (at) { canvas.__text = cellText(at); select(canvas, canvas.__text); } });
  document.getElementById("matrix-colour").addEventListener("change", function (e) { colourBy = e.target.value; measure(drawMatrix()); });
  document.getElementById("matrix-attention").addEventListener("change", function (e) { onlyAttention = e.target.checked; cellSize = 0; measure(drawMatrix()); });
  document.getElementById("matrix-zoom-in").addEventListener("click", function () { cellSize = Math.min(40, cellSize + 2); measure(drawMatrix()); });
  document.getElementById("matrix-zoom-out").addEventListener("click", function () { cellSize = Math.max(1, cellSize - 2); measure(drawMatrix()); });

  // Label boxes of the shown pane, measured in the page: the count of pairs that overlap.
  function measure() {
    var pane = document.querySelector(".pane:not([hidden])");
    var boxes = Array.prototype.map.call(pane.querySelectorAll(".label"), function (el) { return el.getBoundingClientRect(); })
      .filter(function (b) { return b.width > 0 && b.height > 0; })
      .sort(function (a, b) { return a.left - b.left; });
    var overlaps = 0, eps = 0.5;
    for (var i = 0; i < boxes.length; i++) {
      for (var j = i + 1; j < boxes.length && boxes[j].left < boxes[i].right - eps; j++) {
        if (boxes[j].top < boxes[i].bottom - eps && boxes[i].top < boxes[j].bottom - eps) { overlaps++; }
      }
    }
    document.body.setAttribute("data-labels", String(boxes.length));
    document.body.setAttribute("data-label-overlaps", String(overlaps));
    var svg = pane.querySelector("svg.reach-graph");
    document.body.setAttribute("data-rendered-edges", String(svg ? svg.querySelectorAll(".edge").length : 0));
    document.body.setAttribute("data-rendered-unexpected", String(svg ? svg.querySelectorAll(".edge.unexpected:not(.exposure)").length : 0));
    document.body.setAttribute("data-rendered-unknown", String(svg ? svg.querySelectorAll(".edge.unknown").length : 0));
    document.body.setAttribute("data-rendered-exposures", String(svg ? svg.querySelectorAll(".edge.exposure").length : 0));
  }
  var tabs = document.querySelectorAll("nav a");
  function open(name) {
    var found = false;
    Array.prototype.forEach.call(tabs, function (a) { var on = a.getAttribute("data-tab") === name; a.classList.toggle("active", on); found = found || on; });
    if (!found) { return false; }
    Array.prototype.forEach.call(document.querySelectorAll(".pane"), function (p) { p.hidden = p.id !== "pane-" + name; });
    document.body.setAttribute("data-view", name);
    if (name === "matrix") { drawMatrix(); }
    measure();
    return true;
  }
  Array.prototype.forEach.call(tabs, function (a) { a.addEventListener("click", function (e) { e.preventDefault(); history.replaceState(null, "", "#" + a.getAttribute("data-tab")); open(a.getAttribute("data-tab")); }); });
  // #view opens a view; #view:N also selects its N-th drawn line, so a link can point at one
  // edge's evidence.
  var hash = location.hash.slice(1).split(":");
  if (!open(hash[0])) { open(document.body.getAttribute("data-default-view")); }
  if (hash.length > 1) {
    var line = document.querySelector("#pane-" + hash[0] + " svg .edge[data-view-index='" + Number(hash[1]) + "']");
    if (line) { line.dispatchEvent(new MouseEvent("click")); }
  }
  document.body.setAttribute("data-evidence", panel.textContent === hint ? "" : panel.textContent.split("\n")[0]);
  document.body.setAttribute("data-state", "ready");
  report();
})();
`

// HTML writes a self-contained page: a summary header and legend, the attention view and the
// matrix (and the focus view for Options.Tenant, and the full graph for small graphs) as tabs,
// the edges as a table, and a panel that shows the evidence of whatever is hovered or clicked. It
// loads nothing from the network.
func HTML(ctx context.Context, w io.Writer, g *graph.Graph, o Options) error {
	if err := o.check(g); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	type pane struct {
		name  View
		title string
		v     *view
		p     *placed
	}
	panes := []*pane{{name: ViewAttention, title: "Needs attention", v: attentionView(g)}, {name: ViewMatrix, title: "Matrix"}}
	if o.Tenant != "" {
		panes = append(panes, &pane{name: ViewFocus, title: "Focus: " + o.Tenant, v: focusView(g, o.Tenant)})
	}
	if o.View == ViewFull || len(g.Edges)+len(g.Exposures) <= maxDrawnEdges/4 {
		panes = append(panes, &pane{name: ViewFull, title: "Every edge", v: fullView(g)})
	}
	data := struct {
		Edges  []string            `json:"edges"`
		Views  map[string][]string `json:"views"`
		Matrix matrixData          `json:"matrix"`
	}{Edges: make([]string, len(g.Edges)), Views: map[string][]string{}, Matrix: buildMatrix(g)}
	for i, ed := range g.Edges {
		data.Edges[i] = evidenceText(ed)
	}
	for _, p := range panes {
		if p.v == nil {
			continue
		}
		var err error
		if p.p, err = layout(ctx, p.v); err != nil {
			return fmt.Errorf("render html: %s view: %w", p.name, err)
		}
		texts := make([]string, len(p.v.edges))
		for i, e := range p.v.edges {
			texts[i] = e.text
		}
		data.Views[string(p.name)] = texts
	}
	// json.Marshal escapes <, > and &, so the data cannot close the script element.
	blob, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	bw := bufio.NewWriter(w)
	e := html.EscapeString
	title := fmt.Sprintf("Reachability of %s (%s)", g.Environment, g.Mode)
	fmt.Fprintf(bw, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n<style>%s</style>\n</head>\n", e(title), pageStyle)
	fmt.Fprintf(bw, "<body data-state=\"loading\" data-console-errors=\"0\" data-default-view=\"%s\" data-edges=\"%d\" data-unexpected=\"%d\" data-unknown=\"%d\" data-exposures=\"%d\" data-cells=\"%d\">\n",
		e(string(o.View)), len(g.Edges), g.Count(graph.VerdictUnexpected), g.Count(graph.VerdictUnknown), len(g.Exposures), len(data.Matrix.Cells))
	summary(bw, g, title)
	fmt.Fprint(bw, "<nav>")
	for _, p := range panes {
		fmt.Fprintf(bw, `<a href="#%s" data-tab="%s">%s</a>`, p.name, p.name, e(p.title))
	}
	fmt.Fprint(bw, `<a href="#edges" data-tab="edges">Edges</a></nav>`+"\n<main>\n")
	for _, p := range panes {
		fmt.Fprintf(bw, "<section class=\"pane\" id=\"pane-%s\" data-pane=\"%s\" hidden>\n", p.name, p.name)
		switch {
		case p.name == ViewMatrix:
			fmt.Fprint(bw, `<div class="toolbar"><label>colour cells by <select id="matrix-colour"><option value="verdict">verdict</option><option value="kind">kind</option></select></label>`+
				`<label><input type="checkbox" id="matrix-attention"> only parties with unexpected or unknown edges</label>`+
				`<button id="matrix-zoom-out" type="button">−</button><button id="matrix-zoom-in" type="button">+</button><span class="note" id="matrix-size"></span></div>`+
				"\n<p class=\"note\">Rows send, columns receive; tenants are grouped by tier. Hover over a cell for the pair, click it for its evidence.</p>\n"+
				`<div id="matrix-wrap"><canvas id="matrix-canvas"></canvas></div><div id="matrix-tip" hidden></div>`+"\n")
		default:
			note := viewNote(g, p.v)
			fmt.Fprintf(bw, "<p class=\"note\">%s</p>\n", e(note))
			drawView(bw, g, p.v, p.p, string(p.name), o.Tenant)
		}
		fmt.Fprint(bw, "</section>\n")
	}
	fmt.Fprint(bw, "<section class=\"pane\" id=\"pane-edges\" data-pane=\"edges\" hidden>\n<table id=\"edges\"><thead><tr><th>verdict</th><th>from</th><th>to</th><th>kind</th><th>ports</th><th>reason</th></tr></thead><tbody>\n")
	for i, ed := range g.Edges {
		fmt.Fprintf(bw, "<tr class=\"edge-row %s\" data-edge=\"%d\"><td class=\"verdict\">%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			ed.Verdict, i, ed.Verdict, e(ed.From), e(ed.To), e(string(ed.Kind)), e(portsCell(ed)), e(ed.Reason))
	}
	fmt.Fprint(bw, "</tbody></table>\n")
	if len(g.Exposures) > 0 {
		fmt.Fprint(bw, "<h3>Exposures</h3>\n<table id=\"exposures\"><thead><tr><th>tenant</th><th>peer</th><th>kind</th><th>resource</th><th>detail</th></tr></thead><tbody>\n")
		for _, x := range g.Exposures {
			fmt.Fprintf(bw, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
				e(x.Tenant), e(x.Peer), e(string(x.Kind)), e(x.Resource.Type+" "+x.Resource.Name), e(x.Detail))
		}
		fmt.Fprint(bw, "</tbody></table>\n")
	}
	fmt.Fprint(bw, "</section>\n<aside><h2>Evidence</h2><pre id=\"evidence-text\">Hover over or click an edge, a cell or a row to see the chain that opens it.</pre><pre id=\"console-errors\" hidden></pre></aside>\n</main>\n")
	fmt.Fprintf(bw, "<script id=\"graph-data\" type=\"application/json\">%s</script>\n<script>%s</script>\n</body>\n</html>\n", blob, pageScript)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	return nil
}

func viewNote(g *graph.Graph, v *view) string {
	var s string
	switch v.name {
	case ViewAttention:
		s = "Unexpected and unknown edges and exposures, each drawn; allowed edges between the platform and tenants folded into one line per tier."
		if g.Count(graph.VerdictUnexpected)+g.Count(graph.VerdictUnknown)+len(g.Exposures) == 0 {
			s = "Nothing needs attention: no unexpected or unknown edge, no exposure. " + s
		}
	case ViewFocus:
		s = "Every edge into and out of the tenant, with its exposures."
	case ViewFull:
		s = "Every edge and exposure."
	}
	if v.omitted > 0 {
		s += fmt.Sprintf(" %d more lines are not drawn (the matrix and the Edges tab hold everything).", v.omitted)
	}
	return s
}

// summary writes the header: counts by verdict, tenants by tier, what needs attention by kind,
// and the legend.
func summary(w *bufio.Writer, g *graph.Graph, title string) {
	e := html.EscapeString
	fmt.Fprintf(w, "<header><h1>%s</h1><div class=\"summary\">", e(title))
	fmt.Fprintf(w, `<span class="unexpected" id="count-unexpected"><span class="big">%d</span>unexpected</span>`, g.Count(graph.VerdictUnexpected))
	fmt.Fprintf(w, `<span class="unknown" id="count-unknown"><span class="big">%d</span>unknown</span>`, g.Count(graph.VerdictUnknown))
	fmt.Fprintf(w, `<span class="muted" id="count-exposures"><span class="big">%d</span>exposures</span>`, len(g.Exposures))
	fmt.Fprintf(w, `<span class="allowed" id="count-allowed"><span class="big">%d</span>allowed</span>`, g.Count(graph.VerdictAllowed))
	tiers := map[string]int{}
	for i := range g.Nodes {
		if c := nodeClass(&g.Nodes[i]); c != "platform" {
			tiers[c]++
		}
	}
	parts := ""
	for _, c := range slices.SortedFunc(maps.Keys(tiers), func(a, b string) int { return tierRank(a) - tierRank(b) }) {
		parts += fmt.Sprintf("%d %s · ", tiers[c], c)
	}
	if parts != "" {
		fmt.Fprintf(w, `<span class="muted">tenants: %s</span>`, e(parts[:len(parts)-len(" · ")]))
	}
	byKind := map[graph.EdgeKind]int{}
	for _, ed := range g.Edges {
		if ed.Verdict != graph.VerdictAllowed {
			byKind[ed.Kind]++
		}
	}
	if len(byKind) > 0 {
		parts = ""
		for _, k := range kindsOf(g) {
			if byKind[k] > 0 {
				parts += fmt.Sprintf("%d %s · ", byKind[k], k)
			}
		}
		fmt.Fprintf(w, `<span class="muted">needing attention by kind: %s</span>`, e(parts[:len(parts)-len(" · ")]))
	}
	fmt.Fprint(w, "</div>\n")
	legend(w, g)
	fmt.Fprint(w, "</header>\n")
}

// portsCell is what an edge carries for the table: its ports, or a dash for identity edges,
// which carry no traffic.
func portsCell(ed graph.Edge) string {
	if ed.Kind.Identity() {
		return "—"
	}
	return ed.Ports.String()
}
