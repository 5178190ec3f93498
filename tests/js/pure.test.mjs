// The pure modules must load and run outside a browser (they are imported here with no
// document, window or localStorage) and must not name those anywhere, so the status page and
// node can use them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const PURE = ['format.js', 'ticks.js', 'series.js', 'sort.js', 'table-model.js', 'sparkline.js', 'brush.js'];
const source = (name) => readFileSync(new URL(`../../Public/js/${name}`, import.meta.url), 'utf8');

test('the pure modules import only pure modules', () => {
  for (const name of PURE) {
    const imports = [...source(name).matchAll(/^\s*import\b[^;]*?from\s*'\.\/([\w.-]+)'/gm)].map((m) => m[1]);
    for (const dep of imports) assert.ok(PURE.includes(dep), `${name} imports ${dep}, which is not pure`);
  }
});

test('the pure modules do not touch the browser', async () => {
  for (const name of PURE) {
    const code = source(name).replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
    const found = code.match(/\b(document|window|localStorage|sessionStorage|location|navigator|globalThis|self|fetch)\b/);
    assert.equal(found, null, `${name} uses ${found?.[0]}`);
    const mod = await import(`../../Public/js/${name}`);
    assert.ok(Object.keys(mod).length > 0, `${name} exports something`);
  }
});
