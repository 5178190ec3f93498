// The fleet table (#table): one row per VM, sortable by any column (click, Enter or Space on
// its header), a filter box, the choice remembered in this browser. Rows are built once per
// VM and refilled in place on each refresh; only a changed order moves them.
import { $, h, setAttr, setText } from './dom.js';
import { ago, dur, fmt, fmtLoad, rate, str, versionOrder } from './format.js';
import { vmHref } from './router.js';
import { ageOf, level, limit, state, statusOf, thresholdsFor } from './state.js';
import { COLUMNS, ariaSort, nextChoice, parseChoice, rowMatches, rowOf, serialiseChoice, sortRows } from './table-model.js';

const CHOICE_KEY = 'lookout.table';

// Without storage (some private modes) the choice lasts as long as the page.
let choice = parseChoice((() => {
  try {
    return localStorage.getItem(CHOICE_KEY);
  } catch {
    return null;
  }
})());

/** A new sort or filter: kept, and drawn. */
function choose(next) {
  choice = next;
  try {
    localStorage.setItem(CHOICE_KEY, serialiseChoice(choice));
  } catch { /* see above */ }
  renderTable();
}
let view = null;
let drawn = false;

/** Per column: the cell's text and level (ok / warning / critical, or null for no colour). */
const CELLS = {
  vm: () => null,
  state: (r) => (r.state === 'unknown' ? ['no status', 'none'] : [r.state, r.state]),
  cpu: (r, th) => [fmt(r.cpu), th && level(r.cpu, th.cpu)],
  memory: (r, th) => [fmt(r.memory), th && level(r.memory, th.memory)],
  disk: (r, th) => [fmt(r.disk), th && level(r.disk, th.disk)],
  swap: (r, th) => [fmt(r.swap), th && level(r.swap, limit(r.id, 'swap'))],
  load1: (r) => [fmtLoad(r.load1), null],
  rx: (r) => [rate(r.rx), null],
  tx: (r) => [rate(r.tx), null],
  uptime: (r) => [r.uptime == null ? '–' : dur(r.uptime), null],
  containers: (r, th) => [ratio(r.containers), th && r.containers.up < r.containers.total ? 'warning' : null],
  checks: (r, th) => [ratio(r.checks), th && r.checks.up < r.checks.total ? 'critical' : null],
  // Whole minutes: a refresh every 20 s then rewrites only the rows whose VM reported.
  seen: (r) => [r.seen != null && r.seen < 60 ? 'under 1 min' : ago(r.seen), null],
  // Amber when older than the hub (its release compared, so "lookout-agent 0.1.0" counts too).
  agent: (r, th, hub) => [r.agent || '–', r.agent && hub && versionOrder(r.agent, hub) < 0 ? 'warning' : null],
};
const ratio = (c) => (c.total ? `${c.up}/${c.total}` : '–');

function build() {
  const filter = h('input', {
    id: 'table-filter', type: 'search', value: choice.filter, spellcheck: 'false', autocomplete: 'off',
    placeholder: 'Filter by vm_id, state, agent', 'aria-label': 'Filter the VMs',
  });
  filter.addEventListener('input', () => choose({ ...choice, filter: filter.value }));
  const heads = COLUMNS.map((col) => {
    const mark = h('span', { class: 'sort-mark', 'aria-hidden': 'true' });
    const button = h('button', { type: 'button', 'data-col': col.id, onclick: () => choose(nextChoice(choice, col.id)) }, col.label, mark);
    return { id: col.id, mark, th: h('th', { scope: 'col', class: col.text ? null : 'n', 'data-col': col.id }, button) };
  });
  const tbody = h('tbody');
  // A click anywhere on a row opens its VM (the vm_id cell is the link for the keyboard).
  tbody.addEventListener('click', (ev) => {
    const tr = ev.target.closest('tr[data-vm]');
    if (tr && !ev.target.closest('a') && !getSelection()?.toString()) location.hash = vmHref(tr.dataset.vm);
  });
  const count = h('p', { id: 'table-count', class: 'muted', 'aria-live': 'polite' });
  const empty = h('p', { class: 'empty', hidden: true });
  $('view-table').replaceChildren(
    h('div', { class: 'view-head' }, h('h1', { id: 'table-title', text: 'Fleet' }), filter, count),
    h('div', { class: 'fleet-wrap' }, h('table', { class: 'fleet', 'aria-labelledby': 'table-title' },
      h('thead', null, h('tr', null, heads.map((x) => x.th))), tbody)),
    empty);
  return { filter, heads, tbody, count, empty, rows: new Map() };
}

function makeRow(id) {
  const cells = {};
  const tr = h('tr', { 'data-vm': id });
  for (const col of COLUMNS) {
    const td = h('td', { class: col.text ? null : 'n', 'data-col': col.id });
    if (col.id === 'vm') td.append(h('a', { href: vmHref(id), class: 'mono', text: id }));
    else if (col.id === 'state') td.append(h('span', { class: 'pill' }));
    cells[col.id] = col.id === 'state' ? td.firstChild : td;
    tr.append(td);
  }
  return { tr, cells };
}

function fillRow(el, row, hub) {
  setAttr(el.tr, 'data-status', row.state);
  // A stale VM's figures are old: no colours but its state's.
  const th = row.state === 'stale' ? null : thresholdsFor(row.id);
  for (const col of COLUMNS) {
    const out = CELLS[col.id](row, th, hub);
    if (!out) continue;
    const [text, lv] = out;
    // Figures are coloured only when they cross a threshold; the state pill always.
    const shown = col.id === 'state' || (lv !== 'ok' && lv !== 'none');
    setText(el.cells[col.id], text);
    setAttr(el.cells[col.id], 'data-level', shown && lv ? lv : null);
  }
  // The release may be cut short by the column's width: the whole text on hover.
  setAttr(el.cells.agent, 'title', row.agent);
}

/** Draws the table: rows of the VMs the filter keeps, in the chosen order. */
export function renderTable() {
  view ||= build();
  if (view.filter.value !== choice.filter && document.activeElement !== view.filter) view.filter.value = choice.filter;
  for (const x of view.heads) {
    setAttr(x.th, 'aria-sort', ariaSort(choice, x.id));
    setText(x.mark, choice.sort !== x.id ? '' : choice.dir === 'asc' ? ' ▲' : ' ▼');
  }
  for (const [id, el] of view.rows) {
    if (state.vms.has(id)) continue;
    el.tr.remove();
    view.rows.delete(id);
  }
  const hub = str(state.config?.version);
  const all = [...state.vms].map(([id, doc]) => rowOf(id, doc, statusOf(id), ageOf(id)));
  const shown = sortRows(all.filter((r) => rowMatches(r, choice.filter)), choice.sort, choice.dir);
  const want = shown.map((row) => {
    if (!view.rows.has(row.id)) view.rows.set(row.id, makeRow(row.id));
    const el = view.rows.get(row.id);
    fillRow(el, row, hub);
    return el.tr;
  });
  const now = view.tbody.children;
  if (now.length !== want.length || want.some((tr, i) => now[i] !== tr)) view.tbody.replaceChildren(...want);
  const total = all.length;
  setText(view.count, !state.loaded ? 'Loading…' : shown.length === total ? `${total} VM${total === 1 ? '' : 's'}` : `${shown.length} of ${total} VMs`);
  view.empty.hidden = !state.loaded || shown.length > 0;
  setText(view.empty, total ? `No VM matches “${choice.filter.trim()}”.` : 'No VM has reported to this hub yet.');
  if (state.loaded && !drawn) {
    drawn = true;
    performance.mark('lookout:table-drawn');
  }
}
