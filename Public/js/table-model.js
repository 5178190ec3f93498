// The fleet table's model: what each column shows and how it sorts, the filter, and the
// remembered choice. PURE (no document, window or localStorage), so `node --test` runs it.

import { agentRelease, list, num, str, versionOrder } from './format.js';

export { agentRelease };
import { byText, matches } from './sort.js';

/** Worse is higher, so "descending" puts the worst first, as the overview does; a VM the hub
 * gave no state is null (last either way). */
const SEVERITY = { ok: 0, warning: 1, stale: 2, critical: 3 };

/** One row's figures: numbers (or null when the document lacks them) and the texts the
 * filter reads. `ageSeconds` is the time since the VM's last document. */
export function rowOf(id, doc, status, ageSeconds) {
  const sys = doc?.system && typeof doc.system === 'object' ? doc.system : {};
  const containers = list(doc?.containers);
  const checks = list(doc?.services);
  const net = sys.network && typeof sys.network === 'object' ? sys.network : null;
  return {
    id: str(id),
    hostname: typeof doc?.hostname === 'string' ? doc.hostname : null,
    state: str(status) || 'unknown',
    cpu: num(sys.cpu?.percent),
    memory: num(sys.memory?.percent),
    disk: num(sys.disk?.percent),
    swap: num(sys.swap?.percent),
    load1: num(sys.load?.['1m']),
    rx: num(net?.rx_bytes_per_s),
    tx: num(net?.tx_bytes_per_s),
    uptime: num(sys.uptime?.seconds),
    containers: { up: containers.filter((c) => c.status === 'running').length, total: containers.length },
    checks: { up: checks.filter((c) => c.healthy === true).length, total: checks.length },
    seen: num(ageSeconds),
    agent: agentRelease(doc),
  };
}

const byNumber = (a, b) => a - b;
/** Containers and checks: the most not running (failing) sort as the largest, then the most in all. */
const byShare = (a, b) => a.total - a.up - (b.total - b.up) || a.total - b.total;
/** Releases as the agent's upgrade orders them; free text after every release, by text. */
function byRelease(a, b) {
  const ra = /^[0-9]/.test(a);
  const rb = /^[0-9]/.test(b);
  if (ra !== rb) return ra ? -1 : 1;
  return (ra && versionOrder(a, b)) || byText(a, b);
}

/** A column: `key` reads a row's sort value (null sorts last both ways; by default the row's
 * field of the column's id), `compare` orders two values ascending, `first` is the direction of
 * a first click (largest or worst first for figures, A to Z for names), `text` a left column. */
const col = (id, label, o = {}) => ({ id, label, key: (r) => r[id], compare: byNumber, first: 'desc', ...o });
const text = { compare: byText, first: 'asc', text: true };

export const COLUMNS = [
  col('vm', 'VM', { ...text, key: (r) => r.id }),
  col('state', 'State', { text: true, key: (r) => (Object.hasOwn(SEVERITY, r.state) ? SEVERITY[r.state] : null) }),
  col('cpu', 'CPU %'), col('memory', 'Memory %'), col('disk', 'Disk %'), col('swap', 'Swap %'), col('load1', 'Load 1m'), col('rx', 'Net in'), col('tx', 'Net out'),
  // A VM with no container (check) has no figure: last either way, as the README says.
  col('uptime', 'Uptime'), col('containers', 'Containers', { compare: byShare, key: (r) => (r.containers.total ? r.containers : null) }),
  col('checks', 'Checks', { compare: byShare, key: (r) => (r.checks.total ? r.checks : null) }), col('seen', 'Last seen'),
  col('agent', 'Agent', { ...text, compare: byRelease }),
];
const COLUMN = new Map(COLUMNS.map((c) => [c.id, c]));
export const columnOf = (id) => COLUMN.get(id) || null;

/** Worst first, as the overview: what an operator opening the table wants to see. */
export const DEFAULT_CHOICE = Object.freeze({ sort: 'state', dir: 'desc', filter: '' });
/** Longest filter kept (a pasted paragraph is cut, not refused). */
export const MAX_FILTER = 200;

/** A sorted copy of `rows` by `sort` in `dir`: rows without a value last in both directions,
 * equal values by vm_id A to Z, so the order never depends on the order the hub sent. */
export function sortRows(rows, sort, dir) {
  const col = columnOf(sort) || columnOf(DEFAULT_CHOICE.sort);
  const sign = dir === 'asc' ? 1 : -1;
  const keyed = rows.map((row) => [col.key(row), row]);
  keyed.sort(([ka, a], [kb, b]) => {
    if (ka == null || kb == null) {
      if (ka != null) return -1;
      if (kb != null) return 1;
    } else {
      const d = col.compare(ka, kb);
      if (d) return sign * d;
    }
    return byText(a.id, b.id);
  });
  return keyed.map(([, row]) => row);
}

/** Whether a row is shown for the filter: every word of it is part of the row's vm_id,
 * hostname, state or agent release (case-insensitive). */
export const rowMatches = (row, filter) => matches(filter, [row.id, row.hostname, row.state, row.agent]);

/** The direction after a click on column `id`: the other way on the sorted column, else
 * the column's first direction. */
export function nextChoice(choice, id) {
  const col = columnOf(id);
  if (!col) return choice;
  if (choice.sort === id) return { ...choice, dir: choice.dir === 'asc' ? 'desc' : 'asc' };
  return { ...choice, sort: id, dir: col.first };
}

/** The remembered choice from its stored text; anything unreadable or unknown falls back to
 * the default, field by field (a column renamed in an upgrade keeps the filter). */
export function parseChoice(text) {
  let v = null;
  try {
    v = JSON.parse(str(text));
  } catch {
    v = null;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { ...DEFAULT_CHOICE };
  const sort = typeof v.sort === 'string' && COLUMN.has(v.sort) ? v.sort : DEFAULT_CHOICE.sort;
  const dir = v.dir === 'asc' || v.dir === 'desc' ? v.dir : sort === v.sort ? columnOf(sort).first : DEFAULT_CHOICE.dir;
  const filter = typeof v.filter === 'string' ? v.filter.slice(0, MAX_FILTER) : '';
  return { sort, dir, filter };
}

export const serialiseChoice = (c) => JSON.stringify({ sort: c.sort, dir: c.dir, filter: str(c.filter).slice(0, MAX_FILTER) });

/** `aria-sort` of a column's header for the choice. */
export const ariaSort = (choice, id) => (choice.sort !== id ? 'none' : choice.dir === 'asc' ? 'ascending' : 'descending');
