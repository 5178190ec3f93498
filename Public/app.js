// Lookout dashboard: vanilla JS, no build step, no dependencies.
// Every string that comes from the API reaches the page through textContent or
// setAttribute (the h() helper below), never through innerHTML.

const API = '/api/monitoring/';
const TOKEN_KEY = 'lookout.token';
const params = new URLSearchParams(location.search);
/** Seconds between refreshes; `?refresh=N` (2–3600) overrides the default of 20. */
const REFRESH_S = Math.min(3600, Math.max(2, Number(params.get('refresh')) || 20));
const FETCH_TIMEOUT_MS = Math.min(10000, REFRESH_S * 1000);
const RANGES = ['24h', '7d', '30d'];
const RANGE_LABEL = { '24h': '24 h', '7d': '7 days', '30d': '30 days' };
const RANK = { critical: 0, stale: 1, warning: 2, ok: 3, unknown: 4 };
const DEFAULT_TH = {
  cpu: { warning: 70, critical: 90 }, memory: { warning: 80, critical: 95 },
  disk: { warning: 80, critical: 90 }, load: { warning: 2, critical: 4 },
};
const GAUGES = [['cpu', 'CPU'], ['memory', 'Memory'], ['disk', 'Disk']];
const CHARTS = [
  { key: 'cpu', title: 'CPU', unit: '%', metrics: ['cpu'], max: 100 },
  { key: 'memory', title: 'Memory', unit: '%', metrics: ['memory'], max: 100 },
  { key: 'disk', title: 'Disk', unit: '%', metrics: ['disk'], max: 100 },
  { key: 'load', title: 'Load', unit: '', metrics: ['load5', 'load1', 'load15'], max: null },
];
const LOAD_NAMES = { load1: '1 min', load5: '5 min', load15: '15 min' };

const state = {
  config: null, configAt: 0,
  vms: new Map(),          // vm_id → metrics document
  health: new Map(),       // vm_id → entry of /status
  fleet: null,             // /status body
  services: [], alerts: [], resolved: null,
  fetchedAt: 0,            // Date.now() of the last complete answer
  skew: 0,                 // hub clock − our clock, ms
  failingSince: 0, failure: '',
  loaded: false, needToken: false, readyMarked: false,
  view: { name: 'overview', vm: '', range: '24h' },
};
const stats = { refreshes: 0, lastRenderMs: 0, lastRefreshMs: 0 };
window.__lookoutStats = stats;

// MARK: - small helpers

const $ = (id) => document.getElementById(id);

/** Creates an element. Props: class, text, on<event>, anything else is an attribute. */
function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  if (props) {
    for (const key of Object.keys(props)) {
      const v = props[key];
      if (v == null || v === false) continue;
      if (key === 'class') el.className = v;
      else if (key === 'text') el.textContent = v;
      else if (key.startsWith('on')) el.addEventListener(key.slice(2), v);
      else el.setAttribute(key, v === true ? '' : String(v));
    }
  }
  for (const kid of kids.flat()) {
    if (kid != null && kid !== false) el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function setAttr(el, name, value) {
  if (value == null) el.removeAttribute(name);
  else if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

const own = (obj, key) => obj != null && typeof obj === 'object' && Object.hasOwn(obj, key) ? obj[key] : undefined;
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** 23.456 → "23.5", 93 → "93", null → "–". */
function fmt(v, digits = 1) {
  v = num(v);
  if (v == null) return '–';
  const f = 10 ** digits;
  return String(Math.round(v * f) / f);
}

const fmtLoad = (v) => (num(v) == null ? '–' : v.toFixed(2));

/** A duration in seconds as "42 s", "12 min", "3 h 5 min", "4 d". */
function dur(sec) {
  sec = Math.max(0, Math.round(sec));
  if (sec < 60) return `${sec} s`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min`;
  if (sec < 172800) {
    const hrs = Math.floor(sec / 3600);
    const min = Math.floor((sec % 3600) / 60);
    return hrs < 10 && min ? `${hrs} h ${min} min` : `${hrs} h`;
  }
  return `${Math.floor(sec / 86400)} d`;
}

const ago = (sec) => (sec < 10 ? 'just now' : `${dur(sec)} ago`);

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const clockSec = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
const dayFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const dayTimeFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

/** A time of day, with the date when it is not within the last 20 hours. */
function when(ms) {
  if (!Number.isFinite(ms)) return '–';
  return Math.abs(Date.now() - ms) < 72e6 ? clock.format(ms) : dayTimeFmt.format(ms);
}

const hubNow = () => Date.now() + state.skew;
const sinceHub = (iso) => (hubNow() - Date.parse(iso)) / 1000;

function level(v, th) {
  v = num(v);
  if (v == null || !th) return 'none';
  if (v >= th.critical) return 'critical';
  if (v >= th.warning) return 'warning';
  return 'ok';
}

function thresholdsFor(vm) {
  const c = state.config;
  return own(c && c.overrides, vm) || (c && c.thresholds) || DEFAULT_TH;
}

/** Seconds since the VM's last document, counted on from the last answer of the hub. */
function ageOf(vm) {
  const hl = state.health.get(vm);
  if (hl && num(hl.age_seconds) != null) return hl.age_seconds + (Date.now() - state.fetchedAt) / 1000;
  const doc = state.vms.get(vm);
  return doc ? sinceHub(doc.timestamp) : NaN;
}

const statusOf = (vm) => (state.health.get(vm) || {}).status || 'unknown';
const vmHref = (vm, range) => `#vm/${encodeURIComponent(vm)}${range && range !== '24h' ? '/' + range : ''}`;

// MARK: - colours, read from the stylesheet so light and dark stay in one place

let colors = {};
let colorsVersion = 0;
function readColors() {
  const cs = getComputedStyle(document.documentElement);
  const v = (name) => cs.getPropertyValue(name).trim();
  colors = {
    ok: v('--ok'), warning: v('--warn'), critical: v('--crit'), stale: v('--stale'), none: v('--stale'),
    track: v('--track'), grid: v('--grid'), text: v('--muted'), fg: v('--fg'), bg: v('--card'),
    line: v('--line'), line2: v('--line2'), line3: v('--line3'), band: v('--band'),
    font: getComputedStyle(document.body).fontFamily,
    fontPx: parseFloat(cs.fontSize) || 16,
  };
  colorsVersion++;
}

function prepareCanvas(canvas, w, hgt) {
  const dpr = window.devicePixelRatio || 1;
  const pw = Math.max(1, Math.round(w * dpr));
  const ph = Math.max(1, Math.round(hgt * dpr));
  if (canvas.width !== pw) canvas.width = pw;
  if (canvas.height !== ph) canvas.height = ph;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(pw / w, 0, 0, ph / hgt, 0, 0);
  ctx.clearRect(0, 0, w, hgt);
  return ctx;
}

// MARK: - gauges

function makeGauge(metric, label) {
  const canvas = h('canvas', { 'aria-hidden': 'true' });
  const value = h('span', { class: 'num' });
  const root = h('div', { class: 'gauge', 'data-metric': metric, role: 'img' },
    canvas,
    h('span', { class: 'gauge-value', 'aria-hidden': 'true' }, value, h('span', { class: 'unit', text: '%' })),
    h('span', { class: 'gauge-label', 'aria-hidden': 'true', text: label }));
  return { root, canvas, value, label, metric, want: null, drawn: '' };
}

function updateGauge(g, value, th, stale) {
  const lv = stale ? 'stale' : level(value, th);
  setText(g.value, fmt(value));
  setAttr(g.root, 'data-level', lv);
  const note = stale ? ' (stale)' : lv === 'warning' || lv === 'critical' ? ` (${lv})` : '';
  setAttr(g.root, 'aria-label', `${g.label} ${num(value) == null ? 'unknown' : fmt(value) + ' %'}${note}`);
  g.want = { value: num(value), th, lv };
}

/** Draws the gauges whose figures changed. Their size comes from the stylesheet
 * (`--gauge`, a registered length), so drawing never forces a layout. */
function paintGauges(gauges) {
  if (!gauges.length) return;
  const size = parseFloat(getComputedStyle(gauges[0].root).getPropertyValue('--gauge'));
  const dpr = window.devicePixelRatio || 1;
  gauges.forEach((g) => {
    if (!size || !g.want) return;
    const { value, th, lv } = g.want;
    const key = `${size}|${dpr}|${value}|${lv}|${th && th.warning}|${th && th.critical}|${colorsVersion}`;
    if (g.drawn === key) return;
    g.drawn = key;
    drawGauge(g.canvas, size, value, th, lv);
  });
}

function drawGauge(canvas, size, value, th, lv) {
  const ctx = prepareCanvas(canvas, size, size);
  const lw = Math.max(5, size * 0.11);
  const c = size / 2;
  const r = c - lw / 2 - 1;
  const a0 = Math.PI * 0.75;
  const span = Math.PI * 1.5;
  const at = (v) => a0 + span * Math.min(1, Math.max(0, v / 100));
  const arc = (from, to, color, alpha = 1) => {
    ctx.globalAlpha = alpha;
    ctx.strokeStyle = color;
    ctx.beginPath();
    ctx.arc(c, c, r, from, to);
    ctx.stroke();
  };
  ctx.lineWidth = lw;
  ctx.lineCap = 'butt';
  arc(a0, a0 + span, colors.track);
  // The track shows where amber and red begin, faintly, so a reading has context.
  if (th && lv !== 'stale' && num(th.warning) != null && num(th.critical) != null) {
    arc(at(th.warning), at(th.critical), colors.warning, 0.3);
    arc(at(th.critical), a0 + span, colors.critical, 0.3);
  }
  if (value != null) {
    ctx.lineCap = 'round';
    arc(a0, Math.max(at(value), a0 + 0.001), colors[lv] || colors.none);
  }
  ctx.globalAlpha = 1;
}

// MARK: - fetching

class AuthError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}
class HubError extends Error {}

let memoryToken = '';
function storedToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || memoryToken;
  } catch {
    return memoryToken;
  }
}
function storeToken(token) {
  memoryToken = token;
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch { /* private mode: the token lives as long as the page */ }
}

async function api(path, { optional = false } = {}) {
  const headers = { Accept: 'application/json' };
  const token = storedToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
  try {
    let res;
    try {
      res = await fetch(API + path, { headers, signal: ctl.signal, cache: 'no-store' });
    } catch (e) {
      throw new HubError(e && e.name === 'AbortError' ? `no answer within ${FETCH_TIMEOUT_MS / 1000} s` : 'connection failed');
    }
    if (res.status === 401 || res.status === 403) throw new AuthError(res.status, await errorOf(res));
    if (optional && res.status === 404) return null;
    if (!res.ok) throw new HubError(`HTTP ${res.status}: ${await errorOf(res)}`);
    try {
      return await res.json();
    } catch {
      throw new HubError(`the answer to ${path.split('?')[0]} is not JSON`);
    }
  } finally {
    clearTimeout(timer);
  }
}

async function errorOf(res) {
  try {
    const body = await res.json();
    return String(body && body.error ? body.error : res.statusText).slice(0, 200);
  } catch {
    return res.statusText || 'error';
  }
}

// MARK: - refresh cycle

let inflight = null;
let timer = 0;

/** One refresh: fetch everything, then render. Concurrent calls share one cycle. */
function refresh() {
  if (!inflight) {
    const started = performance.now();
    inflight = cycle().finally(() => {
      inflight = null;
      stats.refreshes++;
      stats.lastRefreshMs = performance.now() - started;
      schedule();
    });
  }
  return inflight;
}
window.__lookoutRefresh = refresh;

function schedule() {
  clearTimeout(timer);
  if (!state.needToken) timer = setTimeout(refresh, REFRESH_S * 1000);
}

async function cycle() {
  if (state.needToken) return;
  const wantConfig = !state.config || Date.now() - state.configAt > 600000;
  let answers;
  try {
    answers = await Promise.all([
      wantConfig ? api('config') : null,
      api('status'),
      api('summary'),
      api('services'),
      api('alerts'),
      // Alert history may not exist on this hub (404): that is "no history", not a failure.
      api('alerts/history?limit=50', { optional: true }).catch((e) => (e instanceof AuthError ? Promise.reject(e) : null)),
    ]);
  } catch (e) {
    if (e instanceof AuthError) askToken(e);
    else fail(e);
    return;
  }
  const t0 = performance.now();
  absorb(answers);
  render();
  if (state.view.name === 'vm') await loadHistory(false);
  stats.lastRenderMs = performance.now() - t0;
  if (!state.readyMarked) {
    state.readyMarked = true;
    performance.mark('lookout:cards-drawn');
    window.__lookoutReady = true;
  }
}

function absorb([config, status, summary, services, alerts, resolved]) {
  const now = Date.now();
  if (config) {
    state.config = config;
    state.configAt = now;
    setText($('version'), `Lookout ${config.version || ''}`.trim());
  }
  state.fleet = status;
  state.health = new Map();
  for (const entry of Array.isArray(status && status.vms) ? status.vms : []) {
    if (entry && typeof entry.vm_id === 'string') state.health.set(entry.vm_id, entry);
  }
  const generated = Date.parse(status && status.generated_at);
  state.skew = Number.isFinite(generated) ? generated - now : 0;
  state.vms = new Map();
  const vms = summary && summary.vms;
  if (vms && typeof vms === 'object') {
    for (const [id, doc] of Object.entries(vms)) if (doc && typeof doc === 'object') state.vms.set(id, doc);
  }
  state.services = Array.isArray(services && services.services) ? services.services : [];
  state.alerts = Array.isArray(alerts && alerts.alerts) ? alerts.alerts : [];
  state.resolved = resolved && Array.isArray(resolved.alerts) ? resolved.alerts : null;
  state.fetchedAt = now;
  state.failingSince = 0;
  state.failure = '';
  state.loaded = true;
}

function fail(e) {
  if (!state.failingSince) state.failingSince = Date.now();
  state.failure = e && e.message ? e.message : String(e);
  renderHeader();
  renderBanner();
}

// MARK: - token

function askToken(e) {
  state.needToken = true;
  clearTimeout(timer);
  const form = $('token-form');
  const had = storedToken();
  setText($('token-error'), e.status === 403 || had ? `The hub refused ${had ? 'the saved token' : 'the token'}: ${e.message}` : '');
  form.hidden = false;
  $('main').hidden = true;
  setText($('updated'), 'Waiting for the access token');
  $('token-input').focus();
}

function submitToken(ev) {
  ev.preventDefault();
  const token = $('token-input').value.trim();
  if (!token) return;
  storeToken(token);
  $('token-input').value = '';
  $('token-form').hidden = true;
  $('main').hidden = false;
  state.needToken = false;
  $('forget-token').hidden = false;
  refresh();
}

// MARK: - routing

const scrolls = new Map();

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [name, id, range] = raw.split('/');
  if (name === 'vm' && id) {
    let vm = id;
    try {
      vm = decodeURIComponent(id);
    } catch { /* keep it raw */ }
    return { name: 'vm', vm, range: RANGES.includes(range) ? range : '24h' };
  }
  if (name === 'services' || name === 'alerts') return { name, vm: '', range: '24h' };
  return { name: 'overview', vm: '', range: '24h' };
}

function route() {
  const next = parseHash();
  const prev = state.view;
  const prevKey = prev.name === 'vm' ? `vm/${prev.vm}` : prev.name;
  const nextKey = next.name === 'vm' ? `vm/${next.vm}` : next.name;
  if (prevKey !== nextKey) scrolls.set(prevKey, window.scrollY);
  state.view = next;
  for (const name of ['overview', 'vm', 'services', 'alerts']) $(`view-${name}`).hidden = name !== next.name;
  for (const a of document.querySelectorAll('.tabs a')) {
    setAttr(a, 'aria-current', a.dataset.view === next.name ? 'page' : null);
  }
  render();
  if (next.name === 'vm') loadHistory(false);
  if (prevKey !== nextKey) window.scrollTo(0, scrolls.get(nextKey) || 0);
}

// MARK: - rendering

function render() {
  renderHeader();
  renderBanner();
  const name = state.view.name;
  if (name === 'overview') renderOverview();
  else if (name === 'vm') renderDetail();
  else if (name === 'services') renderServices();
  else renderAlerts();
}

function fleetCounts() {
  const counts = { critical: 0, stale: 0, warning: 0, ok: 0 };
  for (const id of state.vms.keys()) {
    const s = statusOf(id);
    if (s in counts) counts[s]++;
  }
  return counts;
}

let faviconColor = '';
function renderHeader() {
  const counts = fleetCounts();
  const old = !!state.failingSince || !state.loaded;
  let status = 'ok';
  if (counts.critical || counts.stale) status = 'critical';
  else if (counts.warning) status = 'warning';
  if (old || !state.vms.size) status = 'unknown';
  const dot = $('fleet-dot');
  setAttr(dot, 'data-status', status);
  const parts = Object.entries(counts).filter(([, n]) => n).map(([k, n]) => `${n} ${k}`);
  const summary = state.loaded ? (state.vms.size ? parts.join(' · ') : 'no VMs yet') : '';
  setAttr(dot, 'aria-label', `Fleet status: ${old ? 'unknown (data is old)' : status}${summary ? ', ' + summary : ''}`);
  setAttr(dot, 'title', old ? 'Data is old' : `Fleet: ${status}`);
  const countsEl = $('fleet-counts');
  countsEl.replaceChildren(...Object.entries(counts).filter(([, n]) => n)
    .map(([k, n]) => h('span', { class: `count s-${k}` }, h('b', { text: String(n) }), ` ${k}`)));
  if (state.loaded && !state.vms.size) countsEl.append('no VMs yet');
  document.body.toggleAttribute('data-old', !!state.failingSince);
  if (state.fetchedAt) {
    setText($('updated'), `${state.failingSince ? 'Data from' : 'Updated'} ${clockSec.format(state.fetchedAt)}`);
  } else if (state.failingSince) {
    setText($('updated'), 'No data');
  }
  const active = state.alerts.length;
  const badge = $('alert-count');
  badge.hidden = !active;
  setText(badge, String(active));
  setAttr(badge, 'data-status', state.alerts.some((a) => a && a.severity === 'critical') ? 'critical' : 'warning');
  const bad = counts.critical + counts.stale;
  document.title = old ? 'Lookout (data is old)'
    : bad ? `(${bad}) ${parts.join(', ')} — Lookout` : counts.warning ? `${parts.join(', ')} — Lookout` : 'Lookout';
  const color = colors[status === 'unknown' ? 'stale' : status];
  if (color && color !== faviconColor) {
    faviconColor = color;
    const c = document.createElement('canvas');
    c.width = c.height = 32;
    const ctx = c.getContext('2d');
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.arc(16, 16, 13, 0, Math.PI * 2);
    ctx.fill();
    document.querySelector('link[rel=icon]').href = c.toDataURL();
  }
}

function renderBanner() {
  const banner = $('banner');
  if (!state.failingSince) {
    banner.hidden = true;
    return;
  }
  const since = clock.format(state.failingSince);
  const data = state.fetchedAt ? `showing data from ${clock.format(state.fetchedAt)}` : 'no data yet';
  banner.replaceChildren(
    h('strong', { text: `Hub not reachable since ${since} — ${data}` }),
    h('span', { class: 'banner-detail', text: ` (${state.failure}). Retrying every ${REFRESH_S} s.` }));
  banner.hidden = false;
}

function orderedVMs() {
  return [...state.vms.keys()].sort((a, b) => (RANK[statusOf(a)] - RANK[statusOf(b)]) || (a < b ? -1 : a > b ? 1 : 0));
}

function badgeText(vm) {
  const s = statusOf(vm);
  if (s === 'stale') return `STALE — no report for ${dur(ageOf(vm))}`;
  return s === 'unknown' ? 'NO STATUS' : s.toUpperCase();
}

/** The reasons behind a VM's state, worst first, the stale notice left to the badge. */
function problemsOf(vm) {
  const hl = state.health.get(vm);
  const list = hl && Array.isArray(hl.problems) ? hl.problems.filter((p) => p && p.kind !== 'stale') : [];
  return list.sort((a, b) => (a.severity === 'critical' ? 0 : 1) - (b.severity === 'critical' ? 0 : 1));
}

function fillProblems(ul, problems, limit) {
  const shown = problems.slice(0, limit);
  const sig = JSON.stringify(shown.map((p) => [p.severity, p.message])) + problems.length;
  if (ul.dataset.sig === sig) return;
  ul.dataset.sig = sig;
  ul.replaceChildren(...shown.map((p) => h('li', { 'data-severity': p.severity, text: String(p.message || p.kind) })));
  if (problems.length > shown.length) ul.append(h('li', { class: 'more', text: `+ ${problems.length - shown.length} more` }));
  ul.hidden = !problems.length;
}

// MARK: overview

const cards = new Map();

function makeCard(id) {
  const link = h('a', { class: 'card-link', href: vmHref(id), text: id });
  const fact = (label, cls) => {
    const dd = h('dd', { class: cls });
    return [h('div', null, h('dt', { text: label }), dd), dd];
  };
  const [loadRow, load] = fact('Load', 'f-load');
  const [upRow, uptime] = fact('Uptime', 'f-uptime');
  const [conRow, containers] = fact('Containers', 'f-containers');
  const [chkRow, checks] = fact('Checks', 'f-checks');
  const [seenRow, seen] = fact('Last seen', 'f-seen');
  const gauges = GAUGES.map(([m, l]) => makeGauge(m, l));
  const badge = h('span', { class: 'badge' });
  const problems = h('ul', { class: 'problems' });
  const root = h('article', { class: 'card', 'data-vm': id },
    h('header', { class: 'card-head' }, h('h2', { class: 'vm-name' }, link), badge),
    problems,
    h('div', { class: 'gauges' }, gauges.map((g) => g.root)),
    h('dl', { class: 'facts' }, loadRow, upRow, conRow, chkRow, seenRow));
  return { root, badge, problems, gauges, load, uptime, containers, checks, seen };
}

function updateCard(c, id) {
  const doc = state.vms.get(id);
  const sys = (doc && doc.system) || {};
  const status = statusOf(id);
  const stale = status === 'stale';
  const th = thresholdsFor(id);
  setAttr(c.root, 'data-status', status);
  setText(c.badge, badgeText(id));
  fillProblems(c.problems, problemsOf(id), 2);
  updateGauge(c.gauges[0], sys.cpu && sys.cpu.percent, th.cpu, stale);
  updateGauge(c.gauges[1], sys.memory && sys.memory.percent, th.memory, stale);
  updateGauge(c.gauges[2], sys.disk && sys.disk.percent, th.disk, stale);
  const load = sys.load || {};
  setText(c.load, `${fmtLoad(load['1m'])} · ${fmtLoad(load['5m'])} · ${fmtLoad(load['15m'])}`);
  setAttr(c.load, 'data-level', stale ? null : level(load['5m'], th.load));
  setText(c.uptime, (sys.uptime && sys.uptime.human) || '–');
  fillContainerFact(c.containers, doc);
  fillChecksFact(c.checks, doc);
  setText(c.seen, ago(ageOf(id)));
}

function fillContainerFact(dd, doc) {
  const list = Array.isArray(doc && doc.containers) ? doc.containers : [];
  const down = list.filter((x) => x && x.status !== 'running').length;
  setText(dd, list.length ? `${list.length}${down ? ` (${down} not running)` : ''}` : 'none');
  setAttr(dd, 'data-level', down ? 'warning' : null);
}

function fillChecksFact(dd, doc) {
  const list = Array.isArray(doc && doc.services) ? doc.services : [];
  const failing = list.filter((x) => x && !x.healthy).length;
  setText(dd, !list.length ? 'none' : failing ? `${failing} of ${list.length} failing` : `${list.length} ok`);
  setAttr(dd, 'data-level', failing ? 'critical' : null);
}

function renderOverview() {
  const grid = $('grid');
  const order = orderedVMs();
  for (const [id, c] of cards) {
    if (!state.vms.has(id)) {
      c.root.remove();
      cards.delete(id);
    }
  }
  const fresh = [];
  for (const id of order) {
    let c = cards.get(id);
    if (!c) {
      c = makeCard(id);
      cards.set(id, c);
      fresh.push(c);
    }
    updateCard(c, id);
  }
  // Move cards only when the order changed, so a refresh leaves the DOM alone.
  const current = [...grid.children].map((el) => el.dataset.vm);
  if (current.length !== order.length || current.some((id, i) => id !== order[i])) {
    grid.append(...order.map((id) => cards.get(id).root));
  }
  $('overview-empty').hidden = !state.loaded || state.vms.size > 0;
  setText($('ingest-url'), `${location.origin}/api/monitoring/ingest`);
  paintGauges(order.flatMap((id) => cards.get(id).gauges));
}

// MARK: detail

let detail = null;
const histories = new Map();   // `${vm}|${range}` → { at, stamp, series: { metric: points } , from, to }

function buildDetail(id) {
  const root = $('view-vm');
  const title = h('h1', { id: 'vm-title', text: id });
  const badge = h('span', { class: 'badge' });
  const meta = h('p', { class: 'muted detail-meta' });
  const problems = h('ul', { class: 'problems' });
  const gauges = GAUGES.map(([m, l]) => makeGauge(m, l));
  const facts = {};
  const factList = h('dl', { class: 'facts detail-facts' });
  for (const [key, label] of [['load', 'Load 1 · 5 · 15 min'], ['uptime', 'Uptime'], ['cores', 'CPU cores'],
    ['memory', 'Memory'], ['disk', 'Disk'], ['containers', 'Containers'], ['checks', 'Checks'], ['seen', 'Last report']]) {
    facts[key] = h('dd', { class: `f-${key}` });
    factList.append(h('div', null, h('dt', { text: label }), facts[key]));
  }
  const rangeButtons = RANGES.map((r) => h('button', {
    type: 'button', 'data-range': r, 'aria-pressed': 'false', text: RANGE_LABEL[r],
    onclick: () => {
      history.replaceState(null, '', vmHref(id, r));
      route();
    },
  }));
  const charts = CHARTS.map((spec) => makeChart(spec));
  const containers = h('div', { class: 'table-wrap' });
  const checks = h('div', { class: 'table-wrap' });
  const missing = h('p', { class: 'empty', hidden: true });
  root.replaceChildren(
    h('p', { class: 'crumbs' }, h('a', { href: '#overview', text: '← All VMs' })),
    h('div', { class: 'detail-head', 'data-status': 'unknown' }, title, badge),
    meta, missing, problems,
    h('div', { class: 'detail-top' }, h('div', { class: 'gauges big' }, gauges.map((g) => g.root)), factList),
    h('div', { class: 'section-head' }, h('h2', { text: 'History' }),
      h('div', { class: 'seg', role: 'group', 'aria-label': 'History range' }, rangeButtons)),
    h('div', { class: 'charts' }, charts.map((c) => c.root)),
    h('h2', { text: 'Containers' }), containers,
    h('h2', { text: 'Service checks' }), checks);
  detail = { id, root, title, badge, meta, missing, problems, gauges, facts, rangeButtons, charts, containers, checks, head: root.querySelector('.detail-head') };
}

function renderDetail() {
  const { vm: id, range } = state.view;
  if (!detail || detail.id !== id) buildDetail(id);
  const d = detail;
  const doc = state.vms.get(id);
  for (const b of d.rangeButtons) setAttr(b, 'aria-pressed', String(b.dataset.range === range));
  d.missing.hidden = !state.loaded || !!doc;
  setText(d.missing, `No VM called “${id}” has reported to this hub.`);
  const status = doc ? statusOf(id) : 'unknown';
  setAttr(d.head, 'data-status', status);
  setAttr(d.root, 'data-status', status);
  setText(d.badge, doc ? badgeText(id) : state.loaded ? 'UNKNOWN' : '');
  fillProblems(d.problems, problemsOf(id), 20);
  if (!doc) return;
  const sys = doc.system || {};
  const th = thresholdsFor(id);
  const stale = status === 'stale';
  updateGauge(d.gauges[0], sys.cpu && sys.cpu.percent, th.cpu, stale);
  updateGauge(d.gauges[1], sys.memory && sys.memory.percent, th.memory, stale);
  updateGauge(d.gauges[2], sys.disk && sys.disk.percent, th.disk, stale);
  paintGauges(d.gauges);
  const metaParts = [`reported ${when(Date.parse(doc.timestamp))}`];
  if (num(doc.interval_seconds)) metaParts.push(`every ${dur(doc.interval_seconds)}`);
  if (typeof doc.agent === 'string') metaParts.push(`agent ${doc.agent}`);
  else if (doc.agent && typeof doc.agent === 'object' && doc.agent.version) metaParts.push(`agent ${doc.agent.version}`);
  setText(d.meta, metaParts.join(' · '));
  const f = d.facts;
  const load = sys.load || {};
  setText(f.load, `${fmtLoad(load['1m'])} · ${fmtLoad(load['5m'])} · ${fmtLoad(load['15m'])}`);
  setAttr(f.load, 'data-level', stale ? null : level(load['5m'], th.load));
  setText(f.uptime, (sys.uptime && sys.uptime.human) || '–');
  setText(f.cores, sys.cpu && num(sys.cpu.cores) != null ? String(sys.cpu.cores) : '–');
  const mem = sys.memory || {};
  setText(f.memory, `${fmt(mem.used_mb, 0)} of ${fmt(mem.total_mb, 0)} MB used`);
  const disk = sys.disk || {};
  setText(f.disk, `${fmt(disk.used_gb)} of ${fmt(disk.total_gb)} GB used${typeof disk.path === 'string' ? ` on ${disk.path}` : ''}`);
  fillContainerFact(f.containers, doc);
  fillChecksFact(f.checks, doc);
  setText(f.seen, ago(ageOf(id)));
  fillContainers(d.containers, doc);
  fillChecks(d.checks, id, doc);
  paintCharts();
}

const CONTAINER_LEVEL = { running: 'ok', restarting: 'critical', dead: 'critical' };

function fillContainers(wrap, doc) {
  const list = (Array.isArray(doc.containers) ? doc.containers : []).filter((x) => x && typeof x === 'object');
  const sig = JSON.stringify(list);
  if (wrap.dataset.sig === sig) return;
  wrap.dataset.sig = sig;
  if (!list.length) {
    wrap.replaceChildren(h('p', { class: 'empty', text: 'No containers reported (no Docker on this VM, or none created).' }));
    return;
  }
  const rows = [...list].sort((a, b) => ((a.status === 'running') - (b.status === 'running')) || String(a.name).localeCompare(String(b.name)))
    .map((x) => [
      h('span', { class: 'mono', text: String(x.name) }),
      h('span', { class: 'pill', 'data-level': CONTAINER_LEVEL[x.status] || 'warning', text: String(x.status) }),
      `${fmt(x.cpu_percent)} %`,
      `${fmt(x.memory_mb)} MB`,
    ]);
  wrap.replaceChildren(table(['Container', 'Status', 'CPU', 'Memory'], rows, 'containers', [2, 3]));
}

function fillChecks(wrap, id, doc) {
  const rows = serviceRows().filter((s) => s.vm_id === id);
  const list = rows.length ? rows : (Array.isArray(doc.services) ? doc.services : []).map((s) => ({ ...s, vm_id: id }));
  const sig = JSON.stringify(list) + Math.floor(Date.now() / 60000);
  if (wrap.dataset.sig === sig) return;
  wrap.dataset.sig = sig;
  if (!list.length) {
    wrap.replaceChildren(h('p', { class: 'empty', text: 'No service checks configured for this VM.' }));
    return;
  }
  wrap.replaceChildren(serviceTable(list, false));
}

/** A table; `cols` are header labels (repeated as data-label for the narrow layout). */
function table(cols, rows, cls, numeric = []) {
  return h('table', { class: `data ${cls}` },
    h('thead', null, h('tr', null, cols.map((c, i) => h('th', { scope: 'col', class: numeric.includes(i) ? 'n' : null, text: c })))),
    h('tbody', null, rows.map((cells) => {
      const tr = h('tr', null, cells.map((cell, i) => h('td', { 'data-label': cols[i], class: numeric.includes(i) ? 'n' : null }, cell)));
      if (cells.level) tr.dataset.level = cells.level;
      return tr;
    })));
}

// MARK: charts

function makeChart(spec) {
  const canvas = h('canvas', { tabindex: '0', role: 'img', 'aria-label': `${spec.title}: no data yet` });
  const readout = h('span', { class: 'readout', 'aria-live': 'off' });
  const legend = spec.key === 'load'
    ? h('span', { class: 'legend' }, spec.metrics.map((m, i) => h('span', { class: `key k${i}`, text: LOAD_NAMES[m] })))
    : null;
  const root = h('figure', { class: 'chart', 'data-chart': spec.key },
    h('figcaption', null, h('span', { class: 'chart-title', text: spec.title + (spec.unit ? ` (${spec.unit})` : '') }), legend, readout),
    canvas);
  const ch = { spec, root, canvas, readout, hover: null, data: null, geom: null, drawn: '' };
  canvas.addEventListener('pointermove', (ev) => hoverAt(ch, ev.offsetX));
  canvas.addEventListener('pointerleave', () => setHover(ch, null));
  canvas.addEventListener('blur', () => setHover(ch, null));
  canvas.addEventListener('keydown', (ev) => {
    const pts = ch.data && ch.data[0] && ch.data[0].pts;
    if (!pts || !pts.length) return;
    const last = pts.length - 1;
    const cur = ch.hover == null ? last : ch.hover;
    const step = ev.shiftKey ? 10 : 1;
    const next = { ArrowLeft: cur - step, ArrowRight: cur + step, Home: 0, End: last }[ev.key];
    if (next == null) return;
    ev.preventDefault();
    setHover(ch, Math.max(0, Math.min(last, next)));
  });
  return ch;
}

function hoverAt(ch, x) {
  const g = ch.geom;
  const pts = ch.data && ch.data[0] && ch.data[0].pts;
  if (!g || !pts || !pts.length) return;
  const t = g.from + ((x - g.x0) / (g.x1 - g.x0)) * (g.to - g.from);
  let lo = 0;
  let hi = pts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (pts[mid].t < t) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && t - pts[lo - 1].t < pts[lo].t - t) lo--;
  setHover(ch, lo);
}

function setHover(ch, index) {
  if (ch.hover === index) return;
  ch.hover = index;
  ch.drawn = '';
  paintChart(ch);
}

async function loadHistory(force) {
  const { name, vm, range } = state.view;
  if (name !== 'vm' || !state.vms.has(vm)) return;
  const key = `${vm}|${range}`;
  const stamp = state.vms.get(vm).timestamp;
  const have = histories.get(key);
  if (!force && have && have.stamp === stamp && Date.now() - have.at < 300000) {
    paintCharts();
    return;
  }
  const metrics = CHARTS.flatMap((c) => c.metrics);
  let answers;
  try {
    answers = await Promise.all(metrics.map((m) =>
      api(`history/${encodeURIComponent(vm)}?metric=${m}&range=${range}&points=300`)));
  } catch (e) {
    if (e instanceof AuthError) askToken(e);
    return;   // the next refresh reports an unreachable hub; keep what we have
  }
  const series = {};
  let from = Infinity;
  let to = -Infinity;
  answers.forEach((a, i) => {
    series[metrics[i]] = (Array.isArray(a && a.points) ? a.points : [])
      .map((p) => ({ t: Date.parse(p.t), min: num(p.min), avg: num(p.avg), max: num(p.max) }))
      .filter((p) => Number.isFinite(p.t) && p.avg != null)
      .sort((x, y) => x.t - y.t);
    const f = Date.parse(a && a.from);
    const t = Date.parse(a && a.to);
    if (Number.isFinite(f)) from = Math.min(from, f);
    if (Number.isFinite(t)) to = Math.max(to, t);
  });
  if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) {
    to = hubNow();
    from = to - { '24h': 864e5, '7d': 6048e5, '30d': 2592e6 }[range];
  }
  histories.set(key, { at: Date.now(), stamp, series, from, to });
  if (histories.size > 12) histories.delete(histories.keys().next().value);
  paintCharts();
}

function paintCharts() {
  if (!detail || state.view.name !== 'vm') return;
  const hist = histories.get(`${state.view.vm}|${state.view.range}`);
  const th = thresholdsFor(state.view.vm);
  for (const ch of detail.charts) {
    if (ch.hist !== hist || !hist) {
      ch.hist = hist;
      ch.data = hist ? ch.spec.metrics.map((m) => ({ metric: m, pts: hist.series[m] || [] })) : null;
      ch.hover = null;
    }
    ch.th = th[ch.spec.key];
    ch.from = hist ? hist.from : 0;
    ch.to = hist ? hist.to : 0;
  }
  const sizes = detail.charts.map((ch) => [ch.canvas.clientWidth, ch.canvas.clientHeight]);
  detail.charts.forEach((ch, i) => {
    ch.size = sizes[i];
    paintChart(ch);
  });
}

function niceStep(range, count) {
  const raw = range / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10) * mag;
}

const HOUR = 36e5;
const DAY = 864e5;

function timeTicks(from, to, maxTicks) {
  const steps = [HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY];
  const step = steps.find((s) => (to - from) / s <= maxTicks) || 28 * DAY;
  const ticks = [];
  const d = new Date(from);
  if (step < DAY) {
    d.setMinutes(0, 0, 0);
    const hrs = step / HOUR;
    while (d.getTime() < from || d.getHours() % hrs) d.setHours(d.getHours() + 1);
    for (; d.getTime() <= to; d.setHours(d.getHours() + hrs)) ticks.push([d.getTime(), clock.format(d)]);
  } else {
    d.setHours(0, 0, 0, 0);
    if (d.getTime() < from) d.setDate(d.getDate() + 1);
    const days = step / DAY;
    for (; d.getTime() <= to; d.setDate(d.getDate() + days)) ticks.push([d.getTime(), dayFmt.format(d)]);
  }
  return ticks;
}

function paintChart(ch) {
  const [w, hgt] = ch.size || [0, 0];
  if (!w || !hgt) return;
  const key = `${w}|${hgt}|${window.devicePixelRatio}|${colorsVersion}|${ch.hover}|${ch.th && ch.th.warning}|${ch.th && ch.th.critical}`;
  if (ch.drawn === key && ch.drawnData === ch.data) return;
  ch.drawn = key;
  ch.drawnData = ch.data;
  const ctx = prepareCanvas(ch.canvas, w, hgt);
  const fs = Math.round(colors.fontPx * 0.8);
  ctx.font = `${fs}px ${colors.font}`;
  ctx.textBaseline = 'middle';
  const spec = ch.spec;
  const series = ch.data || [];
  const main = series[0] ? series[0].pts : [];
  const th = ch.th;
  let top = spec.max;
  if (top == null) {
    let m = 0;
    for (const s of series) for (const p of s.pts) m = Math.max(m, p.max ?? p.avg);
    m = Math.max(m, th ? th.critical : 0, 0.1) * 1.1;
    const step = niceStep(m, 4);
    top = Math.ceil(m / step) * step;
  }
  const yStep = niceStep(top, Math.max(2, Math.min(5, Math.floor(hgt / (fs * 3)))));
  const label = (v) => (spec.unit ? fmt(v, 1) : fmt(v, 2));
  const padL = Math.ceil(ctx.measureText(label(top)).width) + 10;
  const x0 = padL;
  const x1 = w - 6;
  const y0 = fs * 0.8;
  const y1 = hgt - fs * 1.8;
  const from = ch.from;
  const to = ch.to;
  ch.geom = { x0, x1, from, to };
  const X = (t) => x0 + ((t - from) / (to - from)) * (x1 - x0);
  const Y = (v) => y1 - (Math.min(Math.max(v, 0), top) / top) * (y1 - y0);
  // grid and y labels
  ctx.strokeStyle = colors.grid;
  ctx.fillStyle = colors.text;
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  for (let v = 0; v <= top + 1e-9; v += yStep) {
    const y = Math.round(Y(v)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x0, y);
    ctx.lineTo(x1, y);
    ctx.stroke();
    ctx.fillText(label(v), x0 - 5, y);
  }
  if (!(to > from)) return;
  // time labels
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const [t, text] of timeTicks(from, to, Math.max(2, Math.floor((x1 - x0) / (fs * 6))))) {
    const x = Math.round(X(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, y1);
    ctx.lineTo(x, y1 + 4);
    ctx.stroke();
    ctx.fillText(text, Math.min(Math.max(x, x0 + 16), x1 - 16), y1 + 6);
  }
  // thresholds
  ctx.textBaseline = 'bottom';
  ctx.textAlign = 'right';
  ctx.lineWidth = 1.5;
  ctx.setLineDash([6, 4]);
  const thresholdLabels = [];
  for (const [name, color] of [['warning', colors.warning], ['critical', colors.critical]]) {
    const v = th && num(th[name]);
    if (v == null || v > top) continue;
    const y = Math.round(Y(v)) + 0.5;
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.moveTo(x0, y);
    ctx.lineTo(x1, y);
    ctx.stroke();
    thresholdLabels.push([`${name} ${label(v)}`, y, color]);
  }
  ctx.setLineDash([]);
  const drawLabels = () => {
    ctx.textAlign = 'right';
    ctx.textBaseline = 'bottom';
    for (const [text, y, color] of thresholdLabels) {
      const tw = ctx.measureText(text).width;
      ctx.fillStyle = colors.bg;
      ctx.globalAlpha = 0.85;
      ctx.fillRect(x1 - tw - 6, y - fs - 3, tw + 6, fs + 2);
      ctx.globalAlpha = 1;
      ctx.fillStyle = color;
      ctx.fillText(text, x1 - 3, y - 2);
    }
  };
  if (!main.length) {
    drawLabels();
    ctx.fillStyle = colors.text;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(ch.data ? `No history for the last ${RANGE_LABEL[state.view.range]}` : 'Loading…', (x0 + x1) / 2, (y0 + y1) / 2);
    setAttr(ch.canvas, 'aria-label', `${spec.title}: no history in this range`);
    setText(ch.readout, '');
    ch.root.dataset.drawn = ch.data ? 'empty' : 'loading';
    return;
  }
  // Break the line where reports are missing (more than 3 buckets' worth).
  const gap = Math.max(3 * ((to - from) / 300), 3 * medianStep(main));
  const segments = (pts) => {
    const out = [[]];
    pts.forEach((p, i) => {
      if (i && p.t - pts[i - 1].t > gap) out.push([]);
      out[out.length - 1].push(p);
    });
    return out;
  };
  if (spec.key !== 'load') {
    ctx.fillStyle = colors.band;
    for (const seg of segments(main)) {
      ctx.beginPath();
      seg.forEach((p, i) => (i ? ctx.lineTo(X(p.t), Y(p.max ?? p.avg)) : ctx.moveTo(X(p.t), Y(p.max ?? p.avg))));
      for (let i = seg.length - 1; i >= 0; i--) ctx.lineTo(X(seg[i].t), Y(seg[i].min ?? seg[i].avg));
      ctx.closePath();
      ctx.fill();
    }
  }
  const lineColors = [colors.line, colors.line2, colors.line3];
  const stroke = (pts) => {
    for (const seg of segments(pts)) {
      ctx.beginPath();
      seg.forEach((p, i) => (i ? ctx.lineTo(X(p.t), Y(p.avg)) : ctx.moveTo(X(p.t), Y(p.avg))));
      if (seg.length === 1) ctx.arc(X(seg[0].t), Y(seg[0].avg), 1.5, 0, Math.PI * 2);
      ctx.stroke();
    }
  };
  ctx.lineJoin = 'round';
  for (let s = series.length - 1; s >= 1; s--) {
    ctx.strokeStyle = lineColors[s];
    ctx.lineWidth = 1.25;
    stroke(series[s].pts);
  }
  // The main line turns amber and red where it crosses the thresholds.
  ctx.lineWidth = 2;
  const warnY = th && num(th.warning) != null ? Y(th.warning) : y0;
  const critY = th && num(th.critical) != null ? Y(th.critical) : y0;
  for (const [yTop, yBottom, color] of [[0, critY, colors.critical], [critY, warnY, colors.warning], [warnY, hgt, colors.line]]) {
    if (yBottom <= yTop) continue;
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, yTop, w, yBottom - yTop);
    ctx.clip();
    ctx.strokeStyle = color;
    stroke(main);
    ctx.restore();
  }
  drawLabels();
  const avg = main.reduce((a, p) => a + p.avg, 0) / main.length;
  const peak = main.reduce((a, p) => Math.max(a, p.max ?? p.avg), -Infinity);
  const unit = spec.unit ? ` ${spec.unit}` : '';
  setAttr(ch.canvas, 'aria-label', `${spec.title} over the last ${RANGE_LABEL[state.view.range]}: average ${label(avg)}${unit}, peak ${label(peak)}${unit}, latest ${label(main[main.length - 1].avg)}${unit}`);
  ch.root.dataset.drawn = 'true';
  const i = ch.hover;
  if (i != null && main[i]) {
    const p = main[i];
    const x = Math.round(X(p.t)) + 0.5;
    ctx.strokeStyle = colors.fg;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(x, y0);
    ctx.lineTo(x, y1);
    ctx.stroke();
    ctx.fillStyle = colors.line;
    ctx.beginPath();
    ctx.arc(x, Y(p.avg), 3.5, 0, Math.PI * 2);
    ctx.fill();
    setText(ch.readout, `${when(p.t)}  ${readoutAt(ch, p, label, unit)}`);
  } else {
    setText(ch.readout, `latest ${readoutAt(ch, main[main.length - 1], label, unit)}`);
  }
}

function readoutAt(ch, p, label, unit) {
  if (ch.spec.key === 'load') {
    return ch.data.map((s) => {
      const q = s.pts.find((x) => x.t === p.t);
      return `${LOAD_NAMES[s.metric]} ${q ? label(q.avg) : '–'}`;
    }).join(' · ');
  }
  const range = p.min != null && p.max != null && p.min !== p.max ? ` (${label(p.min)}–${label(p.max)})` : '';
  return `${label(p.avg)}${unit}${range}`;
}

function medianStep(pts) {
  if (pts.length < 2) return 0;
  const d = [];
  for (let i = 1; i < pts.length; i++) d.push(pts[i].t - pts[i - 1].t);
  d.sort((a, b) => a - b);
  return d[d.length >> 1];
}

// MARK: services

function serviceRows() {
  return state.services.filter((s) => s && typeof s === 'object');
}

function serviceTable(list, withVM) {
  const rows = [...list]
    .sort((a, b) => (!!a.healthy - !!b.healthy) || String(a.vm_id).localeCompare(String(b.vm_id)) || String(a.id).localeCompare(String(b.id)))
    .map((s) => {
      const stateCell = h('span', { class: 'pill', 'data-level': s.healthy ? 'ok' : 'critical', text: s.healthy ? 'healthy' : 'failing' });
      const since = Date.parse(s.since);
      const cells = [
        h('span', { class: 'svc' }, h('span', { class: 'mono', text: String(s.id) }),
          s.error ? h('span', { class: 'svc-error', text: String(s.error) }) : null),
        stateCell,
        num(s.response_ms) != null ? `${fmt(s.response_ms, 0)} ms` : '–',
        Number.isFinite(since) ? h('span', { title: when(since) }, `${dur(sinceHub(s.since))}`, h('span', { class: 'muted', text: ` (since ${when(since)})` })) : '–',
        s.checked_at ? ago(sinceHub(s.checked_at)) : '–',
      ];
      if (withVM) cells.splice(1, 0, h('a', { href: vmHref(String(s.vm_id)), class: 'mono', text: String(s.vm_id) }));
      cells.level = s.healthy ? 'ok' : 'critical';
      return cells;
    });
  const cols = ['Check', 'State', 'Response', 'In this state for', 'Checked'];
  if (withVM) cols.splice(1, 0, 'VM');
  return table(cols, rows, 'services', withVM ? [3] : [2]);
}

function renderServices() {
  const list = serviceRows();
  const failing = list.filter((s) => !s.healthy).length;
  setText($('services-summary'), state.loaded
    ? `${list.length} check${list.length === 1 ? '' : 's'} on ${new Set(list.map((s) => s.vm_id)).size} VMs${failing ? ` · ${failing} failing` : list.length ? ' · all healthy' : ''}`
    : '');
  const body = $('services-body');
  const sig = JSON.stringify(list) + Math.floor(Date.now() / 30000);
  if (body.dataset.sig === sig) return;
  body.dataset.sig = sig;
  body.replaceChildren(list.length ? serviceTable(list, true)
    : h('p', { class: 'empty', text: state.loaded ? 'No VM reports service checks. Add "services" to an agent config to check HTTP and TCP endpoints.' : 'Loading…' }));
}

// MARK: alerts

const UNIT = { cpu: ' %', memory: ' %', disk: ' %' };

function alertWhat(a) {
  const metric = a.metric || a.kind || '';
  return String(metric);
}

function alertValue(a, key) {
  const v = num(a[key]);
  if (v == null) return '–';
  const m = String(a.metric || a.kind || '');
  return `${/load/.test(m) ? fmtLoad(v) : fmt(v)}${own(UNIT, m) || ''}`;
}

function renderAlerts() {
  const active = state.alerts.filter((a) => a && typeof a === 'object');
  const body = $('alerts-body');
  const resolved = state.resolved;
  const crit = active.filter((a) => a.severity === 'critical').length;
  setText($('alerts-summary'), state.loaded
    ? active.length ? `${active.length} active · ${crit} critical · ${active.length - crit} warning` : 'No active alerts'
    : '');
  const sig = JSON.stringify([active, resolved]) + Math.floor(Date.now() / 30000) + JSON.stringify(state.fleet && state.fleet.vms);
  if (body.dataset.sig === sig) return;
  body.dataset.sig = sig;
  const out = [];
  for (const sev of ['critical', 'warning']) {
    const list = active.filter((a) => (sev === 'critical' ? a.severity === 'critical' : a.severity !== 'critical'))
      .sort((a, b) => String(b.since).localeCompare(String(a.since)));
    if (!list.length) continue;
    out.push(h('h2', { class: `sev-head s-${sev}` }, `${sev === 'critical' ? 'Critical' : 'Warning'} `, h('span', { class: 'muted', text: `(${list.length})` })));
    out.push(table(['VM', 'What', 'Message', 'Value', 'Threshold', 'For', 'Last notified'], list.map((a) => {
      const since = Date.parse(a.since);
      const notified = Date.parse(a.last_notified);
      const cells = [
        h('a', { href: vmHref(String(a.vm_id)), class: 'mono', text: String(a.vm_id) }),
        h('span', { class: 'pill', 'data-level': sev, text: alertWhat(a) }),
        String(a.message || ''),
        alertValue(a, 'value'),
        alertValue(a, 'threshold'),
        Number.isFinite(since) ? h('span', { title: when(since) }, dur(sinceHub(a.since))) : '–',
        Number.isFinite(notified) ? when(notified) : 'not yet',
      ];
      cells.level = sev;
      return cells;
    }), 'alerts', [3, 4]));
  }
  if (!out.length) {
    out.push(h('p', { class: 'empty all-clear', text: state.loaded ? 'No active alerts.' : 'Loading…' }));
    // Until an alert engine runs, the latest reports still say what is wrong.
    const now = [];
    for (const id of orderedVMs()) for (const p of (state.health.get(id) || {}).problems || []) now.push([id, p]);
    if (now.length) {
      out.push(h('h2', { text: 'Problems in the latest reports' }));
      out.push(table(['VM', 'Severity', 'Problem'], now.map(([id, p]) => {
        const cells = [h('a', { href: vmHref(id), class: 'mono', text: id }),
          h('span', { class: 'pill', 'data-level': p.severity, text: String(p.severity) }), String(p.message || p.kind)];
        cells.level = p.severity;
        return cells;
      }), 'problems-now'));
    }
  }
  out.push(h('h2', { text: 'Recently resolved' }));
  const done = (resolved || []).filter((a) => a && typeof a === 'object');
  if (!done.length) {
    out.push(h('p', { class: 'empty', text: 'No resolved alerts recorded.' }));
  } else {
    out.push(table(['VM', 'What', 'Severity', 'Message', 'Opened', 'Resolved', 'Lasted'], done.map((a) => {
      const since = Date.parse(a.since);
      const end = Date.parse(a.resolved_at);
      return [
        h('a', { href: vmHref(String(a.vm_id)), class: 'mono', text: String(a.vm_id) }),
        alertWhat(a),
        h('span', { class: 'pill', 'data-level': a.severity === 'critical' ? 'critical' : 'warning', text: String(a.severity || '') }),
        String(a.message || ''),
        when(since),
        when(end),
        Number.isFinite(since) && Number.isFinite(end) ? dur((end - since) / 1000) : '–',
      ];
    }), 'resolved'));
  }
  body.replaceChildren(...out);
}

// MARK: - start

function repaint() {
  for (const c of cards.values()) for (const g of c.gauges) g.drawn = '';
  if (detail) {
    for (const g of detail.gauges) g.drawn = '';
    for (const ch of detail.charts) ch.drawn = '';
  }
  if (state.view.name === 'overview') paintGauges([...cards.values()].flatMap((c) => c.gauges));
  if (state.view.name === 'vm' && detail) {
    paintGauges(detail.gauges);
    paintCharts();
  }
}

function start() {
  readColors();
  $('token-form').addEventListener('submit', submitToken);
  $('forget-token').hidden = !storedToken();
  $('forget-token').addEventListener('click', () => {
    storeToken('');
    location.reload();
  });
  window.addEventListener('hashchange', route);
  let frame = 0;
  window.addEventListener('resize', () => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(repaint);
  });
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    readColors();
    faviconColor = '';
    renderHeader();
    repaint();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && !state.needToken && Date.now() - state.fetchedAt > REFRESH_S * 1000) refresh();
  });
  route();
  refresh();
}

start();
