// The monthly trend, drawn locally as inline SVG: accepted and completed as paired bars, the on-time rate as a
// line on its own scale. No chart library, nothing fetched.
import { s, num, pct } from "./dom.js";
import { t } from "./i18n.js";

const W = 760;
const H = 240;
const PAD = { left: 56, right: 52, top: 16, bottom: 34 };

// The top of the count axis: four whole-number steps of 1, 2 or 5 times a power of ten.
function niceMax(value) {
  if (value <= 0) return 4;
  const rough = value / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough && Number.isInteger(s)) || Math.ceil(rough);
  return step * 4;
}

export function trendChart(points) {
  const max = niceMax(Math.max(0, ...points.map((p) => Math.max(p.figures.accepted, p.figures.completed))));
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const slot = innerW / Math.max(points.length, 1);
  const bar = Math.min(22, slot / 3);
  const y = (v) => PAD.top + innerH - (v / max) * innerH;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": t("chart.label") });
  for (let i = 0; i <= 4; i += 1) {
    const v = (max / 4) * i;
    svg.append(s("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: "grid" }),
      s("text", { x: PAD.left - 8, y: y(v) + 4, class: "axis", "text-anchor": "end" }, num(v)));
  }
  for (let i = 0; i <= 4; i += 1) {
    svg.append(s("text", { x: W - PAD.right + 8, y: PAD.top + innerH - (innerH * i) / 4 + 4, class: "axis rate-axis" }, `${i * 25}%`));
  }
  const line = [];
  points.forEach((p, i) => {
    const x = PAD.left + slot * i + slot / 2;
    const f = p.figures;
    svg.append(
      s("rect", { x: x - bar - 1, y: y(f.accepted), width: bar, height: Math.max(0, PAD.top + innerH - y(f.accepted)), class: "bar-accepted" },
        s("title", {}, `${p.label} ${t("fig.accepted")} ${num(f.accepted)}`)),
      s("rect", { x: x + 1, y: y(f.completed), width: bar, height: Math.max(0, PAD.top + innerH - y(f.completed)), class: "bar-completed" },
        s("title", {}, `${p.label} ${t("fig.completed")} ${num(f.completed)}`)),
      s("text", { x, y: H - PAD.bottom + 18, class: "axis", "text-anchor": "middle" }, p.label));
    if (f.on_time_rate !== null) line.push([x, PAD.top + innerH - f.on_time_rate * innerH, p.label, f.on_time_rate]);
  });
  if (line.length) {
    svg.append(s("polyline", { points: line.map(([x, yy]) => `${x},${yy}`).join(" "), class: "rate-line" }));
    for (const [x, yy, label, rate] of line) {
      svg.append(s("circle", { cx: x, cy: yy, r: 3, class: "rate-dot" }, s("title", {}, `${label} ${t("fig.on_time_rate")} ${pct(rate)}`)));
    }
  }
  return svg;
}

export function chartLegend() {
  const item = (cls, key) => `<span class="legend-item"><span class="swatch ${cls}"></span>${t(key)}</span>`;
  const el = document.createElement("p");
  el.className = "legend";
  el.innerHTML = item("bar-accepted", "fig.accepted") + item("bar-completed", "fig.completed") + item("rate-line", "fig.on_time_rate");
  return el;
}
