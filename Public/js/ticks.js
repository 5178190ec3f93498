// PURE: axis ticks of the charts: round value steps and whole local hours or days.
// Touches no document, window or storage (tests/js/ticks.test.mjs).
import { clock, dayFmt } from './format.js';

/** A round step (1, 2, 2.5, 5 × 10ⁿ) that cuts `range` into about `count` parts. */
export function niceStep(range, count) {
  const raw = range / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10) * mag;
}

/** Ticks on whole local hours or days, at most `max` of them. */
export function timeTicks(from, to, max) {
  const H = 36e5;
  const step = [1, 2, 3, 6, 12, 24, 48, 168, 336].find((s) => (to - from) / (s * H) <= max) || 672;
  const d = new Date(from);
  const ticks = [];
  if (step < 24) {
    d.setMinutes(0, 0, 0);
    while (d < from || d.getHours() % step) d.setHours(d.getHours() + 1);
    for (; d <= to; d.setHours(d.getHours() + step)) ticks.push([+d, clock.format(d)]);
  } else {
    d.setHours(24, 0, 0, 0);
    for (; d <= to; d.setDate(d.getDate() + step / 24)) ticks.push([+d, dayFmt.format(d)]);
  }
  return ticks;
}
