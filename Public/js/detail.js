// The VM view (#vm/<id>[/<range>]): figures, tables, traffic, forecasts and the history charts.
import { AuthError, api } from './api.js';
import { makeChart, paintChart } from './chart.js';
import { askSilence, askToken } from './dialogs.js';
import { $, facts, fill, h, pill, setAttr, setText, table } from './dom.js';
import { agentVersion, bytes, dur, fmt, list, num, rate, str, utcDay, when } from './format.js';
import { makeGauges, paintGauges } from './gauges.js';
import {
  FORECAST_REASONS, badgeText, fillFigures, fillForecast, fillProblems, forecastLine, forecasts, fullIn,
  growth, newerHub, optionalFact, problemsOf, rebootLine,
} from './overview.js';
import { RANGES, route, vmHref } from './router.js';
import { medianStep, toPoints } from './series.js';
import { serviceTable } from './services.js';
import { hubNow, level, limit, state, stats, statusOf } from './state.js';

// A chart: `metrics` are history series (the first is the main line), `names` label each
// line in the legend and readout, `th` the threshold keys tried in order (default: key),
// `max` a fixed top (percent), else `floor` the least top of an auto-scaled axis.
export const CHARTS = [
  { key: 'cpu', title: 'CPU', unit: '%', metrics: ['cpu'], max: 100 },
  { key: 'memory', title: 'Memory', unit: '%', metrics: ['memory'], max: 100 },
  { key: 'disk', title: 'Disk', unit: '%', metrics: ['disk'], max: 100 },
  { key: 'load', title: 'Load', unit: '', metrics: ['load5', 'load1', 'load15'], names: ['5 min', '1 min', '15 min'] },
];

export let detail = null;
// `${vm}|${range}` or, zoomed, `${vm}|${from}|${to}` → { at, stamp, series: { metric: points }, from, to, label, zoomed }
export const histories = new Map();
/** The length of each range, for a hub that answers without from/to. */
const RANGE_MS = { '1h': 36e5, '6h': 216e5, '24h': 864e5, '7d': 6048e5, '30d': 2592e6 };
/** The least time axis of a young history (a VM added a minute ago still gets a readable axis). */
const MIN_AXIS_MS = 3e5;

/** The key of the history the charts show: the range's, or the zoom's while zoomed. */
const historyKey = () => {
  const { vm, range } = state.view;
  const z = detail?.zoom;
  return z ? `${vm}|${z.from}|${z.to}` : `${vm}|${range}`;
};

/** Zooms every chart of the view to [from, to] (a brush on any chart), or back to the range (null). */
export function setZoom(r) {
  if (!detail) return;
  detail.zoom = r && { ...r, range: state.view.range };
  detail.resetZoom.hidden = !detail.zoom;
  paintCharts();
  if (detail.zoom) loadHistory();
}

// Escape leaves the zoom (not while a dialog is open: Escape closes that).
addEventListener('keydown', (ev) => {
  if (ev.key !== 'Escape' || !detail?.zoom || state.view.name !== 'vm' || document.querySelector('dialog[open]')) return;
  setZoom(null);
});

export function buildDetail(id) {
  const [dl, f] = facts('facts detail-facts', [['load', 'Load 1 · 5 · 15 min'], ['uptime', 'Uptime'], ['cores', 'CPU cores'],
    ['memory', 'Memory'], ['disk', 'Disk'], ['swap', 'Swap'], ['net', 'Network', true], ['io', 'Disk I/O', true],
    ['containers', 'Containers'], ['checks', 'Checks'], ['seen', 'Last report'], ['agent', 'Agent', true]]);
  const sections = Object.fromEntries(['traffic', 'filesystems', 'forecast', 'interfaces', 'temperatures'].map((k) => [k, h('div', { class: 'table-wrap' })]));
  Object.assign(f, {
    id, gauges: makeGauges('gauges big'), badge: h('span', { class: 'badge' }), meta: h('p', { class: 'muted detail-meta' }),
    problems: h('ul', { class: 'problems' }), missing: h('p', { class: 'empty', hidden: true }), reboot: rebootLine(),
    forecast: forecastLine(),
    containersWrap: h('div', { class: 'table-wrap' }), checksWrap: h('div', { class: 'table-wrap' }), sections,
    charts: CHARTS.map(makeChart), extraSig: '', chartGrid: h('div', { class: 'charts' }),
    ranges: Object.entries(RANGES).map(([r, label]) => h('button', {
      type: 'button', 'data-range': r, text: label,
      onclick: () => {
        history.replaceState(null, '', vmHref(id, r));
        route();
      },
    })),
  });
  f.head = h('div', { class: 'detail-head' }, h('h1', { id: 'vm-title', text: id }), f.badge,
    h('button', { type: 'button', class: 'silence-action', text: 'Silence VM', onclick: () => askSilence(id, 'all') }));
  f.chartGrid.append(...f.charts.map((c) => c.root));
  f.zoom = null;
  f.resetZoom = h('button', { type: 'button', class: 'reset-zoom', hidden: true, text: 'Reset zoom', title: 'Back to the whole range (Escape)',
    onclick: () => {
      // The button hides itself: keep the keyboard focus on the range it returns to.
      f.ranges.find((b) => b.getAttribute('aria-pressed') === 'true')?.focus();
      setZoom(null);
    } });
  // Sections a VM's document may lack are hidden until it has them.
  const optional = (key, title) => h('section', { class: `extra ${key}`, hidden: true }, h('h2', { text: title }), sections[key]);
  f.body = h('div', { hidden: true }, h('div', { class: 'detail-top' }, f.gauges.root, dl),
    optional('traffic', 'Traffic this month'),
    h('div', { class: 'section-head' }, h('h2', { text: 'History' }),
      h('div', { class: 'seg', role: 'group', 'aria-label': 'History range' }, f.ranges), f.resetZoom),
    f.chartGrid,
    optional('filesystems', 'Filesystems'), optional('forecast', 'Disk forecast'), optional('interfaces', 'Network interfaces'), optional('temperatures', 'Temperatures'),
    h('h2', { text: 'Containers' }), f.containersWrap,
    h('h2', { text: 'Service checks' }), f.checksWrap);
  $('view-vm').replaceChildren(h('p', { class: 'crumbs' }, h('a', { href: '#overview', text: '← All VMs' })),
    f.head, f.reboot, f.forecast, f.meta, f.missing, f.problems, f.body);
  detail = f;
}

export function renderDetail() {
  const { vm: id, range } = state.view;
  if (detail?.id !== id) buildDetail(id);
  const d = detail;
  const doc = state.vms.get(id);
  for (const b of d.ranges) setAttr(b, 'aria-pressed', String(b.dataset.range === range));
  // A zoom belongs to the range it was drawn in.
  if (d.zoom && d.zoom.range !== range) setZoom(null);
  d.missing.hidden = !state.loaded || !!doc;
  setText(d.missing, `No VM called “${id}” has reported to this hub.`);
  setText(d.badge, doc ? badgeText(id) : state.loaded ? 'UNKNOWN' : '');
  setAttr(d.head, 'data-status', doc ? statusOf(id) : 'unknown');
  fillProblems(d.problems, problemsOf(id), 20);
  d.body.hidden = !doc;
  if (!doc) return;
  fillFigures(d, id, doc);
  paintGauges([d.gauges]);
  const sys = doc.system || {};
  const agent = agentVersion(doc);
  const hub = newerHub(doc);
  setText(d.meta, [`reported ${when(Date.parse(doc.timestamp))}`, num(doc.interval_seconds) && `every ${dur(doc.interval_seconds)}`]
    .filter(Boolean).join(' · '));
  // The agent's version is its own row (marked when older than the hub), not repeated here.
  optionalFact(d.agent, agent && (hub ? `${agent} (hub ${hub}: lookout-agent upgrade)` : agent), hub ? 'warning' : null);
  setText(d.cores, str(num(sys.cpu?.cores) ?? '–'));
  setText(d.memory, `${fmt(sys.memory?.used_mb, 0)} of ${fmt(sys.memory?.total_mb, 0)} MB used`);
  const disk = sys.disk || {};
  setText(d.disk, `${fmt(disk.used_gb)} of ${fmt(disk.total_gb)} GB used${typeof disk.path === 'string' ? ` on ${disk.path}` : ''}`);
  fillContainers(d.containersWrap, list(doc.containers));
  fillSystemTables(d.sections, id, sys);
  renderTraffic();
  renderForecasts();
  syncExtraCharts();
  const rows = state.services.filter((s) => s.vm_id === id);
  fill(d.checksWrap, rows.length ? rows : list(doc.services), 'No service checks configured for this VM.', (l) => serviceTable(l, false));
  paintCharts();
}

export function fillContainers(wrap, items) {
  fill(wrap, items, 'No containers reported (no Docker on this VM, or none created).', () => table(
    ['Container', 'Status', 'CPU', 'Memory'], 'containers', [2, 3],
    [...items].sort((a, b) => (a.status === 'running') - (b.status === 'running') || str(a.name).localeCompare(str(b.name)))
      .map((x) => [h('span', { class: 'mono', text: str(x.name) }), pill(x.status === 'running' ? 'ok' : /^(restarting|dead)$/.test(x.status) ? 'critical' : 'warning', x.status),
        `${fmt(x.cpu_percent)} %`, `${fmt(x.memory_mb)} MB`])));
}

/** Fills a VM view section and shows it only when there is something in it. */
export function fillSection(wrap, items, build) {
  wrap.parentElement.hidden = !items.length;
  if (items.length) fill(wrap, items, '', build);
}

/** A percent bar with its figure, coloured by `lv`. */
export const percentBar = (v, lv) => h('span', { class: 'pbar', 'data-level': lv },
  h('span', { class: 'pbar-track' }, h('span', { class: 'pbar-fill', style: `width: ${Math.min(100, Math.max(0, num(v) ?? 0))}%` })),
  h('span', { class: 'pbar-num', text: `${fmt(v)} %` }));

export function fillSystemTables(sections, id, sys) {
  fillSection(sections.filesystems, list(sys.filesystems), (items) => table(['Mount point', 'Device', 'Type', 'Used', 'Use'],
    'filesystems', [3], items.map((x) => {
      const lv = level(num(x.percent), limit(id, `fs:${str(x.path)}`, 'disk'));
      const cells = [h('span', { class: 'mono', text: str(x.path) }), h('span', { class: 'mono', text: str(x.device) }), str(x.fstype),
        `${fmt(x.used_gb)} of ${fmt(x.total_gb)} GB`, percentBar(x.percent, lv)];
      cells.level = lv === 'warning' || lv === 'critical' ? lv : null;
      return cells;
    })));
  fillSection(sections.interfaces, list(sys.network?.interfaces), (items) => table(['Interface', 'Receiving', 'Sending', 'Received', 'Sent'],
    'interfaces', [1, 2, 3, 4], items.map((x) => [h('span', { class: 'mono', text: str(x.name) }),
      rate(x.rx_bytes_per_s), rate(x.tx_bytes_per_s), bytes(x.rx_bytes), bytes(x.tx_bytes)])));
  const th = limit(id, 'temperature');
  fillSection(sections.temperatures, list(sys.temperatures), (items) => table(['Sensor', 'Now'], 'temperatures', [1],
    items.map((x) => {
      const lv = level(num(x.celsius), th);
      const cells = [h('span', { class: 'mono', text: str(x.sensor) }), `${fmt(x.celsius)} °C`];
      cells.level = lv === 'warning' || lv === 'critical' ? lv : null;
      return cells;
    })));
}

/** The VM view's line and table: every filesystem's trend and projection, or why there is none;
 * no table while no filesystem has the 12 hours of history a trend needs (a new VM, a new hub). */
export function renderForecasts() {
  if (!detail) return;
  fillForecast(detail.forecast, detail.id);
  const rows = forecasts.rows?.get(detail.id) || [];
  fillSection(detail.sections.forecast, rows.some((r) => num(r.percent_per_day) != null) ? rows : [], (items) => table(['Filesystem', 'Trend', 'Full'],
    'forecast', [1], items.map((r) => {
      const days = num(r.days_left);
      const cells = [h('span', { class: 'mono', text: str(r.path) }), growth(r),
        days == null ? FORECAST_REASONS[r.reason] || '–' : `${fullIn(days)}, ${utcDay.format(Date.parse(r.full_at))}`];
      cells.level = r.warning === true ? 'warning' : null;
      return cells;
    })));
}

export const traffic = { at: 0, rows: null }; // rows: vm_id → its row of GET traffic; null: no such route or it failed

export const DIRECTIONS = { tx: 'sent', rx: 'received', both: 'sent and received' };

/** `GET traffic` at most once a minute; a hub without the route (404) or a failing one hides the section. */
export async function loadTraffic() {
  if (Date.now() - traffic.at < 6e4) return;
  traffic.at = Date.now();
  try {
    const body = await api('traffic', true);
    traffic.rows = body ? new Map(list(body.vms).map((r) => [str(r.vm_id), r])) : null;
  } catch (e) {
    if (e instanceof AuthError) return askToken(e);
    traffic.rows = null;
  }
  stats.trafficLoads++;
  renderTraffic();
}

export function renderTraffic() {
  if (!detail) return;
  const row = traffic.rows?.get(detail.id);
  const wrap = detail.sections.traffic;
  const start = Date.parse(row?.period_start);
  const end = Date.parse(row?.period_end);
  wrap.parentElement.hidden = !row || !Number.isFinite(start) || !Number.isFinite(end);
  if (wrap.parentElement.hidden) return;
  const sig = JSON.stringify(row);
  if (wrap.dataset.sig === sig) return;
  wrap.dataset.sig = sig;
  // period_end is the next reset (exclusive); the allowance month runs in UTC.
  const totals = h('p', { class: 'traffic-totals', text: `${bytes(row.rx_bytes)} received · ${bytes(row.tx_bytes)} sent since ${utcDay.format(start)}; the month resets on ${utcDay.format(end)} (UTC)` });
  const allowance = num(row.allowance_bytes);
  wrap.replaceChildren(...(allowance > 0 ? [allowanceBar(row, allowance, end), totals] : [totals]));
}

/** Used of the allowance as a bar; the projection at this month's rate as a hatched stretch after it. */
export function allowanceBar(row, allowance, end) {
  const used = Math.max(0, num(row.used_bytes) ?? 0);
  const projected = Math.max(used, num(row.projected_bytes) ?? used);
  // At most twice the allowance: a projection ten times over still leaves the bar readable.
  const scale = Math.min(Math.max(allowance, projected), 2 * allowance);
  const pct = (v) => `${Math.round((Math.min(v, scale) / scale) * 1000) / 10}%`;
  const lv = used >= allowance ? 'critical' : used >= 0.8 * allowance || projected >= allowance ? 'warning' : 'ok';
  const what = DIRECTIONS[row.direction] || DIRECTIONS.tx;
  const out = Date.parse(row.projected_exhaustion);
  const share = `${fmt((used / allowance) * 100)} %`;
  const forecast = Number.isFinite(out) ? `at this rate it runs out on ${utcDay.format(out)}`
    : `at this rate ${bytes(projected)} by ${utcDay.format(end)}`;
  const text = `${bytes(used)} of ${bytes(allowance)} ${what} (${share}); ${forecast}`;
  return h('div', { class: 'allowance', 'data-level': lv, 'data-used': fmt((used / allowance) * 100), 'data-projected': fmt((projected / allowance) * 100) },
    h('div', { class: 'tbar', role: 'img', 'aria-label': text },
      h('span', { class: 'tbar-used', style: `width: ${pct(used)}` }),
      h('span', { class: 'tbar-proj', style: `left: ${pct(used)}; width: ${pct(Math.min(projected, scale) - Math.min(used, scale))}`, 'data-over': projected > allowance }),
      h('span', { class: 'tbar-limit', style: `left: ${pct(allowance)}` })),
    h('p', { class: 'allowance-text', text }));
}

/** The extra series a VM has (`GET history/<vm>/series`), cached 5 min; null when the hub cannot say. */
export const seriesLists = new Map();
export async function loadSeriesList(vm) {
  const have = seriesLists.get(vm);
  if (have && Date.now() - have.at < 3e5) return;
  let names = null;
  try {
    const body = await api(`history/${encodeURIComponent(vm)}/series`, true);
    if (Array.isArray(body?.series)) names = body.series.filter((n) => typeof n === 'string');
  } catch (e) {
    if (e instanceof AuthError) throw e;
  }
  seriesLists.set(vm, { at: Date.now(), names });
}

/** The same list from what the latest document carries, for a hub that cannot say. */
export function seriesOfDoc(doc) {
  const sys = doc?.system || {};
  return [sys.network && ['net_rx', 'net_tx'], sys.disk_io && ['disk_read', 'disk_write', 'disk_util'], sys.swap && 'swap',
    list(sys.filesystems).map((x) => `fs:${str(x.path)}`), list(sys.temperatures).map((x) => `temp:${str(x.sensor)}`)].flat().filter(Boolean);
}

/** The charts beyond CPU, memory, disk and load that a VM's series call for. The root
 * filesystem has none of its own: it is the Disk chart. */
export function extraSpecs(vm) {
  // Sorted, so the hub's list and the document's give the same charts in the same order.
  const names = [...new Set(seriesLists.get(vm)?.names || seriesOfDoc(state.vms.get(vm)))].sort();
  const has = (...n) => n.some((x) => names.includes(x));
  const specs = [];
  if (has('net_rx', 'net_tx')) specs.push({ key: 'network', title: 'Network', bytes: true, floor: 1000, metrics: ['net_rx', 'net_tx'], names: ['↓ received', '↑ sent'] });
  if (has('disk_read', 'disk_write')) specs.push({ key: 'disk_io', title: 'Disk I/O', bytes: true, floor: 1000, metrics: ['disk_read', 'disk_write'], names: ['read', 'written'] });
  if (has('disk_util')) specs.push({ key: 'disk_util', title: 'Disk busy', unit: '%', max: 100, metrics: ['disk_util'] });
  if (has('swap')) specs.push({ key: 'swap', title: 'Swap', unit: '%', max: 100, metrics: ['swap'] });
  for (const n of names) {
    if (n.startsWith('fs:') && n !== 'fs:/') specs.push({ key: n, title: `Filesystem ${n.slice(3)}`, unit: '%', max: 100, metrics: [n], th: [n, 'disk'] });
  }
  const temps = names.filter((n) => n.startsWith('temp:'));
  if (temps.length) specs.push({ key: 'temperatures', title: 'Temperatures', unit: '°C', floor: 50, metrics: temps, names: temps.map((n) => n.slice(5)), th: ['temperature'] });
  return specs;
}

/** Rebuilds the extra charts when the set of series changed. */
export function syncExtraCharts() {
  if (!detail) return;
  const specs = extraSpecs(detail.id);
  const sig = JSON.stringify(specs);
  if (sig === detail.extraSig) return;
  detail.extraSig = sig;
  for (const ch of detail.charts.slice(CHARTS.length)) ch.root.remove();
  const extra = specs.map(makeChart);
  detail.charts = [...detail.charts.slice(0, CHARTS.length), ...extra];
  detail.chartGrid.append(...extra.map((c) => c.root));
}

/** The history of every chart in ONE request (`metrics=`), for the range or the zoom; cached
 * 5 min (a zoom: until it is left), refetched when the VM reports. A name holding a comma
 * cannot be listed: it is asked alone (`metric=`). */
export function loadHistory() {
  // Entering the view, a refresh and a zoom may all ask at once: one request per key.
  const key = historyKey();
  const running = inflight.get(key);
  if (running) return running;
  const run = fetchHistory().finally(() => inflight.delete(key));
  inflight.set(key, run);
  return run;
}

const inflight = new Map(); // historyKey() → the fetch of that history under way

async function fetchHistory() {
  const { name, vm, range } = state.view;
  const doc = state.vms.get(vm);
  if (name !== 'vm' || !doc) return;
  try {
    await loadSeriesList(vm);
  } catch (e) {
    return askToken(e);
  }
  if (detail?.id !== vm) return;
  syncExtraCharts();
  const zoom = detail.zoom;
  const key = historyKey();
  const have = histories.get(key);
  const metrics = [...new Set(detail.charts.flatMap((c) => c.spec.metrics))];
  const stale = !have || metrics.some((m) => !have.series[m]) || (!zoom && (have.stamp !== doc.timestamp || Date.now() - have.at > 3e5));
  if (stale) {
    const base = `history/${encodeURIComponent(vm)}?`;
    const period = zoom ? `from=${new Date(zoom.from).toISOString()}&to=${new Date(zoom.to).toISOString()}` : `range=${range}`;
    const listed = metrics.filter((m) => !m.includes(','));
    const alone = metrics.filter((m) => m.includes(','));
    let answer;
    let singles;
    try {
      // An extra series alone that the hub refuses is an empty chart, not a failure.
      [answer, singles] = await Promise.all([api(`${base}metrics=${listed.map(encodeURIComponent).join(',')}&${period}&points=300`),
        Promise.all(alone.map((m) => api(`${base}metric=${encodeURIComponent(m)}&${period}&points=300`)
          .catch((e) => (e instanceof AuthError ? Promise.reject(e) : null))))]);
    } catch (e) {
      if (e instanceof AuthError) askToken(e);
      return; // the next refresh reports an unreachable hub; the charts keep what they have
    }
    const series = {};
    for (const m of listed) series[m] = toPoints(answer?.series?.[m]);
    alone.forEach((m, i) => {
      series[m] = toPoints(singles[i]?.points);
    });
    let to = Date.parse(answer?.to);
    let from = Date.parse(answer?.from);
    if (!(from < to)) {
      to = zoom ? zoom.to : hubNow();
      from = zoom ? zoom.from : to - RANGE_MS[range];
    }
    let label = zoom ? `from ${when(from)} to ${when(to)}` : null;
    // A history younger than the range (a VM added minutes ago) fills the chart: the axis
    // starts at its first point, and the charts say "since …". Sparse reports (a point every
    // 20 min in a 1 h range) are no young history: the first point is within two steps.
    const filled = Object.values(series).filter((p) => p.length);
    const first = Math.min(...filled.map((p) => p[0].t));
    const step = Math.max(0, ...filled.map(medianStep));
    if (!zoom && Number.isFinite(first) && first - from > Math.max(2 * step, (to - from) / 10)) {
      from = Math.min(first, to - MIN_AXIS_MS);
      label = `over the last ${RANGES[range]}, since ${when(first)}`;
    }
    histories.set(key, { at: Date.now(), stamp: doc.timestamp, series, from, to, label, zoomed: !!zoom });
    if (histories.size > 12) histories.delete(histories.keys().next().value);
  }
  paintCharts();
}

export function paintCharts() {
  if (!detail || state.view.name !== 'vm') return;
  const hist = histories.get(historyKey());
  const sizes = detail.charts.map((ch) => [ch.canvas.clientWidth, ch.canvas.clientHeight]);
  detail.charts.forEach((ch, i) => {
    if (ch.hist !== hist || !hist) {
      ch.hist = hist;
      ch.data = hist && ch.spec.metrics.map((m) => ({ metric: m, pts: hist.series[m] || [] }));
      ch.mainAt = Math.max(0, ch.data?.findIndex((s) => s.pts.length) ?? 0);
      ch.main = ch.data?.[ch.mainAt].pts;
      ch.hover = null;
      ch.drawn = '';
    }
    ch.onZoom = setZoom;
    ch.th = limit(state.view.vm, ...(ch.spec.th || [ch.spec.key]));
    ch.size = sizes[i];
    paintChart(ch);
  });
}
