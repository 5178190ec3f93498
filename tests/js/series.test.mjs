// History series of Public/js/series.js: points from the API, the median step, where lines
// break, and downsampling that keeps each bucket's extremes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downsample, gapOf, medianStep, segments, toPoints } from '../../Public/js/series.js';

const at = (...ts) => ts.map((t) => ({ t, avg: t }));

test('toPoints parses times, keeps numbers only and sorts oldest first', () => {
  const pts = toPoints([
    { t: '2026-06-15T10:05:00Z', min: 1, avg: 2, max: 3 },
    { t: '2026-06-15T10:00:00Z', min: null, avg: 5, max: 'x' },
    { t: 'yesterday', avg: 1 },
    { t: '2026-06-15T10:10:00Z', avg: null },
    { t: '2026-06-15T10:15:00Z', avg: NaN },
    null, 'junk',
  ]);
  assert.deepEqual(pts, [
    { t: Date.parse('2026-06-15T10:00:00Z'), min: null, avg: 5, max: null },
    { t: Date.parse('2026-06-15T10:05:00Z'), min: 1, avg: 2, max: 3 },
  ]);
  assert.deepEqual(toPoints(undefined), []);
  assert.deepEqual(toPoints({ t: 1 }), []);
});

test('medianStep is the middle gap, robust to one outage', () => {
  assert.equal(medianStep([]), 0);
  assert.equal(medianStep(at(5)), 0);
  assert.equal(medianStep(at(0, 10)), 10);
  assert.equal(medianStep(at(0, 10, 20, 30, 1000)), 10, 'one long gap does not move it');
  assert.equal(medianStep(at(0, 1, 3, 6)), 2, 'gaps 1, 2, 3: the middle');
  assert.equal(medianStep(at(0, 1, 3, 6, 10)), 3, 'an even count takes the upper middle');
});

test('gapOf is three typical steps, at least a hundredth of the range', () => {
  assert.equal(gapOf(0, 1000, at(0, 10, 20)), 30);
  assert.equal(gapOf(0, 100000, at(0, 10, 20)), 1000, 'a hundredth of the range when steps are short');
  assert.equal(gapOf(0, 1000, []), 10);
});

test('segments break where points are more than the gap apart', () => {
  assert.deepEqual(segments([], 10), [[]], 'always one (empty) run');
  assert.deepEqual(segments(at(0), 10), [at(0)]);
  assert.deepEqual(segments(at(0, 10, 20), 10), [at(0, 10, 20)], 'exactly the gap still joins');
  assert.deepEqual(segments(at(0, 10, 21, 30, 100), 10), [at(0, 10), at(21, 30), at(100)]);
});

test('downsample merges runs and keeps the least minimum and the greatest maximum', () => {
  const pts = [
    { t: 0, min: 1, avg: 2, max: 3 }, { t: 1, min: 0, avg: 4, max: 99 },
    { t: 2, min: 5, avg: 6, max: 7 }, { t: 3, min: -8, avg: 8, max: 9 },
    { t: 4, avg: 10 },
  ];
  assert.deepEqual(downsample(pts, 3), [
    { t: 0, avg: 3, min: 0, max: 99 },
    { t: 2, avg: 7, min: -8, max: 9 },
    { t: 4, avg: 10, min: 10, max: 10 },
  ]);
  const big = Array.from({ length: 1000 }, (_, i) => ({ t: i, avg: i % 7, min: i === 321 ? -50 : 0, max: i === 777 ? 500 : 6 }));
  const small = downsample(big, 48);
  assert.ok(small.length <= 48 && small.length >= 40, `${small.length} points`);
  assert.equal(Math.min(...small.map((p) => p.min)), -50, 'the dip survives');
  assert.equal(Math.max(...small.map((p) => p.max)), 500, 'the spike survives');
  assert.deepEqual(small.map((p) => p.t), [...small.map((p) => p.t)].sort((a, b) => a - b));
});

test('downsample returns a copy of a short series and of a nonsense count', () => {
  const pts = at(0, 1, 2);
  for (const count of [3, 10, 0, -1, NaN]) {
    const out = downsample(pts, count);
    assert.deepEqual(out, pts, String(count));
    assert.notEqual(out, pts, 'a copy, not the same array');
  }
  assert.deepEqual(downsample([], 5), []);
  assert.deepEqual(downsample(at(0, 1, 2, 3), 1), [{ t: 0, avg: 1.5, min: 0, max: 3 }]);
});
