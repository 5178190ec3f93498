// PURE: history series as the charts draw them: points from the API, the typical step, the gaps
// where a line breaks, downsampling. Touches no document, window or storage (tests/js/series.test.mjs).
import { list, num } from './format.js';

/** The points of a history answer (`{t, min, avg, max}`, t in ms), oldest first; points
 * without a time or an average are dropped. */
export const toPoints = (points) => list(points)
  .map((p) => ({ t: Date.parse(p.t), min: num(p.min), avg: num(p.avg), max: num(p.max) }))
  .filter((p) => Number.isFinite(p.t) && p.avg != null).sort((x, y) => x.t - y.t);

/** The median time between consecutive points; 0 with fewer than two. */
export function medianStep(pts) {
  const d = pts.slice(1).map((p, i) => p.t - pts[i].t).sort((a, b) => a - b);
  return d[d.length >> 1] || 0;
}

/** The longest pause a line still joins over [from, to]: a hundredth of the range, or three
 * typical steps when the points are sparser (a gap of more than 3 buckets is missing reports). */
export const gapOf = (from, to, pts) => Math.max((to - from) / 100, 3 * medianStep(pts));

/** The runs of points no more than `gap` apart: a line is drawn per run. Always one run at least. */
export const segments = (pts, gap) => pts.reduce((out, p, i) => {
  if (i && p.t - pts[i - 1].t > gap) out.push([]);
  out[out.length - 1].push(p);
  return out;
}, [[]]);

/** At most `count` points: runs of consecutive points merged, each at its first point's time
 * with the mean of the averages, the least minimum and the greatest maximum, so a spike
 * survives the merge. Fewer points than `count` come back as they are. */
export function downsample(pts, count) {
  if (!(count >= 1) || pts.length <= count) return pts.slice();
  const size = Math.ceil(pts.length / Math.floor(count));
  const out = [];
  for (let i = 0; i < pts.length; i += size) {
    const run = pts.slice(i, i + size);
    const lows = run.map((p) => p.min ?? p.avg);
    const highs = run.map((p) => p.max ?? p.avg);
    out.push({
      t: run[0].t, avg: run.reduce((a, p) => a + p.avg, 0) / run.length,
      min: Math.min(...lows), max: Math.max(...highs),
    });
  }
  return out;
}
