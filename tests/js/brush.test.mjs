import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timeAt, xAt, brushRect, brushRange, MIN_SPAN_MS } from '../../Public/js/brush.js';

const geom = { x0: 100, x1: 600, from: 1_000_000, to: 1_000_000 + 3_600_000 };

test('pixels map to time and back, clamped to the plot', () => {
  assert.equal(timeAt(100, geom), geom.from);
  assert.equal(timeAt(350, geom), geom.from + 1_800_000);
  assert.equal(timeAt(600, geom), geom.to);
  assert.equal(timeAt(20, geom), geom.from);
  assert.equal(timeAt(900, geom), geom.to);
  assert.equal(xAt(geom.from + 1_800_000, geom), 350);
  assert.equal(xAt(timeAt(237, geom), geom), 237);
});

test('a degenerate plot answers its start, never NaN', () => {
  assert.equal(timeAt(50, { x0: 10, x1: 10, from: 5, to: 9 }), 5);
  assert.equal(xAt(7, { x0: 10, x1: 20, from: 5, to: 5 }), 10);
});

test('a drag selects its range whichever way it went', () => {
  const right = brushRange(200, 350, geom);
  assert.deepEqual(right, { from: geom.from + 720_000, to: geom.from + 1_800_000 });
  assert.deepEqual(brushRange(350, 200, geom), right);
});

test('a drag past the plot is clamped to its edges', () => {
  assert.deepEqual(brushRange(0, 2000, geom), { from: geom.from, to: geom.to });
});

test('a click is no zoom', () => {
  assert.equal(brushRange(300, 302, geom), null);
  assert.equal(brushRange(300, NaN, geom), null);
});

test('a short drag widens to the minimum span about its middle, inside the range', () => {
  // 5 px are 36 s of an hour's chart: widened to one minute.
  const r = brushRange(300, 305, geom);
  assert.equal(r.to - r.from, MIN_SPAN_MS);
  assert.equal((r.from + r.to) / 2, timeAt(302.5, geom));
  // At the right edge it stays inside.
  const edge = brushRange(596, 600, geom);
  assert.deepEqual(edge, { from: geom.to - MIN_SPAN_MS, to: geom.to });
  const left = brushRange(100, 104, geom);
  assert.deepEqual(left, { from: geom.from, to: geom.from + MIN_SPAN_MS });
});

test('a chart shorter than the minimum span zooms to all of it', () => {
  const short = { x0: 0, x1: 100, from: 0, to: 30_000 };
  assert.deepEqual(brushRange(10, 90, short), { from: 0, to: 30_000 });
});

test('the selection rectangle stays within the plot', () => {
  assert.deepEqual(brushRect(50, 300, geom), { left: 100, width: 200 });
  assert.deepEqual(brushRect(700, 400, geom), { left: 400, width: 200 });
});
