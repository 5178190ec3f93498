// Orders of Public/js/sort.js: worst-first VMs as the overview shows them, critical problems
// first, the fleet table's column comparators (stable, missing values last) and its filter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byText, compareBy, criticalFirst, matches, orderVMs, rank } from '../../Public/js/sort.js';

test('rank puts critical, stale, warning, ok, then anything else', () => {
  const order = ['ok', 'unknown', 'warning', undefined, 'critical', 'stale'].sort((a, b) => rank(a) - rank(b));
  assert.deepEqual(order.slice(0, 4), ['critical', 'stale', 'warning', 'ok']);
  assert.equal(rank('unknown'), rank(undefined), 'the unknown all tie, last');
  assert.ok(rank('unknown') > rank('ok'));
});

test('orderVMs: worst status first, then vm_id in code-point order', () => {
  const status = { 'web-2': 'ok', 'web-1': 'ok', db: 'critical', cache: 'stale', Api: 'warning', api: 'warning', new: 'unknown' };
  const ids = Object.keys(status);
  assert.deepEqual(orderVMs(ids, (id) => status[id]), ['db', 'cache', 'Api', 'api', 'web-1', 'web-2', 'new']);
  assert.deepEqual(ids, Object.keys(status), 'the input is left as it was');
  assert.deepEqual(orderVMs(new Map([['b', 1], ['a', 2]]).keys(), () => 'ok'), ['a', 'b'], 'takes any iterable');
  assert.deepEqual(orderVMs([], () => 'ok'), []);
});

test('byText orders by code point, not by locale', () => {
  assert.deepEqual(['b', 'B', 'a', 'A', 'é', '10', '9'].sort(byText), ['10', '9', 'A', 'B', 'a', 'b', 'é']);
  assert.equal(byText('x', 'x'), 0);
});

test('criticalFirst moves critical problems ahead and keeps the rest in order', () => {
  const p = [{ id: 1, severity: 'warning' }, { id: 2, severity: 'critical' }, { id: 3 }, { id: 4, severity: 'critical' }];
  assert.deepEqual([...p].sort(criticalFirst).map((x) => x.id), [2, 4, 1, 3]);
});

test('compareBy sorts numbers by value, text by code point, missing last both ways', () => {
  const rows = [{ n: 'a', v: 10 }, { n: 'b', v: null }, { n: 'c', v: 9 }, { n: 'd', v: NaN }, { n: 'e', v: -1 }, { n: 'f' }, { n: 'g', v: 1e300 }];
  assert.deepEqual([...rows].sort(compareBy((r) => r.v)).map((r) => r.n), ['e', 'c', 'a', 'g', 'b', 'd', 'f']);
  assert.deepEqual([...rows].sort(compareBy((r) => r.v, -1)).map((r) => r.n), ['g', 'a', 'c', 'e', 'b', 'd', 'f']);
  assert.deepEqual(['10', '9', '100'].sort(compareBy((x) => x)), ['10', '100', '9'], 'text is text');
});

test('compareBy is stable: rows that tie keep their order, in either direction', () => {
  const rows = Array.from({ length: 50 }, (_, i) => ({ i, v: i % 3 === 0 ? null : i % 2 }));
  for (const dir of [1, -1]) {
    const sorted = [...rows].sort(compareBy((r) => r.v, dir));
    for (let k = 1; k < sorted.length; k++) {
      const [a, b] = [sorted[k - 1], sorted[k]];
      if (a.v === b.v) assert.ok(a.i < b.i, `dir ${dir}: ${a.i} before ${b.i}`);
    }
    assert.ok(sorted.slice(-17).every((r) => r.v === null), 'the 17 missing at the end');
  }
});

test('matches: every word somewhere, case-insensitive; an empty filter matches all', () => {
  const fields = ['web-1', 'Critical', null, 42];
  assert.ok(matches('', fields));
  assert.ok(matches('   ', fields));
  assert.ok(matches(undefined, fields));
  assert.ok(matches('WEB', fields));
  assert.ok(matches('web crit', fields), 'words may match different fields');
  assert.ok(matches('42', fields), 'numbers match as text');
  assert.ok(!matches('web ok', fields), 'every word must match');
  assert.ok(!matches('null', fields), 'a missing field is empty, not "null"');
  assert.ok(!matches('x', []));
});
