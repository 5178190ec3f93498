// PURE: the orders of the dashboard (worst first, then by name) and the fleet table's column
// comparators and filter matching. Touches no document, window or storage (tests/js/sort.test.mjs).

/** Worst first: critical, stale, warning, ok, then anything else (unknown). */
export const rank = (s) => ['critical', 'stale', 'warning', 'ok'].indexOf(s) >>> 0;

/** Code-point order of two strings, as the overview sorts vm_ids ("Web" before "api"). */
export const byText = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** vm_ids worst status first (`statusOf` gives an id's), then by name. */
export const orderVMs = (ids, statusOf) => [...ids].sort((a, b) => rank(statusOf(a)) - rank(statusOf(b)) || byText(a, b));

/** Critical problems before the others; the others keep their order. */
export const criticalFirst = (a, b) => (a.severity !== 'critical') - (b.severity !== 'critical');

const missing = (v) => v == null || (typeof v === 'number' && Number.isNaN(v));

/** A column comparator on `key(row)`: numbers by value, anything else by its text; a missing
 * value (null, undefined, NaN) sorts last in either direction (`dir` 1 or -1). Ties return 0,
 * so rows that tie keep their order (Array.prototype.sort is stable). */
export function compareBy(key, dir = 1) {
  return (a, b) => {
    const x = key(a);
    const y = key(b);
    if (missing(x) || missing(y)) return missing(x) - missing(y);
    if (typeof x === 'number' && typeof y === 'number') return dir * Math.sign(x - y);
    return dir * byText(String(x), String(y));
  };
}

/** Whether a row matches a filter: every word of `query` occurs, case-insensitively, in one of
 * `fields` (missing fields are empty); an empty query matches every row. */
export function matches(query, fields) {
  const words = String(query ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const texts = fields.map((f) => (f == null ? '' : String(f).toLowerCase()));
  return words.every((w) => texts.some((t) => t.includes(w)));
}
