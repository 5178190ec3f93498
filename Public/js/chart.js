// The canvas: colours from the stylesheet, a canvas sized for the screen, the history charts.
import { brushRange, brushRect } from './brush.js';
import { h, setAttr, setText } from './dom.js';
import { fmt, num, rate, when } from './format.js';
import { RANGES } from './router.js';
import { downsample, gapOf, segments } from './series.js';
import { state } from './state.js';
import { niceStep, timeTicks } from './ticks.js';

/** Line colours of the charts: --line, --line2 … in the stylesheet. */
export const LINE_COLOURS = 6;

export let colors = {};
export let colorsVersion = 0;
/** Colours come from the stylesheet, so light and dark live in one place. */
export function readColors() {
  const cs = getComputedStyle(document.documentElement);
  const v = (name) => cs.getPropertyValue(name).trim();
  colors = {
    ok: v('--ok'), warning: v('--warn'), critical: v('--crit'), stale: v('--stale'), none: v('--stale'),
    track: v('--track'), grid: v('--grid'), text: v('--muted'), fg: v('--fg'), bg: v('--card'),
    lines: Array.from({ length: LINE_COLOURS }, (_, i) => v(`--line${i ? i + 1 : ''}`)), band: v('--band'),
    font: getComputedStyle(document.body).fontFamily, fontPx: parseFloat(cs.fontSize) || 16,
  };
  colorsVersion++;
}

export function prepareCanvas(canvas, w, hgt) {
  const dpr = window.devicePixelRatio || 1;
  const pw = Math.max(1, Math.round(w * dpr));
  const ph = Math.max(1, Math.round(hgt * dpr));
  if (canvas.width !== pw) canvas.width = pw;
  if (canvas.height !== ph) canvas.height = ph;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(pw / w, 0, 0, ph / hgt, 0, 0);
  ctx.clearRect(0, 0, w, hgt);
  return ctx;
}

export function makeChart(spec) {
  const canvas = h('canvas', { tabindex: 0, role: 'img', 'aria-label': `${spec.title}: loading` });
  const readout = h('span', { class: 'readout' });
  const legend = spec.names && h('span', { class: 'legend' },
    spec.names.map((name, i) => h('span', { class: `key k${i % LINE_COLOURS}`, text: name })));
  const ch = {
    spec, canvas, readout, hover: null, data: null, drawn: '',
    root: h('figure', { class: 'chart', 'data-chart': spec.key },
      h('figcaption', null, h('span', { text: spec.title + (spec.unit ? ` (${spec.unit})` : '') }), legend, readout), canvas),
  };
  const pts = () => ch.main || [];
  const hover = (i) => {
    ch.hover = i;
    paintChart(ch);
  };
  canvas.addEventListener('pointermove', (ev) => {
    const g = ch.geom;
    const p = pts();
    if (!g || !p.length) return;
    const t = g.from + ((ev.offsetX - g.x0) / (g.x1 - g.x0)) * (g.to - g.from);
    let best = 0;
    for (let i = 1; i < p.length; i++) if (Math.abs(p[i].t - t) < Math.abs(p[best].t - t)) best = i;
    if (ch.brush) ch.brush.b = ev.offsetX;
    if (best !== ch.hover || ch.brush) hover(best);
  });
  // Brushing: a drag across the plot asks the view (ch.onZoom) to zoom every chart to that
  // span; a click (under a few pixels) is no zoom.
  canvas.addEventListener('pointerdown', (ev) => {
    if (ev.button !== 0 || !ch.geom || !pts().length) return;
    ch.brush = { a: ev.offsetX, b: ev.offsetX };
    canvas.setPointerCapture?.(ev.pointerId);
  });
  canvas.addEventListener('pointerup', (ev) => {
    const b = ch.brush;
    if (!b) return;
    ch.brush = null;
    const r = brushRange(b.a, ev.offsetX, ch.geom);
    paintChart(ch);
    if (r) ch.onZoom?.(r);
  });
  canvas.addEventListener('pointercancel', () => {
    ch.brush = null;
    paintChart(ch);
  });
  canvas.addEventListener('pointerleave', () => hover(null));
  canvas.addEventListener('blur', () => hover(null));
  // The same readout from the keyboard: arrows (with Shift: 10 points), Home, End.
  canvas.addEventListener('keydown', (ev) => {
    const last = pts().length - 1;
    const cur = ch.hover ?? last;
    const step = ev.shiftKey ? 10 : 1;
    const next = { ArrowLeft: cur - step, ArrowRight: cur + step, Home: 0, End: last }[ev.key];
    if (next == null || last < 0) return;
    ev.preventDefault();
    hover(Math.max(0, Math.min(last, next)));
  });
  return ch;
}

export function paintChart(ch) {
  const [w, hgt] = ch.size || [0, 0];
  const { spec, th, hover } = ch;
  const brush = ch.brush ? `${ch.brush.a}:${ch.brush.b}` : '';
  const key = `${w}|${hgt}|${devicePixelRatio}|${colorsVersion}|${hover}|${th?.warning}|${th?.critical}|${brush}`;
  if (!w || !hgt || ch.drawn === key) return;
  ch.drawn = key;
  const ctx = prepareCanvas(ch.canvas, w, hgt);
  const fs = Math.round(colors.fontPx * 0.8);
  ctx.font = `${fs}px ${colors.font}`;
  const series = ch.data || [];
  const main = ch.main || [];
  let top = spec.max;
  if (!top) {
    let m = Math.max(th?.critical || 0, spec.floor || 0.1);
    for (const s of series) for (const p of s.pts) m = Math.max(m, p.max ?? p.avg);
    const step = niceStep(m * 1.1, 4);
    top = Math.ceil((m * 1.1) / step) * step;
  }
  const label = spec.bytes ? rate : (v) => fmt(v, spec.unit ? 1 : 2);
  const unit = spec.unit ? ` ${spec.unit}` : '';
  const yStep = niceStep(top, Math.max(2, Math.min(5, Math.floor(hgt / (fs * 3)))));
  const yTicks = [];
  for (let v = 0; v <= top + 1e-9; v += yStep) yTicks.push(v);
  // Room for the widest label ("1.5 MB/s" is wider than the top's "2 MB/s").
  const x0 = Math.ceil(Math.max(...yTicks.map((v) => ctx.measureText(label(v)).width))) + 10;
  const x1 = w - 6;
  const y0 = fs * 0.8;
  const y1 = hgt - fs * 1.8;
  const { from, to } = ch.hist || { from: 0, to: 1 };
  ch.geom = { x0, x1, from, to };
  const X = (t) => x0 + ((t - from) / (to - from)) * (x1 - x0);
  const Y = (v) => y1 - (Math.min(Math.max(v, 0), top) / top) * (y1 - y0);
  const line = (xa, ya, xb, yb) => {
    ctx.beginPath();
    ctx.moveTo(xa, ya);
    ctx.lineTo(xb, yb);
    ctx.stroke();
  };
  // grid, y labels, time labels
  ctx.strokeStyle = colors.grid;
  ctx.fillStyle = colors.text;
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const v of yTicks) {
    const y = Math.round(Y(v)) + 0.5;
    line(x0, y, x1, y);
    ctx.fillText(label(v), x0 - 5, y);
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  if (ch.hist) {
    const ticks = timeTicks(from, to, Math.max(2, Math.floor((x1 - x0) / (fs * 6))));
    for (const [t, text] of ticks) {
      const x = Math.round(X(t)) + 0.5;
      line(x, y1, x, y1 + 4);
      ctx.fillText(text, Math.min(Math.max(x, x0 + 16), x1 - 16), y1 + 6);
    }
    ch.root.dataset.ticks = ticks.map(([, text]) => text).join(' ');
  }
  // What the time axis spans, in words: "over the last 24 h", "since 10:12", "from … to …".
  const span = ch.hist?.label || `over the last ${RANGES[state.view.range]}`;
  // thresholds as dashed lines, labelled on the right
  const limits = [['warning', colors.warning], ['critical', colors.critical]].filter(([n]) => num(th?.[n]) != null && th[n] <= top);
  ch.root.dataset.thresholds = limits.map(([n]) => `${n} ${label(th[n])}`).join(' · ');
  ctx.lineWidth = 1.5;
  ctx.setLineDash([6, 4]);
  for (const [n, color] of limits) {
    ctx.strokeStyle = color;
    line(x0, Math.round(Y(th[n])) + 0.5, x1, Math.round(Y(th[n])) + 0.5);
  }
  ctx.setLineDash([]);
  const labels = () => {
    ctx.textAlign = 'right';
    ctx.textBaseline = 'bottom';
    for (const [n, color] of limits) {
      const text = `${n} ${label(th[n])}${th.perCore ? ` (${th.perCore[n]} × ${th.cores} cores)` : ''}`;
      const tw = ctx.measureText(text).width;
      ctx.fillStyle = colors.bg;
      ctx.fillRect(x1 - tw - 6, Y(th[n]) - fs - 3, tw + 6, fs + 2);
      ctx.fillStyle = color;
      ctx.fillText(text, x1 - 3, Y(th[n]) - 2);
    }
  };
  if (!main.length) {
    labels();
    ctx.fillStyle = colors.text;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(ch.data ? `No history ${ch.hist?.zoomed ? 'in this span' : `for the last ${RANGES[state.view.range]}`}` : 'Loading…', (x0 + x1) / 2, (y0 + y1) / 2);
    setAttr(ch.canvas, 'aria-label', `${spec.title}: ${ch.data ? 'no history in this range' : 'loading'}`);
    setText(ch.readout, '');
    ch.root.dataset.drawn = ch.data ? 'empty' : 'loading';
    return;
  }
  // Lines break where reports are missing (a gap of more than 3 buckets).
  const gap = gapOf(from, to, main);
  // A run never draws more points than half the pixels it spans (300 points on a phone's
  // 300 px chart): neighbours merge keeping their extremes, so a spike still shows.
  const runs = (pts) => segments(pts, gap)
    .map((seg) => downsample(seg, 1 + Math.floor((X(seg[seg.length - 1].t) - X(seg[0].t)) / 2)));
  const path = (seg, val, on) => seg.forEach((p, i) => ctx[i || on ? 'lineTo' : 'moveTo'](X(p.t), Y(val(p))));
  if (spec.max) {
    ctx.fillStyle = colors.band; // min…max of each bucket
    for (const seg of runs(main)) {
      ctx.beginPath();
      path(seg, (p) => p.max ?? p.avg);
      path([...seg].reverse(), (p) => p.min ?? p.avg, true);
      ctx.fill();
    }
  }
  const stroke = (pts) => {
    for (const seg of runs(pts)) {
      ctx.beginPath();
      path(seg, (p) => p.avg);
      if (seg.length === 1) ctx.arc(X(seg[0].t), Y(seg[0].avg), 1.5, 0, 7);
      ctx.stroke();
    }
  };
  ctx.lineJoin = 'round';
  ctx.lineWidth = series.length > 1 && !spec.max ? 1.75 : 1.25;
  for (let s = series.length - 1; s >= 0; s--) {
    if (s === ch.mainAt) continue;
    ctx.strokeStyle = colors.lines[s % LINE_COLOURS];
    stroke(series[s].pts);
  }
  ch.root.dataset.lines = String(series.filter((s) => s.pts.length).length);
  // The main line turns amber and red where it crosses the thresholds.
  ctx.lineWidth = 2;
  const warnY = num(th?.warning) != null ? Y(th.warning) : y0;
  const critY = num(th?.critical) != null ? Y(th.critical) : y0;
  for (const [ya, yb, color] of [[0, critY, colors.critical], [critY, warnY, colors.warning], [warnY, hgt, colors.lines[ch.mainAt % LINE_COLOURS]]]) {
    if (yb <= ya) continue;
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, ya, w, yb - ya);
    ctx.clip();
    ctx.strokeStyle = color;
    stroke(main);
    ctx.restore();
  }
  labels();
  const avg = main.reduce((a, p) => a + p.avg, 0) / main.length;
  const peak = Math.max(...main.map((p) => p.max ?? p.avg));
  const last = main[main.length - 1];
  // With several lines: the main one's average and peak, then every line's latest.
  const latest = spec.names ? lineReadings(series, spec, last.t, label, unit) : `${label(last.avg)}${unit}`;
  setAttr(ch.canvas, 'aria-label', `${spec.title} ${span}: ${spec.names ? `${spec.names[ch.mainAt]} ` : ''}average ${label(avg)}${unit}, peak ${label(peak)}${unit}, latest ${latest}`);
  ch.root.dataset.drawn = 'true';
  // How much of the plot's width the main line spans (a young history fills it: loadHistory).
  ch.root.dataset.fill = ((X(last.t) - X(main[0].t)) / (x1 - x0)).toFixed(2);
  if (ch.brush) {
    const r = brushRect(ch.brush.a, ch.brush.b, ch.geom);
    ctx.fillStyle = colors.band;
    ctx.fillRect(r.left, y0, r.width, y1 - y0);
    ctx.strokeStyle = colors.fg;
    ctx.lineWidth = 1;
    ctx.strokeRect(Math.round(r.left) + 0.5, y0, Math.round(r.width), y1 - y0);
  }
  const p = main[hover];
  if (p) {
    const x = Math.round(X(p.t)) + 0.5;
    ctx.strokeStyle = colors.fg;
    ctx.lineWidth = 1;
    line(x, y0, x, y1);
    ctx.fillStyle = colors.lines[ch.mainAt % LINE_COLOURS];
    ctx.beginPath();
    ctx.arc(x, Y(p.avg), 3.5, 0, 7);
    ctx.fill();
  }
  const at = p || main[main.length - 1];
  const reading = spec.names ? lineReadings(series, spec, at.t, label, unit)
    : `${label(at.avg)}${unit}${at.min != null && at.max != null && at.min !== at.max ? ` (${label(at.min)}–${label(at.max)})` : ''}`;
  setText(ch.readout, `${p ? `${when(p.t)}  ` : 'latest '}${reading}`);
}

/** Each line's value at `t` ("↓ received 1.2 MB/s · ↑ sent 80 KB/s"); with more than three
 * lines (sensors), the highest only. */
export function lineReadings(series, spec, t, label, unit) {
  const at = series.map((s, i) => [spec.names[i], s.pts.find((q) => q.t === t)?.avg]);
  if (at.length <= 3) return at.map(([name, v]) => `${name} ${label(v)}${v == null ? '' : unit}`).join(' · ');
  const [name, v] = at.filter(([, x]) => x != null).sort((a, b) => b[1] - a[1])[0] || ['', null];
  return `highest ${label(v)}${unit} (${name})`;
}
