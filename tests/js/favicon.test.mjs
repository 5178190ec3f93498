import { test } from 'node:test';
import assert from 'node:assert/strict';

import { FAVICON_COLOURS, faviconFor, titleFor } from '../../Public/js/favicon.js';

const svgOf = (url) => {
  assert.ok(url.startsWith('data:image/svg+xml,'), url);
  return decodeURIComponent(url.slice('data:image/svg+xml,'.length));
};

test('the favicon is an SVG disc in the colour of the fleet state', () => {
  for (const [status, colour] of Object.entries({ ok: '#1f9d55', warning: '#e09b00', critical: '#dc2626' })) {
    const svg = svgOf(faviconFor(status));
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.ok(svg.includes(`fill="${colour}"`), `${status}: ${svg}`);
    for (const other of Object.values(FAVICON_COLOURS).filter((c) => c !== colour)) assert.ok(!svg.includes(other), status);
  }
});

test('an unknown or missing state is grey', () => {
  for (const status of ['unknown', 'stale', '', undefined, 'toString', '<b>']) {
    assert.ok(svgOf(faviconFor(status)).includes(`fill="${FAVICON_COLOURS.unknown}"`), String(status));
  }
});

test('the data URL is escaped, so # and < cannot end it early', () => {
  const url = faviconFor('critical');
  assert.ok(!/[#<>" ]/.test(url.slice(5)), url);
});

test('the title counts the VMs that are not ok', () => {
  assert.equal(titleFor({ ok: 4 }, false), 'Lookout');
  assert.equal(titleFor({}, false), 'Lookout');
  assert.equal(titleFor({ ok: 3, critical: 1 }, false), '(1) Lookout');
  assert.equal(titleFor({ ok: 1, critical: 1, warning: 2, stale: 1 }, false), '(4) Lookout');
  assert.equal(titleFor({ unknown: 3 }, false), 'Lookout');
});

test('old data says so instead of a count that is not current', () => {
  assert.equal(titleFor({ critical: 2 }, true), 'Lookout (data is old)');
});
