// PURE: axis ticks of the charts: round value steps and whole local minutes, hours or days.
// Touches no document, window or storage (tests/js/ticks.test.mjs).
import { clock, dayFmt } from './format.js';

/** A round step (1, 2, 2.5, 5 × 10ⁿ) that cuts `range` into about `count` parts. */
export function niceStep(range, count) {
  const raw = range / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10) * mag;
}

/** Ticks on whole local minutes (a step that divides the hour: 1, 2, 5, 10, 15, 30), hours
 * or days, at most `max` of them: a 1 h chart or a brushed 5 minutes gets labels too. */
export function timeTicks(from, to, max) {
  const M = 6e4;
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 20160];
  const step = steps.find((s) => (to - from) / (s * M) <= max) || 40320;
  const d = new Date(from);
  const ticks = [];
  if (step < 60) {
    d.setSeconds(0, 0);
    while (d < from || d.getMinutes() % step) d.setMinutes(d.getMinutes() + 1);
    for (; d <= to; d.setMinutes(d.getMinutes() + step)) ticks.push([+d, clock.format(d)]);
  } else if (step < 1440) {
    const hours = step / 60;
    d.setMinutes(0, 0, 0);
    while (d < from || d.getHours() % hours) d.setHours(d.getHours() + 1);
    for (; d <= to; d.setHours(d.getHours() + hours)) ticks.push([+d, clock.format(d)]);
  } else {
    d.setHours(24, 0, 0, 0);
    for (; d <= to; d.setDate(d.getDate() + step / 1440)) ticks.push([+d, dayFmt.format(d)]);
  }
  return ticks;
}
