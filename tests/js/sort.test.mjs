// Orders of Public/js/sort.js: worst-first VMs as the overview shows them, critical problems
// first, the fleet table's filter, and the fewest card moves from one order to another.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byText, criticalFirst, matches, orderVMs, rank, reorderMoves, unmoved } from '../../Public/js/sort.js';

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

/** `current` after `moves`, as insertBefore would leave a parent's children. */
function apply(current, moves) {
  const out = [...current];
  for (const [id, before] of moves) {
    const from = out.indexOf(id);
    if (from >= 0) out.splice(from, 1);
    out.splice(before == null ? out.length : out.indexOf(before), 0, id);
  }
  return out;
}

test('unmoved keeps the longest run already in order', () => {
  assert.deepEqual(unmoved(['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd']), new Set(['a', 'b', 'c', 'd']));
  assert.equal(unmoved(['d', 'c', 'b', 'a'], ['a', 'b', 'c', 'd']).size, 1, 'reversed: one stays');
  assert.deepEqual(unmoved(['c', 'a', 'b', 'd'], ['a', 'b', 'c', 'd']), new Set(['a', 'b', 'd']));
  assert.equal(unmoved(['x', 'b', 'y', 'a'], ['a', 'b']).size, 1, 'ids not wanted are ignored');
  assert.equal(unmoved([], ['a']).size, 0);
  // With weights, the heaviest run stays: 'c' (weight 5) outweighs the run a, b.
  const heavy = (id) => (id === 'c' ? 5 : 1);
  assert.deepEqual(unmoved(['c', 'a', 'b', 'd'], ['a', 'b', 'c', 'd'], heavy), new Set(['c', 'd']));
  const early = (id, at) => (at < 2 ? 3 : 1);
  assert.deepEqual(unmoved(['c', 'a', 'b', 'd'], ['a', 'b', 'c', 'd'], early), new Set(['a', 'b', 'd']),
    'the weight may depend on the place in wanted');
  assert.equal(unmoved(['a'], []).size, 0);
});

test('reorderMoves: an order already right needs no move, one card that changed place one move', () => {
  const ids = ['a', 'b', 'c', 'd', 'e'];
  assert.deepEqual(reorderMoves(ids, ids), []);
  assert.deepEqual(reorderMoves(['a', 'b', 'c', 'd', 'e'], ['d', 'a', 'b', 'c', 'e']), [['d', 'a']]);
  assert.deepEqual(reorderMoves(['b', 'c', 'a'], ['a', 'b', 'c']), [['a', 'b']]);
  assert.deepEqual(reorderMoves(['a', 'b'], ['a', 'b', 'c']), [['c', null]], 'a new id goes to its place');
  assert.deepEqual(reorderMoves([], ['a', 'b']), [['b', null], ['a', 'b']]);
});

test('reorderMoves turns any order into the wanted one with the fewest moves', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let round = 0; round < 300; round++) {
    const n = Math.floor(rand() * 40);
    const wanted = Array.from({ length: n }, (_, i) => `vm-${i}`);
    // Some ids new (not yet on the page), the rest shuffled, and one that went away.
    const current = wanted.filter(() => rand() > 0.1).sort(() => rand() - 0.5).concat(round % 3 ? [] : ['gone']);
    const moves = reorderMoves(current, wanted);
    assert.deepEqual(apply(current, moves).filter((id) => id !== 'gone'), wanted);
    const kept = unmoved(current, wanted);
    assert.equal(moves.length, n - kept.size);
    // What stays is in order, and no longer run exists (checked by brute force on small cases).
    const places = current.filter((id) => kept.has(id)).map((id) => wanted.indexOf(id));
    assert.ok(places.every((p, i) => !i || places[i - 1] < p));
    const seq = current.filter((id) => id !== 'gone').map((id) => wanted.indexOf(id));
    if (n <= 9) assert.equal(kept.size, heaviestRun(seq, () => 1));
    // Weighted: still a run in order, and none heavier (brute force on small cases).
    const w = (id, at) => 1 + ((at * 7 + n) % 5);
    const heavy = unmoved(current, wanted, w);
    const hp = current.filter((id) => heavy.has(id)).map((id) => wanted.indexOf(id));
    assert.ok(hp.every((p, i) => !i || hp[i - 1] < p));
    assert.deepEqual(apply(current, reorderMoves(current, wanted, w)).filter((id) => id !== 'gone'), wanted);
    if (n <= 9) assert.equal(hp.reduce((a, p) => a + w(wanted[p], p), 0), heaviestRun(seq, (p) => w(wanted[p], p)));
  }
});

/** The greatest summed `weight` of an increasing subsequence of `seq`, by trying every subset. */
function heaviestRun(seq, weight) {
  let best = 0;
  for (let mask = 0; mask < 1 << seq.length; mask++) {
    const pick = seq.filter((_, i) => mask & (1 << i));
    if (pick.every((p, i) => !i || pick[i - 1] < p)) best = Math.max(best, pick.reduce((a, p) => a + weight(p), 0));
  }
  return best;
}
