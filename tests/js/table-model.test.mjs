import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  COLUMNS, DEFAULT_CHOICE, MAX_FILTER, agentRelease, ariaSort, nextChoice, parseChoice, rowMatches, rowOf,
  serialiseChoice, sortRows,
} from '../../Public/js/table-model.js';

const doc = (cpu, extra = {}) => ({
  vm_id: 'x', timestamp: '2026-12-01T10:00:00Z',
  system: {
    cpu: { percent: cpu, cores: 1 }, memory: { percent: 50 }, disk: { percent: 40 },
    uptime: { seconds: 3600 }, load: { '1m': 0.5, '5m': 0.4, '15m': 0.3 }, ...extra.system,
  },
  containers: extra.containers || [], services: extra.services || [], agent: extra.agent,
});
const ids = (rows) => rows.map((r) => r.id);

test('a row carries the figures of the document, null where it has none', () => {
  const r = rowOf('web-1', doc(12.5, {
    system: { swap: { percent: 3 }, network: { rx_bytes_per_s: 100, tx_bytes_per_s: 7 } },
    containers: [{ name: 'a', status: 'running' }, { name: 'b', status: 'exited' }],
    services: [{ id: 's', healthy: true }, { id: 't', healthy: false }, { id: 'u', healthy: 'yes' }],
    agent: 'lookout-agent 0.1.2',
  }), 'warning', 42);
  assert.deepEqual(r, {
    id: 'web-1', hostname: null, state: 'warning', cpu: 12.5, memory: 50, disk: 40, swap: 3, load1: 0.5, rx: 100, tx: 7,
    uptime: 3600, containers: { up: 1, total: 2 }, checks: { up: 1, total: 3 }, seen: 42, agent: '0.1.2',
  });
  const bare = rowOf('old-1', { system: { cpu: { percent: 'high' } } }, '', NaN);
  assert.equal(bare.cpu, null);
  assert.equal(bare.swap, null);
  assert.equal(bare.rx, null);
  assert.equal(bare.state, 'unknown');
  assert.equal(bare.seen, null);
  assert.deepEqual(bare.containers, { up: 0, total: 0 });
  assert.equal(rowOf('n', null, 'ok', 1).cpu, null);
});

test('the agent release is read from every form an agent sent', () => {
  assert.equal(agentRelease({ agent: 'lookout-agent 0.1.10' }), '0.1.10');
  assert.equal(agentRelease({ agent: '0.0.9' }), '0.0.9');
  assert.equal(agentRelease({ agent: { version: '0.1.0~rc1' } }), '0.1.0~rc1');
  assert.equal(agentRelease({ agent: 'custom collector' }), 'custom collector');
  assert.equal(agentRelease({ agent: '' }), null);
  assert.equal(agentRelease({}), null);
});

const fleet = () => [
  rowOf('c', doc(50), 'ok', 10),
  rowOf('a', doc(90), 'critical', 5),
  rowOf('b', doc(50), 'warning', 7),
  rowOf('d', { system: {} }, 'stale', 3000),
  rowOf('e', doc(5), 'ok', 2),
];

test('a numeric column sorts both ways, equal values by vm_id, missing values last both ways', () => {
  assert.deepEqual(ids(sortRows(fleet(), 'cpu', 'asc')), ['e', 'b', 'c', 'a', 'd']);
  assert.deepEqual(ids(sortRows(fleet(), 'cpu', 'desc')), ['a', 'b', 'c', 'e', 'd']);
});

test('state sorts by severity: worst first when descending, unknown last', () => {
  const rows = [...fleet(), rowOf('f', doc(1), 'unknown', 1), rowOf('g', doc(1), 'constructor', 1)];
  assert.deepEqual(ids(sortRows(rows, 'state', 'desc')), ['a', 'd', 'b', 'c', 'e', 'f', 'g']);
  assert.deepEqual(ids(sortRows(rows, 'state', 'asc')), ['c', 'e', 'b', 'd', 'a', 'f', 'g']);
});

test('the vm column sorts by code point, and an unknown column falls back to state', () => {
  assert.deepEqual(ids(sortRows(fleet(), 'vm', 'asc')), ['a', 'b', 'c', 'd', 'e']);
  assert.deepEqual(ids(sortRows(fleet(), 'vm', 'desc')), ['e', 'd', 'c', 'b', 'a']);
  assert.deepEqual(ids(sortRows(fleet(), 'nope', 'desc')), ids(sortRows(fleet(), 'state', 'desc')));
});

test('sorting does not change its input and is the same whatever order the rows came in', () => {
  const rows = fleet();
  const before = ids(rows);
  const once = ids(sortRows(rows, 'memory', 'desc'));
  assert.deepEqual(ids(rows), before);
  assert.deepEqual(ids(sortRows([...rows].reverse(), 'memory', 'desc')), once);
  assert.deepEqual(once, ['a', 'b', 'c', 'e', 'd']);
});

test('containers and checks: the most not running first when descending, then the most in all', () => {
  const c = (id, states) => rowOf(id, doc(1, { containers: states.map((s) => ({ status: s })) }), 'ok', 1);
  const rows = [c('none', []), c('fine', ['running', 'running']), c('one-down', ['running', 'exited']),
    c('two-down', ['exited', 'dead']), c('big', ['running', 'running', 'running', 'exited'])];
  assert.deepEqual(ids(sortRows(rows, 'containers', 'desc')), ['two-down', 'big', 'one-down', 'fine', 'none']);
  // No container is no figure: last in both directions.
  assert.deepEqual(ids(sortRows(rows, 'containers', 'asc')), ['fine', 'one-down', 'big', 'two-down', 'none']);
});

test('agent releases sort as releases, free text after them, none last', () => {
  const a = (id, agent) => rowOf(id, doc(1, { agent }), 'ok', 1);
  const rows = [a('n', undefined), a('x', 'custom'), a('p', '0.1.10'), a('q', '0.1.9'), a('r', 'lookout-agent 0.2.0')];
  assert.deepEqual(ids(sortRows(rows, 'agent', 'asc')), ['q', 'p', 'r', 'x', 'n']);
  assert.deepEqual(ids(sortRows(rows, 'agent', 'desc')), ['x', 'r', 'p', 'q', 'n']);
});

test('every column has a key and a comparator that sort a fleet without throwing', () => {
  for (const col of COLUMNS) {
    assert.equal(typeof col.key, 'function', col.id);
    assert.ok(['asc', 'desc'].includes(col.first), col.id);
    for (const dir of ['asc', 'desc']) assert.equal(sortRows(fleet(), col.id, dir).length, 5, col.id);
  }
});

test('the filter matches every word in vm_id, hostname, state or agent release, case-insensitive', () => {
  const r = { ...rowOf('Web-1', doc(1, { agent: 'lookout-agent 0.1.2' }), 'critical', 1), hostname: 'frontend.example' };
  assert.ok(rowMatches(r, ''));
  assert.ok(rowMatches(r, '  '));
  assert.ok(rowMatches(r, 'web'));
  assert.ok(rowMatches(r, 'WEB-1'));
  assert.ok(rowMatches(r, 'crit'));
  assert.ok(rowMatches(r, '0.1.2'));
  assert.ok(rowMatches(r, 'frontend'));
  assert.ok(rowMatches(r, 'web crit'));
  assert.ok(!rowMatches(r, 'web ok'));
  assert.ok(!rowMatches(r, 'db'));
  // The agent's name is not part of what is matched: "ok" is not found in "lookout-agent".
  assert.ok(!rowMatches(r, 'ok'));
});

test('a click sorts by a new column in its first direction, and reverses the sorted one', () => {
  const c0 = { ...DEFAULT_CHOICE, filter: 'web' };
  const c1 = nextChoice(c0, 'cpu');
  assert.deepEqual(c1, { sort: 'cpu', dir: 'desc', filter: 'web' });
  assert.deepEqual(nextChoice(c1, 'cpu'), { sort: 'cpu', dir: 'asc', filter: 'web' });
  assert.deepEqual(nextChoice(c1, 'vm'), { sort: 'vm', dir: 'asc', filter: 'web' });
  assert.equal(nextChoice(c1, 'nope'), c1);
});

test('aria-sort follows the choice', () => {
  const c = { sort: 'cpu', dir: 'asc', filter: '' };
  assert.equal(ariaSort(c, 'cpu'), 'ascending');
  assert.equal(ariaSort({ ...c, dir: 'desc' }, 'cpu'), 'descending');
  assert.equal(ariaSort(c, 'disk'), 'none');
});

test('the remembered choice round-trips, and anything unreadable falls back field by field', () => {
  const c = { sort: 'disk', dir: 'asc', filter: 'db <b>' };
  assert.deepEqual(parseChoice(serialiseChoice(c)), c);
  for (const bad of [null, '', 'not json', '[]', '42', '"x"', '{"sort": 5}']) assert.deepEqual(parseChoice(bad), DEFAULT_CHOICE, String(bad));
  assert.deepEqual(parseChoice('{"sort":"gone","dir":"asc","filter":"x"}'), { sort: 'state', dir: 'asc', filter: 'x' });
  assert.deepEqual(parseChoice('{"sort":"vm","dir":"sideways"}'), { sort: 'vm', dir: 'asc', filter: '' });
  assert.deepEqual(parseChoice('{"sort":"cpu","filter":7}'), { sort: 'cpu', dir: 'desc', filter: '' });
  assert.equal(parseChoice(JSON.stringify({ filter: 'x'.repeat(5000) })).filter.length, MAX_FILTER);
  assert.equal(JSON.parse(serialiseChoice({ ...c, filter: 'y'.repeat(999) })).filter.length, MAX_FILTER);
});
