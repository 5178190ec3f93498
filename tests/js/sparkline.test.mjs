import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sparkPoints, sparkSummary, sparkLabel } from '../../Public/js/sparkline.js';

test('values spread evenly across the width, 0 at the bottom and max at the top', () => {
  const [seg] = sparkPoints([0, 50, 100], 102, 52, { max: 100, pad: 1 });
  assert.deepEqual(seg, [[1, 51], [51, 26], [101, 1]]);
});

test('a null breaks the line into segments and is never drawn', () => {
  const segs = sparkPoints([10, null, 20, 30, null], 4, 10, { pad: 0 });
  assert.equal(segs.length, 2);
  assert.deepEqual(segs.map((s) => s.length), [1, 2]);
  assert.deepEqual(segs[1].map(([x]) => x), [2, 3]);
});

test('values outside [0, max] are clamped to the box', () => {
  const [seg] = sparkPoints([-5, 250], 10, 10, { max: 100, pad: 0 });
  assert.deepEqual(seg.map(([, y]) => y), [10, 0]);
});

test('a single bucket sits in the middle; nothing, NaN or all nulls draw nothing', () => {
  assert.deepEqual(sparkPoints([40], 20, 10, { pad: 0 }), [[[10, 6]]]);
  assert.deepEqual(sparkPoints([], 20, 10), []);
  assert.deepEqual(sparkPoints([null, null], 20, 10), []);
  assert.deepEqual(sparkPoints([NaN, 'x'], 20, 10), []);
  assert.deepEqual(sparkPoints(undefined, 20, 10), []);
});

test('a max of 0 does not divide by zero', () => {
  const [seg] = sparkPoints([0, 1], 10, 10, { max: 0, pad: 0 });
  assert.ok(seg.every(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
});

test('the summary ignores nulls and the label says min and max or no data', () => {
  assert.deepEqual(sparkSummary([null, 3.14, 87, null, 12]), { min: 3.14, max: 87, last: 12, count: 3 });
  assert.equal(sparkSummary([null]), null);
  assert.equal(sparkLabel('CPU', [null, 3.14, 87]), 'CPU last 24 h: min 3.1 % max 87.0 %');
  assert.equal(sparkLabel('Memory', [null, null]), 'Memory last 24 h: no data');
  assert.equal(sparkLabel('CPU', [5], '6 h'), 'CPU last 6 h: min 5.0 % max 5.0 %');
});
