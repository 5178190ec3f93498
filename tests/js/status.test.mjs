// The status page's pure helpers (the page itself runs only with a document).
import test from 'node:test';
import assert from 'node:assert/strict';
import { level, dayText, utcText } from '../../Public/js/status.js';

test('a day is coloured by its uptime; null is no data', () => {
  assert.equal(level(null), 'none');
  assert.equal(level(undefined), 'none');
  assert.equal(level(100), 'up');
  assert.equal(level(99.5), 'up');
  assert.equal(level(99.4), 'minor');
  assert.equal(level(95), 'minor');
  assert.equal(level(94.9), 'major');
  assert.equal(level(0), 'major');
});

test('each bar has a text alternative with its date', () => {
  assert.equal(dayText({ day: '2025-12-09', uptime: 99.3 }), '2025-12-09: 99.3% up');
  assert.equal(dayText({ day: '2025-12-09', uptime: null }), '2025-12-09: no data');
  assert.equal(dayText({ day: '2025-12-09', uptime: 0 }), '2025-12-09: 0% up');
});

test('times are shown in UTC, the same for every visitor', () => {
  assert.equal(utcText('2025-12-09T10:30:00Z'), '2025-12-09 10:30 UTC');
  assert.equal(utcText('not a time'), 'not a time');
});
