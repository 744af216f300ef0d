// Line charts drawn as SVG by the app: any number of series on one time axis (a run's equity, and later
// its baselines or an arena's models), the drawdown of one series shaded, and trade markers. The chart
// follows its container's width, and the pointer or the arrow keys read a value off the main series.

import { h, svg } from "./dom.js";

const HEIGHT = 260;
const PAD = { top: 12, right: 14, bottom: 28, left: 64 };
const DAY_MS = 86_400_000;

function niceStep(range, count) {
  const raw = range / Math.max(count, 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  const scaled = raw / power;
  return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power;
}

function extent(values) {
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (low === high) {
    const pad = Math.abs(low) * 0.01 || 1;
    low -= pad;
    high += pad;
  }
  return [low, high];
}

function timeLabel(t, spansDays) {
  const iso = new Date(t).toISOString();
  return spansDays ? iso.slice(0, 10) : iso.slice(11, 16);
}

/** Where each point goes: x from time, y from value. */
function scales(options, width) {
  const all = options.series.flatMap((s) => s.points);
  const [t0, t1] = extent(all.map((p) => p.t));
  const [v0, v1] = extent([...all.map((p) => p.v), ...options.markers.map((m) => m.v)]);
  const pad = (v1 - v0) * 0.06;
  const low = v0 - pad;
  const high = v1 + pad;
  const innerW = width - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  return {
    t0, t1, low, high,
    x: (t) => PAD.left + ((t - t0) / (t1 - t0)) * innerW,
    y: (v) => PAD.top + (1 - (v - low) / (high - low)) * innerH,
  };
}

function pathOf(points, scale) {
  return points.map((p, i) => `${i ? "L" : "M"}${scale.x(p.t).toFixed(1)},${scale.y(p.v).toFixed(1)}`).join("");
}

/** The areas between the running peak and the value, only where the value is below its best so far: each
 * starts at the last point on the peak and ends where the value is back at a peak (or at the end). */
function drawdownPath(points, scale) {
  let peak = -Infinity;
  const marked = points.map((p) => ({ t: p.t, v: p.v, peak: (peak = Math.max(peak, p.v)) }));
  const pieces = [];
  let piece = null;
  marked.forEach((p, i) => {
    const below = p.v < p.peak;
    if (below && !piece) piece = [marked[i - 1]];
    if (piece) piece.push(p);
    if (piece && !below) {
      pieces.push(piece);
      piece = null;
    }
  });
  if (piece) pieces.push(piece);
  return pieces.map((part) => {
    const top = pathOf(part.map((p) => ({ t: p.t, v: p.peak })), scale);
    return `${top}${pathOf([...part].reverse(), scale).replace(/^M/, "L")}Z`;
  }).join("");
}

function axes(scale, width, formatY) {
  const group = svg("g", { class: "axes", "aria-hidden": "true" });
  const step = niceStep(scale.high - scale.low, 4);
  for (let v = Math.ceil(scale.low / step) * step; v <= scale.high; v += step) {
    const y = scale.y(v);
    group.append(svg("line", { class: "grid", x1: PAD.left, x2: width - PAD.right, y1: y, y2: y }),
      svg("text", { x: PAD.left - 6, y: y + 4, "text-anchor": "end" }, formatY(v)));
  }
  const spansDays = scale.t1 - scale.t0 >= DAY_MS;
  const ticks = Math.max(2, Math.min(5, Math.floor((width - PAD.left) / 110)));
  for (let i = 0; i < ticks; i += 1) {
    const t = scale.t0 + ((scale.t1 - scale.t0) * i) / (ticks - 1);
    const anchor = i === 0 ? "start" : i === ticks - 1 ? "end" : "middle";
    group.append(svg("text", { x: scale.x(t), y: HEIGHT - 8, "text-anchor": anchor }, timeLabel(t, spansDays)));
  }
  return group;
}

/** Buys are a triangle below the curve pointing up, sells one above pointing down; any other kind a dot on it. */
function marker(m, scale) {
  const x = scale.x(m.t);
  const y = scale.y(m.v);
  const triangles = {
    buy: `M${x - 5},${y + 12}L${x + 5},${y + 12}L${x},${y + 4}Z`,
    sell: `M${x - 5},${y - 12}L${x + 5},${y - 12}L${x},${y - 4}Z`,
  };
  const shape = triangles[m.kind] ? svg("path", { d: triangles[m.kind] }) : svg("circle", { cx: x, cy: y, r: 4 });
  return svg("g", { class: `marker ${m.kind}` }, svg("title", {}, m.text), shape);
}

/**
 * A chart that redraws itself when given new data or when its container changes width.
 * @param {object} options
 * @param {string} options.title  the accessible name, e.g. "Equity curve of run 3"
 * @param {Array<{id: string, name: string, points: Array<{t: number, v: number}>, className?: string}>} options.series
 *        the first series is the main one: its drawdown is shaded and the readout follows it
 * @param {Array<{t: number, v: number, kind: string, text: string}>} [options.markers]  kind "buy" or "sell" (triangles), else a dot
 * @param {(v: number) => string} [options.formatY]
 * @param {(point) => string} [options.describe]  the readout's text for a point of the main series
 */
export function lineChart(options) {
  const state = { markers: [], formatY: String, describe: (p) => String(p.v), shadeDrawdown: true, ...options };
  const readout = h("p", { class: "chart-readout muted" });
  const legend = h("ul", { class: "chart-legend" });
  const frame = h("div", { class: "chart-frame" });
  const figure = h("figure", { class: "chart" }, frame, legend, readout);
  let focusIndex = -1;
  let width = 0;

  function draw() {
    width = frame.clientWidth || 720;
    const main = state.series[0];
    const drawn = state.series.filter((s) => s.points.length);
    legend.replaceChildren(...state.series.map((s) => h("li", { class: s.className || "" }, s.name)));
    if (!drawn.length) {
      frame.replaceChildren(h("p", { class: "muted chart-empty" }, "No values yet."));
      return;
    }
    const scale = scales({ ...state, series: drawn }, width);
    const chart = svg("svg", {
      viewBox: `0 0 ${width} ${HEIGHT}`, width, height: HEIGHT, role: "img", tabindex: 0,
      "aria-label": `${state.title}. ${summary(main)} Use the left and right arrow keys to read values.`,
    });
    chart.append(axes(scale, width, state.formatY));
    const drawdown = state.shadeDrawdown ? drawdownPath(main.points, scale) : "";
    if (drawdown) chart.append(svg("path", { class: "drawdown", d: drawdown }));
    for (const s of drawn) chart.append(svg("path", { class: `series-line ${s.className || ""}`, d: pathOf(s.points, scale), "data-series": s.id }));
    state.markers.forEach((m) => chart.append(marker(m, scale)));
    const cursor = svg("g", { class: "cursor", visibility: "hidden" },
      svg("line", { y1: PAD.top, y2: HEIGHT - PAD.bottom }), svg("circle", { r: 4 }));
    chart.append(cursor);
    const show = (index) => {
      const point = main.points[index];
      if (!point) return;
      focusIndex = index;
      const x = scale.x(point.t);
      cursor.setAttribute("visibility", "visible");
      cursor.firstChild.setAttribute("x1", x);
      cursor.firstChild.setAttribute("x2", x);
      cursor.lastChild.setAttribute("cx", x);
      cursor.lastChild.setAttribute("cy", scale.y(point.v));
      readout.textContent = state.describe(point, index);
    };
    chart.addEventListener("pointermove", (event) => {
      const box = chart.getBoundingClientRect();
      const t = scale.t0 + ((event.clientX - box.left - PAD.left) / (width - PAD.left - PAD.right)) * (scale.t1 - scale.t0);
      show(nearest(main.points, t));
    });
    chart.addEventListener("keydown", (event) => {
      const moves = { ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity };
      if (!(event.key in moves)) return;
      event.preventDefault();
      const last = main.points.length - 1;
      show(Math.max(0, Math.min(last, (focusIndex < 0 ? last : focusIndex) + moves[event.key])));
    });
    frame.replaceChildren(chart);
    if (focusIndex >= 0) show(Math.min(focusIndex, main.points.length - 1));
  }

  function summary(series) {
    const points = series.points;
    if (!points.length) return "No values yet.";
    return `${points.length} values of ${series.name}, from ${state.formatY(points[0].v)} to ${state.formatY(points[points.length - 1].v)}.`;
  }

  const resize = new ResizeObserver(() => {
    if (frame.clientWidth && Math.abs(frame.clientWidth - width) > 2) draw();
  });
  resize.observe(frame);
  requestAnimationFrame(draw);

  return {
    element: figure,
    update(changes) {
      Object.assign(state, changes);
      draw();
    },
    dispose: () => resize.disconnect(),
  };
}

function nearest(points, t) {
  let best = 0;
  points.forEach((p, i) => {
    if (Math.abs(p.t - t) < Math.abs(points[best].t - t)) best = i;
  });
  return best;
}
