// Axis ticks of Public/js/ticks.js: round value steps and time ticks on whole local hours or
// days. Time ticks are checked against the local clock, so the test holds in any time zone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clock, dayFmt } from '../../Public/js/format.js';
import { niceStep, timeTicks } from '../../Public/js/ticks.js';

const close = (a, b) => Math.abs(a - b) <= Math.abs(b) * 1e-12;

test('niceStep rounds up to 1, 2, 2.5 or 5 times a power of ten', () => {
  const cases = [[100, 4, 25], [7, 4, 2], [1, 3, 0.5], [0.7, 4, 0.2], [110, 5, 25], [3e9, 4, 1e9], [1, 1, 1],
    [10, 5, 2], [10.0001, 5, 2.5], [12.5, 5, 2.5], [12.6, 5, 5], [25.1, 5, 10], [0.003, 3, 0.001], [99, 1, 100]];
  for (const [range, count, want] of cases) assert.ok(close(niceStep(range, count), want), `${range}/${count}: ${niceStep(range, count)}`);
});

test('niceStep cuts any range into at most `count` parts', () => {
  for (const range of [0.013, 0.7, 1, 3, 7.7, 13, 99, 101, 1234, 5e6, 3.3e9]) {
    for (const count of [2, 3, 4, 5, 7]) {
      const step = niceStep(range, count);
      assert.ok(step > 0 && range / step <= count + 1e-9, `${range}/${count} → ${step}`);
      assert.ok(range / step > count / 5 - 1e-9, `${range}/${count} → ${step} is too coarse`);
    }
  }
});

const HOUR = 36e5;

function assertTicks(ticks, from, to, max) {
  assert.ok(ticks.length <= max, `${ticks.length} ticks, at most ${max}`);
  for (const [t] of ticks) assert.ok(t >= from && t <= to, `${new Date(t).toISOString()} outside the range`);
  for (let i = 1; i < ticks.length; i++) assert.ok(ticks[i][0] > ticks[i - 1][0], 'ticks go forward');
}

test('time ticks of a short range fall on whole local hours, an even step apart', () => {
  const from = new Date(2026, 5, 15, 10, 17).getTime();
  const ticks = timeTicks(from, from + 6 * HOUR, 4);
  assertTicks(ticks, from, from + 6 * HOUR, 4);
  assert.ok(ticks.length >= 2, JSON.stringify(ticks));
  for (const [t, label] of ticks) {
    const d = new Date(t);
    assert.equal(d.getMinutes() + d.getSeconds() + d.getMilliseconds(), 0);
    assert.equal(d.getHours() % 2, 0, 'a 2-hour step starts on an even hour');
    assert.equal(label, clock.format(t));
  }
});

test('time ticks of a day use the smallest step that keeps to `max`', () => {
  const from = new Date(2026, 5, 15, 0, 30).getTime();
  for (const [max, step] of [[24, 1], [12, 2], [8, 3], [4, 6], [2, 12]]) {
    const ticks = timeTicks(from, from + 24 * HOUR, max);
    assertTicks(ticks, from, from + 24 * HOUR, max);
    const gaps = ticks.slice(1).map(([t], i) => Math.round((t - ticks[i][0]) / HOUR));
    assert.ok(gaps.every((g) => g === step), `max ${max}: gaps ${gaps}, want ${step} h`);
  }
});

test('time ticks of a week and a month fall on local midnights, labelled by day', () => {
  const from = new Date(2026, 10, 3, 13, 45).getTime();
  for (const [days, max, stepDays] of [[7, 8, 1], [7, 4, 2], [30, 5, 7], [30, 3, 14], [60, 3, 28]]) {
    const to = from + days * 24 * HOUR;
    const ticks = timeTicks(from, to, max);
    assertTicks(ticks, from, to, max);
    assert.ok(ticks.length >= 1, `${days} d / ${max}`);
    for (const [t, label] of ticks) {
      const d = new Date(t);
      assert.equal(d.getHours() + d.getMinutes(), 0, 'midnight');
      assert.equal(label, dayFmt.format(t));
    }
    for (let i = 1; i < ticks.length; i++) {
      const a = new Date(ticks[i - 1][0]);
      const b = new Date(ticks[i][0]);
      const calendarDays = Math.round((Date.UTC(b.getFullYear(), b.getMonth(), b.getDate())
        - Date.UTC(a.getFullYear(), a.getMonth(), a.getDate())) / 864e5);
      assert.equal(calendarDays, stepDays, `${days} d / ${max}: ${a} → ${b}`);
    }
  }
});

test('a range shorter than the step has no tick; the first day tick is the next midnight', () => {
  const from = new Date(2026, 5, 15, 10, 17).getTime();
  assert.deepEqual(timeTicks(from + 10e3, from + 30e3, 6), [], 'no whole minute between 10:17:10 and 10:17:30');
  const ticks = timeTicks(from, from + 7 * 24 * HOUR, 8);
  assert.equal(ticks[0][0], new Date(2026, 5, 16).getTime());
});

test('past 4 weeks a tick the step stays 28 days, even when that makes more than `max`', () => {
  const from = new Date(2026, 0, 1, 12).getTime();
  const ticks = timeTicks(from, from + 90 * 24 * HOUR, 2);
  assert.equal(ticks.length, 4);
  assert.equal(Math.round((ticks[1][0] - ticks[0][0]) / (24 * HOUR)), 28);
});

test('a 1 h chart and a brushed few minutes get ticks on whole local minutes', () => {
  const from = new Date(2026, 5, 15, 10, 17, 23).getTime();
  for (const [span, max, steps] of [[HOUR, 6, [10, 15]], [5 * 6e4, 5, [1, 2]], [30 * 6e4, 4, [10]]]) {
    const ticks = timeTicks(from, from + span, max);
    assertTicks(ticks, from, from + span, max);
    assert.ok(ticks.length >= 2, `${span / 6e4} min: ${JSON.stringify(ticks)}`);
    const minutes = ticks.map(([t]) => new Date(t));
    for (const d of minutes) {
      assert.equal(d.getSeconds(), 0);
      assert.ok(steps.some((s) => d.getMinutes() % s === 0), `${d.toTimeString()} is not on a ${steps} min step`);
    }
    const gap = (ticks[1][0] - ticks[0][0]) / 6e4;
    assert.ok(steps.includes(gap), `${span / 6e4} min: a ${gap} min step`);
    assert.equal(ticks[0][1], clock.format(minutes[0]));
  }
});
