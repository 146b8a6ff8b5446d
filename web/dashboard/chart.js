// A small SVG line chart: two series over a shared time axis, each with its own scale (left
// and right). No library: the page must work offline and stay small.
"use strict";

const chart = (() => {
  const W = 760, H = 200, PAD = { l: 56, r: 64, t: 16, b: 28 };

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  function fmt(v) {
    if (v >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (v >= 1e4) return (v / 1e3).toFixed(0) + "k";
    if (v >= 1e3) return (v / 1e3).toFixed(1) + "k";
    if (v > 0 && v < 10) return String(Math.round(v * 100) / 100);
    return String(Math.round(v));
  }

  function path(points, x, y) {
    let d = "";
    let pen = false;
    for (const p of points) {
      if (p.v === null || p.v === undefined || Number.isNaN(p.v)) {
        pen = false;
        continue;
      }
      d += (pen ? "L" : "M") + x(p.t).toFixed(1) + " " + y(p.v).toFixed(1);
      pen = true;
    }
    return d;
  }

  // render returns the SVG text. series: [{label, unit, cls, points: [{t (ms), v}]}] (two);
  // the axis spans [now - spanMs, now].
  function render(series, now, spanMs, title) {
    const x = (t) => PAD.l + ((t - (now - spanMs)) / spanMs) * (W - PAD.l - PAD.r);
    const scales = series.map((s) => niceMax(Math.max(0, ...s.points.map((p) => p.v || 0))));
    const ys = scales.map((m) => (v) => H - PAD.b - (v / m) * (H - PAD.t - PAD.b));
    let out = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}" class="linechart">`;
    for (let i = 0; i <= 4; i++) {
      const yy = PAD.t + (i * (H - PAD.t - PAD.b)) / 4;
      out += `<line class="grid" x1="${PAD.l}" x2="${W - PAD.r}" y1="${yy}" y2="${yy}"/>`;
      const frac = 1 - i / 4;
      out += `<text class="axis ${series[0].cls}" x="${PAD.l - 6}" y="${yy + 4}" text-anchor="end">${fmt(scales[0] * frac)}</text>`;
      if (series[1]) out += `<text class="axis ${series[1].cls}" x="${W - PAD.r + 6}" y="${yy + 4}">${fmt(scales[1] * frac)}</text>`;
    }
    const step = [15, 30, 60, 120, 300].map((s) => s * 1000).find((s) => spanMs / s <= 6) || 300000;
    for (let ago = 0; ago <= spanMs; ago += step) {
      const label = ago === 0 ? "now" : ago % 60000 === 0 ? `−${ago / 60000} min` : `−${ago / 1000} s`;
      out += `<text class="axis" x="${x(now - ago)}" y="${H - 8}" text-anchor="middle">${label}</text>`;
    }
    series.forEach((s, i) => {
      out += `<path class="line ${s.cls}" d="${path(s.points, x, ys[i])}"/>`;
    });
    out += `<text class="legend ${series[0].cls}" x="${PAD.l}" y="12">${series[0].label} (${series[0].unit}, left)</text>`;
    if (series[1]) out += `<text class="legend ${series[1].cls}" x="${W - PAD.r}" y="12" text-anchor="end">${series[1].label} (${series[1].unit}, right)</text>`;
    return out + "</svg>";
  }

  return { render };
})();
