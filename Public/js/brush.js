// Brushing on the VM view's charts: the pure mapping between a chart's pixels and time, and
// the zoom range a drag selects. No DOM here, so `node --test` covers it.

/** Shortest zoom a drag may ask for (a minute), and the drag under which it is a click. */
export const MIN_SPAN_MS = 60_000;
export const MIN_DRAG_PX = 4;

/** The time under x in a chart whose plot runs from x0 to x1 over [from, to]; clamped to the plot. */
export function timeAt(x, { x0, x1, from, to }) {
  if (!(x1 > x0)) return from;
  const f = Math.min(Math.max((x - x0) / (x1 - x0), 0), 1);
  return from + f * (to - from);
}

/** The x of time t in that chart (not clamped: a point outside the range is off the plot). */
export function xAt(t, { x0, x1, from, to }) {
  return to > from ? x0 + ((t - from) / (to - from)) * (x1 - x0) : x0;
}

/** The selection a drag from xa to xb draws: its left edge and width, within the plot. */
export function brushRect(xa, xb, { x0, x1 }) {
  const a = Math.min(Math.max(Math.min(xa, xb), x0), x1);
  const b = Math.min(Math.max(Math.max(xa, xb), x0), x1);
  return { left: a, width: b - a };
}

/**
 * The time range a drag from xa to xb selects, whichever way it went: null for a click (a
 * drag under `minPx`); otherwise { from, to } in whole milliseconds within the chart's
 * range, widened about its middle to at least `minSpan` (kept inside the chart's range; the
 * whole range when that is shorter).
 */
export function brushRange(xa, xb, geom, { minSpan = MIN_SPAN_MS, minPx = MIN_DRAG_PX } = {}) {
  if (!Number.isFinite(xa) || !Number.isFinite(xb) || Math.abs(xb - xa) < minPx) return null;
  let from = timeAt(Math.min(xa, xb), geom);
  let to = timeAt(Math.max(xa, xb), geom);
  const full = geom.to - geom.from;
  if (full <= minSpan) return { from: Math.round(geom.from), to: Math.round(geom.to) };
  if (to - from < minSpan) {
    const mid = (from + to) / 2;
    from = Math.min(Math.max(mid - minSpan / 2, geom.from), geom.to - minSpan);
    to = from + minSpan;
  }
  return { from: Math.round(from), to: Math.round(to) };
}
