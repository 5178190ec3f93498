// The pure formatting of Public/js/format.js: numbers, bytes, rates, durations, ages, times,
// release order. Run by scripts/test as `node --test tests/js/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  agentVersion, ago, bytes, clock, dayTime, dur, fmt, fmtLoad, list, loads, num, rate, str, versionOrder, when,
} from '../../Public/js/format.js';

test('num, list and str accept only what they say', () => {
  assert.equal(num(3.5), 3.5);
  assert.equal(num(-0), -0);
  for (const bad of [null, undefined, NaN, Infinity, -Infinity, '5', true, {}]) assert.equal(num(bad), null, String(bad));
  assert.deepEqual(list([{ a: 1 }, null, 3, 'x', [], { b: 2 }]), [{ a: 1 }, [], { b: 2 }]);
  assert.deepEqual(list({ 0: { a: 1 } }), []);
  assert.deepEqual(list(null), []);
  assert.equal(str(null), '');
  assert.equal(str(undefined), '');
  assert.equal(str(0), '0');
  assert.equal(str(false), 'false');
});

test('fmt rounds to the digits asked and shows a dash for what is not a number', () => {
  assert.equal(fmt(23.456), '23.5');
  assert.equal(fmt(93), '93');
  assert.equal(fmt(23.456, 0), '23');
  assert.equal(fmt(0.125, 2), '0.13');
  assert.equal(fmt(-12.34), '-12.3');
  assert.equal(fmt(-0.04), '0', 'a negative that rounds to zero is "0", not "-0"');
  assert.equal(fmt(1e21), '1e+21');
  for (const bad of [null, undefined, NaN, Infinity, '5']) assert.equal(fmt(bad), '–', String(bad));
  assert.equal(fmtLoad(0.5), '0.50');
  assert.equal(fmtLoad(NaN), '–');
  assert.equal(loads({ '1m': 1, '5m': 0.5, '15m': 12.345 }), '1.00 · 0.50 · 12.35');
  assert.equal(loads(), '– · – · –');
});

test('bytes switches unit at 1000 (decimal), not at 1024, and keeps three figures', () => {
  assert.equal(bytes(0), '0 B');
  assert.equal(bytes(950), '950 B');
  assert.equal(bytes(999), '999 B');
  assert.equal(bytes(999.4), '999 B', 'rounds to 999, so it stays in bytes');
  assert.equal(bytes(999.5), '1 KB', 'would round to 1000 B: shown as 1 KB');
  assert.equal(bytes(1000), '1 KB');
  assert.equal(bytes(1024), '1 KB');
  assert.equal(bytes(1500), '1.5 KB');
  assert.equal(bytes(80000), '80 KB');
  assert.equal(bytes(99949), '99.9 KB');
  assert.equal(bytes(99950), '100 KB', 'from 99.95 on, whole numbers');
  assert.equal(bytes(999499), '999 KB');
  assert.equal(bytes(999500), '1 MB');
  assert.equal(bytes(1234567), '1.2 MB');
  assert.equal(bytes(5e12), '5 TB');
  assert.equal(bytes(1e20), '100000 PB', 'past the last unit the number grows');
  assert.equal(bytes(-1500), '-1.5 KB');
  for (const bad of [null, undefined, NaN, Infinity, '1000']) assert.equal(bytes(bad), '–', String(bad));
  assert.equal(rate(1234567), '1.2 MB/s');
  assert.equal(rate(null), '–');
});

test('dur picks the unit by size: seconds, minutes, hours (with minutes under 10 h), days from 48 h', () => {
  assert.equal(dur(0), '0 s');
  assert.equal(dur(-5), '0 s', 'a negative duration (clock skew) is 0');
  assert.equal(dur(59.4), '59 s');
  assert.equal(dur(59.5), '1 min', 'rounds first');
  assert.equal(dur(60), '1 min');
  assert.equal(dur(3599), '59 min');
  assert.equal(dur(3600), '1 h');
  assert.equal(dur(3660), '1 h 1 min');
  assert.equal(dur(9 * 3600 + 59 * 60), '9 h 59 min');
  assert.equal(dur(10 * 3600 + 60), '10 h', 'from 10 h on, no minutes');
  assert.equal(dur(172799), '47 h');
  assert.equal(dur(172800), '2 d');
  assert.equal(dur(365 * 86400), '365 d');
  for (const bad of [NaN, Infinity, undefined, null]) assert.equal(dur(bad), '–', String(bad));
});

test('ago says "just now" under 10 s and a dash for an unknown age', () => {
  assert.equal(ago(0), 'just now');
  assert.equal(ago(9.9), 'just now');
  assert.equal(ago(-3), 'just now');
  assert.equal(ago(10), '10 s ago');
  assert.equal(ago(7200), '2 h ago');
  for (const bad of [NaN, Infinity, undefined]) assert.equal(ago(bad), '–', String(bad));
});

test('when shows the time of day within 20 hours of now, else the date too', () => {
  const now = Date.parse('2026-06-15T12:00:00Z');
  assert.equal(when(now, now), clock.format(now));
  assert.equal(when(now - 72e6 + 1, now), clock.format(now - 72e6 + 1));
  assert.equal(when(now + 72e6 - 1, now), clock.format(now + 72e6 - 1), 'the future counts the same');
  assert.equal(when(now - 72e6, now), dayTime.format(now - 72e6));
  assert.notEqual(when(now - 72e6, now), clock.format(now - 72e6));
  assert.equal(when(NaN, now), '–');
  assert.equal(when(Date.parse('not a date'), now), '–');
});

test('versionOrder compares dotted numbers as numbers, pre-release before release before rebuild', () => {
  assert.equal(versionOrder('0.1.10', '0.1.9'), 1);
  assert.equal(versionOrder('0.1.9', '0.1.10'), -1);
  assert.equal(versionOrder('1.2.3', '1.2.3'), 0);
  assert.equal(versionOrder('0.1', '0.1.0'), 0, 'a missing field is 0');
  assert.equal(versionOrder('0.2~rc1', '0.2'), -1);
  assert.equal(versionOrder('0.2-rc1', '0.2'), -1);
  assert.equal(versionOrder('0.2+b1', '0.2'), 1);
  assert.equal(versionOrder('0.2~rc1', '0.2+b1'), -1);
  assert.equal(versionOrder('1.0+b1', '1.0+b2'), -1);
  assert.equal(versionOrder('10.0', '9.99'), 1);
  assert.equal(versionOrder('garbage', '0.1'), 0, 'what is not a version does not order');
  assert.equal(versionOrder('', ''), 0);
  const sorted = ['0.10.0', '0.2.0+b1', '0.2.0', '0.2.0~rc1', '0.9.1'].sort(versionOrder);
  assert.deepEqual(sorted, ['0.2.0~rc1', '0.2.0', '0.2.0+b1', '0.9.1', '0.10.0']);
});

test('agentVersion reads the string of new agents and {version} of older ones', () => {
  assert.equal(agentVersion({ agent: '0.1.2' }), '0.1.2');
  assert.equal(agentVersion({ agent: { version: '0.1.0' } }), '0.1.0');
  assert.equal(agentVersion({ agent: '' }), null);
  assert.equal(agentVersion({}), null);
  assert.equal(agentVersion(null), null);
});
