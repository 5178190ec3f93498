// PURE: the orders of the dashboard (worst first, then by name; the fewest card moves to reach
// one) and the fleet table's filter matching. Touches no document, window or storage
// (tests/js/sort.test.mjs).

/** Worst first: critical, stale, warning, ok, then anything else (unknown). */
export const rank = (s) => ['critical', 'stale', 'warning', 'ok'].indexOf(s) >>> 0;

/** Code-point order of two strings, as the overview sorts vm_ids ("Web" before "api"). */
export const byText = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** vm_ids worst status first (`statusOf` gives an id's), then by name. */
export const orderVMs = (ids, statusOf) => [...ids].sort((a, b) => rank(statusOf(a)) - rank(statusOf(b)) || byText(a, b));

/** Critical problems before the others; the others keep their order. */
export const criticalFirst = (a, b) => (a.severity !== 'critical') - (b.severity !== 'critical');

/** Whether a row matches a filter: every word of `query` occurs, case-insensitively, in one of
 * `fields` (missing fields are empty); an empty query matches every row. */
export function matches(query, fields) {
  const words = String(query ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const texts = fields.map((f) => (f == null ? '' : String(f).toLowerCase()));
  return words.every((w) => texts.some((t) => t.includes(w)));
}

/** The ids of `current` (the order on the page) that may stay where they are on the way to
 * `wanted`: of the runs of them already in `wanted`'s relative order, the one of the greatest
 * `weight(id, place in wanted)` summed (1 each by default: the longest run). A heaviest
 * increasing subsequence, O(n log n) with a Fenwick tree of the best run ending at each place.
 * Ids not in `wanted` are ignored. */
export function unmoved(current, wanted, weight = () => 1) {
  const at = new Map(wanted.map((id, i) => [id, i]));
  const seq = current.filter((id) => at.has(id)).map((id) => at.get(id));
  const n = wanted.length;
  // tree[k]: the best run (its weight, the index in seq of its last id) ending at a place ≤ k.
  const best = new Float64Array(n + 1);
  const last = new Int32Array(n + 1).fill(-1);
  const prev = new Int32Array(seq.length);
  const sums = new Float64Array(seq.length);
  let top = -1;
  for (let i = 0; i < seq.length; i++) {
    let sum = 0;
    let from = -1;
    for (let k = seq[i]; k > 0; k -= k & -k) {
      if (best[k] > sum) {
        sum = best[k];
        from = last[k];
      }
    }
    prev[i] = from;
    sums[i] = sum + weight(wanted[seq[i]], seq[i]);
    for (let k = seq[i] + 1; k <= n; k += k & -k) {
      if (sums[i] > best[k]) {
        best[k] = sums[i];
        last[k] = i;
      }
    }
    if (top < 0 || sums[i] > sums[top]) top = i;
  }
  const keep = new Set();
  for (let i = top; i >= 0; i = prev[i]) keep.add(wanted[seq[i]]);
  return keep;
}

/** The fewest moves (or, with `weight`, those that keep the heaviest ids still) that turn the
 * order `current` into `wanted`: `[id, beforeId]` pairs (beforeId null: to the end), applied in
 * turn with insertBefore. Ids of `wanted` missing from `current` are inserted by the same moves;
 * ids of `current` not in `wanted` are left alone. A re-sort of 100 cards then moves only those
 * whose place changed, not all 100. */
export function reorderMoves(current, wanted, weight) {
  const keep = unmoved(current, wanted, weight);
  const moves = [];
  for (let i = wanted.length - 1; i >= 0; i--) {
    if (!keep.has(wanted[i])) moves.push([wanted[i], i + 1 < wanted.length ? wanted[i + 1] : null]);
  }
  return moves;
}
