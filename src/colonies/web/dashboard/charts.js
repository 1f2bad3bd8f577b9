// SVG drawings for the dashboard: a time-series chart and a workflow graph. Both return markup
// (no inline styles: the page's Content-Security-Policy allows none); colours come from CSS
// classes, so they follow the light and dark themes.
const esc = (text) =>
  String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function niceMax(value) {
  if (value <= 4) return 4;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

function clock(ms) {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()]
    .map((n) => String(n).padStart(2, "0"))
    .join(":");
}

/**
 * Lines over time. `series` is [{name, cls, values: [number]}] sampled at `times` (ms).
 * `windowMs` is the span shown, ending now.
 */
export function timeChart(times, series, { windowMs = 5 * 60 * 1000, now = Date.now() } = {}) {
  const W = 640, H = 220, left = 40, right = 12, top = 12, bottom = 26;
  const start = now - windowMs;
  const x = (t) => left + ((t - start) / windowMs) * (W - left - right);
  let max = 0;
  for (const s of series) {
    times.forEach((t, i) => {
      if (t >= start) max = Math.max(max, s.values[i] ?? 0);
    });
  }
  max = niceMax(max);
  const y = (v) => top + (1 - v / max) * (H - top - bottom);
  const parts = [
    `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(series.map((s) => s.name).join(", "))} over time">`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    parts.push(
      `<line class="grid" x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}"/>`,
      `<text class="axis" x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v * 10) / 10}</text>`,
    );
  }
  for (let i = 0; i <= 4; i++) {
    const t = start + (windowMs / 4) * i;
    const anchor = i === 0 ? "start" : i === 4 ? "end" : "middle";
    parts.push(`<text class="axis" x="${x(t)}" y="${H - 6}" text-anchor="${anchor}">${clock(t)}</text>`);
  }
  for (const s of series) {
    const points = [];
    times.forEach((t, i) => {
      if (t >= start && s.values[i] != null) points.push(`${x(t).toFixed(1)},${y(s.values[i]).toFixed(1)}`);
    });
    if (points.length === 0) continue;
    if (points.length === 1) {
      const [px, py] = points[0].split(",");
      parts.push(`<circle class="line ${esc(s.cls)}" cx="${px}" cy="${py}" r="2.5"/>`);
      continue;
    }
    const base = y(0).toFixed(1);
    const first = points[0].split(",")[0];
    const last = points[points.length - 1].split(",")[0];
    parts.push(
      `<path class="area ${esc(s.cls)}" d="M${first},${base} L${points.join(" L")} L${last},${base} Z"/>`,
      `<polyline class="line ${esc(s.cls)}" points="${points.join(" ")}"/>`,
    );
  }
  parts.push("</svg>");
  return parts.join("");
}

/** Bars: `bars` is [{t, values: {cls: number}}], stacked, over the same time window. */
export function barChart(bars, classes, { windowMs = 5 * 60 * 1000, binMs = 10000, now = Date.now() } = {}) {
  const W = 640, H = 220, left = 40, right = 12, top = 12, bottom = 26;
  const start = now - windowMs;
  const x = (t) => left + ((t - start) / windowMs) * (W - left - right);
  let max = 0;
  for (const bar of bars) max = Math.max(max, classes.reduce((sum, c) => sum + (bar.values[c] || 0), 0));
  max = niceMax(max);
  const y = (v) => top + (1 - v / max) * (H - top - bottom);
  const parts = [`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="completed processes per ${binMs / 1000} s">`];
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    parts.push(
      `<line class="grid" x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}"/>`,
      `<text class="axis" x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text>`,
    );
  }
  for (let i = 0; i <= 4; i++) {
    const t = start + (windowMs / 4) * i;
    const anchor = i === 0 ? "start" : i === 4 ? "end" : "middle";
    parts.push(`<text class="axis" x="${x(t)}" y="${H - 6}" text-anchor="${anchor}">${clock(t)}</text>`);
  }
  for (const bar of bars) {
    if (bar.t < start) continue;
    // A bar covers its bin; the current bin, still filling, is cut at "now".
    const x0 = Math.max(x(bar.t - binMs), left) + 1;
    const width = Math.max(1, Math.min(x(bar.t), x(now)) - 1 - x0);
    let acc = 0;
    for (const c of classes) {
      const v = bar.values[c] || 0;
      if (!v) continue;
      parts.push(
        `<rect class="bar ${esc(c)}" x="${x0.toFixed(1)}" y="${y(acc + v).toFixed(1)}" width="${width.toFixed(1)}" height="${(y(acc) - y(acc + v)).toFixed(1)}" rx="2"><title>${clock(bar.t)}: ${v} ${esc(c)}</title></rect>`,
      );
      acc += v;
    }
  }
  parts.push("</svg>");
  return parts.join("");
}

// The server colours nodes by process state (server/graphs.py BACKGROUNDS, as Go does).
const NODE_STATES = {
  "#eee8d8": "waiting",
  "#4689cd": "running",
  "#92d050": "successful",
  "#cb4239": "failed",
  "#f5a623": "cancelled",
};
const BOX_W = 150, BOX_H = 48;

/** The state name a graph node's colour stands for. */
export function nodeState(node) {
  return NODE_STATES[String(node?.style?.background || "").toLowerCase()] || "waiting";
}

/** A process graph (nodes with positions, edges parent -> child) as SVG; nodes link to processes. */
export function workflowGraph(graph) {
  const nodes = graph.nodes || [];
  const edges = graph.edges || [];
  if (nodes.length === 0) return `<p class="empty">This workflow has no steps.</p>`;
  const pad = 24;
  const xs = nodes.map((n) => n.position?.x ?? 0);
  const ys = nodes.map((n) => n.position?.y ?? 0);
  const minX = Math.min(...xs), minY = Math.min(...ys);
  const spread = 1.35; // more room between rows than Go's 80 px for the arrows
  const pos = new Map(
    nodes.map((n) => [n.id, { x: (n.position?.x ?? 0) - minX + pad, y: ((n.position?.y ?? 0) - minY) * spread + pad }]),
  );
  const W = Math.max(...[...pos.values()].map((p) => p.x)) + BOX_W + pad;
  const H = Math.max(...[...pos.values()].map((p) => p.y)) + BOX_H + pad;
  const parts = [
    // Narrow graphs shrink to fit a phone; wide ones keep their size and scroll in their card.
    `<svg class="graph${W <= 700 ? " fit" : ""}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="workflow graph">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path class="arrowhead" d="M0,0 L10,5 L0,10 z"/></marker></defs>`,
  ];
  for (const edge of edges) {
    const a = pos.get(edge.source), b = pos.get(edge.target);
    if (!a || !b) continue;
    const x1 = a.x + BOX_W / 2, y1 = a.y + BOX_H, x2 = b.x + BOX_W / 2, y2 = b.y - 2;
    const mid = (y1 + y2) / 2;
    parts.push(
      `<path class="edge${edge.animated ? " animated" : ""}" d="M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}" marker-end="url(#arrow)"/>`,
    );
  }
  for (const node of nodes) {
    const p = pos.get(node.id);
    const state = nodeState(node);
    const label = String(node.data?.label || node.id.slice(0, 8));
    const shown = label.length > 20 ? label.slice(0, 19) + "…" : label;
    parts.push(
      `<a href="#/process/${esc(node.id)}" class="node ${state}" data-node="${esc(node.id)}">`,
      `<title>${esc(label)} (${state})</title>`,
      `<rect x="${p.x}" y="${p.y}" width="${BOX_W}" height="${BOX_H}" rx="10"/>`,
      `<text class="node-label" x="${p.x + BOX_W / 2}" y="${p.y + 20}" text-anchor="middle">${esc(shown)}</text>`,
      `<text class="node-state" x="${p.x + BOX_W / 2}" y="${p.y + 37}" text-anchor="middle">${state}</text>`,
      `</a>`,
    );
  }
  parts.push("</svg>");
  return parts.join("");
}
