// Sparklines: a series of bucket averages drawn small on a card. The mapping of values to
// points is pure (tested under `node --test`); drawing takes a canvas and its colours.
// Imports nothing, so it loads in node as well as in the page.

/**
 * The polyline of `values` (numbers or null, oldest first) in a `w` × `h` box: one segment
 * per run of non-null values (a null is a gap, the line breaks there), each a list of
 * [x, y]. Values are clamped to [0, max]; x spreads the buckets evenly from `pad` to
 * w − pad (a single bucket sits in the middle), y is 0 at the bottom edge less `pad`.
 */
export function sparkPoints(values, w, h, { max = 100, pad = 1 } = {}) {
  const n = Array.isArray(values) ? values.length : 0;
  const top = max > 0 ? max : 1;
  const segments = [];
  let run = null;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      run = null;
      continue;
    }
    const x = n === 1 ? w / 2 : pad + (i / (n - 1)) * (w - 2 * pad);
    const y = h - pad - (Math.min(Math.max(v, 0), top) / top) * (h - 2 * pad);
    if (!run) segments.push((run = []));
    run.push([x, y]);
  }
  return segments;
}

/** Lowest, highest and latest of the non-null values, and how many there are (null when none). */
export function sparkSummary(values) {
  const seen = (Array.isArray(values) ? values : []).filter((v) => typeof v === 'number' && Number.isFinite(v));
  if (!seen.length) return null;
  return { min: Math.min(...seen), max: Math.max(...seen), last: seen[seen.length - 1], count: seen.length };
}

/** The accessible text of a sparkline: "CPU last 24 h: min 3.1 % max 87.0 %", or "…: no data". */
export function sparkLabel(title, values, span = '24 h', unit = '%') {
  const s = sparkSummary(values);
  if (!s) return `${title} last ${span}: no data`;
  const f = (v) => `${v.toFixed(1)} ${unit}`;
  return `${title} last ${span}: min ${f(s.min)} max ${f(s.max)}`;
}

/**
 * Paints `values` into `canvas` at its CSS size (`width` × `height`, device pixels from
 * `dpr`): a faint area under the line and the line itself; a lone bucket is a dot.
 * Returns the number of segments drawn (0: nothing to show, the canvas is left clear).
 */
export function drawSparkline(canvas, values, { width, height, dpr = 1, color = '#3b82f6', fill = null, max = 100 } = {}) {
  const w = Math.max(1, Math.round(width));
  const h = Math.max(1, Math.round(height));
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const segments = sparkPoints(values, w, h, { max, pad: 1.5 });
  ctx.lineWidth = 1.5;
  ctx.lineJoin = 'round';
  ctx.strokeStyle = color;
  for (const seg of segments) {
    if (fill) {
      ctx.fillStyle = fill;
      ctx.beginPath();
      ctx.moveTo(seg[0][0], h);
      for (const [x, y] of seg) ctx.lineTo(x, y);
      ctx.lineTo(seg[seg.length - 1][0], h);
      ctx.closePath();
      ctx.fill();
    }
    ctx.beginPath();
    if (seg.length === 1) {
      ctx.fillStyle = color;
      ctx.arc(seg[0][0], seg[0][1], 1.5, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    seg.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.stroke();
  }
  return segments.length;
}
