// Lookout dashboard: vanilla JS, no build step, no dependencies.
// Strings from the API reach the page only through textContent and setAttribute (h(),
// setText(), setAttr()), never through innerHTML.

// Relative, so the page also works behind a reverse proxy under a sub-path (/lookout/):
// resolved against the page's URL, it is /api/monitoring/ when served at / or /monitoring.html.
const API = 'api/monitoring/';
const TOKEN_KEY = 'lookout.token';
/** Seconds between refreshes; `?refresh=N` (2–3600) overrides the default of 20. */
const REFRESH_S = Math.min(3600, Math.max(2, Number(new URLSearchParams(location.search).get('refresh')) || 20));
const FETCH_TIMEOUT_MS = Math.min(10000, REFRESH_S * 1000);
const RANGES = { '24h': '24 h', '7d': '7 days', '30d': '30 days' };
const rank = (s) => ['critical', 'stale', 'warning', 'ok'].indexOf(s) >>> 0;
// The hub's defaults (it sends its own in GET config); temperatures have none (off unless set).
const DEFAULT_TH = {
  cpu: { warning: 70, critical: 90 }, memory: { warning: 80, critical: 95 },
  disk: { warning: 80, critical: 90 }, load: { warning: 1.5, critical: 3, per_core: true },
  swap: { warning: 50, critical: 80 }, disk_util: { warning: 90, critical: 98 },
};
const GAUGES = [['cpu', 'CPU'], ['memory', 'Memory'], ['disk', 'Disk']];
// A chart: `metrics` are history series (the first is the main line), `names` label each
// line in the legend and readout, `th` the threshold keys tried in order (default: key),
// `max` a fixed top (percent), else `floor` the least top of an auto-scaled axis.
const CHARTS = [
  { key: 'cpu', title: 'CPU', unit: '%', metrics: ['cpu'], max: 100 },
  { key: 'memory', title: 'Memory', unit: '%', metrics: ['memory'], max: 100 },
  { key: 'disk', title: 'Disk', unit: '%', metrics: ['disk'], max: 100 },
  { key: 'load', title: 'Load', unit: '', metrics: ['load5', 'load1', 'load15'], names: ['5 min', '1 min', '15 min'] },
];
/** Rebooted less than this long ago (seconds since boot): the card and VM view say so. */
const REBOOT_FACT_S = 3600;
/** Line colours of the charts: --line, --line2 … in the stylesheet. */
const LINE_COLOURS = 6;

const state = {
  config: null, configAt: 0,
  vms: new Map(),        // vm_id → latest document
  health: new Map(),     // vm_id → its entry of /status
  services: [], alerts: [], resolved: null, silences: [],
  fetchedAt: 0,          // Date.now() of the last complete answer
  skew: 0,               // hub clock − our clock, ms
  failingSince: 0, failure: '',
  loaded: false, needToken: false, ready: false,
  view: { name: 'overview', vm: '', range: '24h' },
};
const stats = { refreshes: 0, lastRenderMs: 0, trafficLoads: 0 };
window.__lookoutStats = stats;

// MARK: - helpers

const $ = (id) => document.getElementById(id);

/** An element. Props: class, text, on<event>; anything else is an attribute. */
function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [key, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (key === 'class') el.className = v;
    else if (key === 'text') el.textContent = v;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), v);
    else el.setAttribute(key, v === true ? '' : v);
  }
  for (const kid of kids.flat()) if (kid != null && kid !== false) el.append(kid);
  return el;
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function setAttr(el, name, value) {
  if (value == null) el.removeAttribute(name);
  else if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const list = (v) => (Array.isArray(v) ? v.filter((x) => x && typeof x === 'object') : []);
const str = (v) => (v == null ? '' : String(v));

/** 23.456 → "23.5", 93 → "93", missing → "–". */
function fmt(v, digits = 1) {
  return num(v) == null ? '–' : String(Math.round(v * 10 ** digits) / 10 ** digits);
}
const fmtLoad = (v) => (num(v) == null ? '–' : v.toFixed(2));
const loads = (l = {}) => `${fmtLoad(l['1m'])} · ${fmtLoad(l['5m'])} · ${fmtLoad(l['15m'])}`;

/** Seconds as "42 s", "12 min", "3 h 5 min", "4 d". */
function dur(sec) {
  sec = Math.max(0, Math.round(sec));
  if (sec < 60) return `${sec} s`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min`;
  if (sec >= 172800) return `${Math.floor(sec / 86400)} d`;
  const hrs = Math.floor(sec / 3600);
  const min = Math.floor((sec % 3600) / 60);
  return hrs < 10 && min ? `${hrs} h ${min} min` : `${hrs} h`;
}
/** Bytes in decimal units (1 KB = 1000 B), as link speeds and cloud allowances count them:
 * 950 → "950 B", 80000 → "80 KB", 1234567 → "1.2 MB"; `per` is appended ("/s"). */
function bytes(v, per = '') {
  if (num(v) == null) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  for (; Math.abs(v) >= 999.5 && i < units.length - 1; i++) v /= 1000;
  return `${i && v < 99.95 ? fmt(v) : Math.round(v)} ${units[i]}${per}`;
}
const rate = (v) => bytes(v, '/s');
const ago = (sec) => (!Number.isFinite(sec) ? '–' : sec < 10 ? 'just now' : `${dur(sec)} ago`);

const timeFmt = (o) => new Intl.DateTimeFormat(undefined, { hourCycle: 'h23', ...o });
const clock = timeFmt({ hour: '2-digit', minute: '2-digit' });
const clockSec = timeFmt({ hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dayFmt = timeFmt({ day: 'numeric', month: 'short' });
const dayTime = timeFmt({ day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
/** A time of day, with the date when it is more than 20 hours away. */
const when = (ms) => (!Number.isFinite(ms) ? '–' : Math.abs(Date.now() - ms) < 72e6 ? clock.format(ms) : dayTime.format(ms));

const hubNow = () => Date.now() + state.skew;
const sinceHub = (iso) => (hubNow() - Date.parse(iso)) / 1000;

function level(v, th) {
  if (num(v) == null || !th) return 'none';
  return v >= th.critical ? 'critical' : v >= th.warning ? 'warning' : 'ok';
}

/** A VM's threshold for the first of `keys` (cpu, swap, disk_util, temperature, fs:/path …)
 * that is set: in its override, the config's thresholds, then the defaults; null when none. */
function limit(vm, ...keys) {
  const c = state.config;
  const o = c?.overrides;
  const sources = [o && typeof o === 'object' && Object.hasOwn(o, vm) ? o[vm] : null, c?.thresholds, DEFAULT_TH];
  for (const key of keys) {
    for (const src of sources) {
      const t = src && typeof src === 'object' && Object.hasOwn(src, key) ? src[key] : null;
      if (t && typeof t === 'object' && (num(t.warning) != null || num(t.critical) != null)) {
        return key === 'load' ? loadLimit(vm, t) : t;
      }
    }
  }
  return null;
}

/** A per-core load threshold (`per_core`) in the VM's own load: warning × its cores, so the
 * card and the chart compare the load as the hub does; `cores` says it for the labels. */
function loadLimit(vm, t) {
  const cores = num(state.vms.get(vm)?.system?.cpu?.cores);
  if (t.per_core !== true || cores == null || cores < 1) return t;
  const scale = (v) => (num(v) == null ? v : v * cores);
  return { ...t, warning: scale(t.warning), critical: scale(t.critical), cores, perCore: t };
}

const thresholdsFor = (vm) => Object.fromEntries(['cpu', 'memory', 'disk', 'load'].map((k) => [k, limit(vm, k)]));

/** Seconds since the VM's last document, counted on from the hub's last answer. */
function ageOf(vm) {
  const hl = state.health.get(vm);
  if (num(hl?.age_seconds) != null) return hl.age_seconds + (Date.now() - state.fetchedAt) / 1000;
  return sinceHub(state.vms.get(vm)?.timestamp);
}

const statusOf = (vm) => state.health.get(vm)?.status || 'unknown';
const vmHref = (vm, range) => `#vm/${encodeURIComponent(vm)}${range && range !== '24h' ? '/' + range : ''}`;
const vmLink = (vm) => h('a', { href: vmHref(str(vm)), class: 'mono', text: str(vm) });
const pill = (lv, text) => h('span', { class: 'pill', 'data-level': lv, text: str(text) });

// MARK: - canvas

let colors = {};
let colorsVersion = 0;
/** Colours come from the stylesheet, so light and dark live in one place. */
function readColors() {
  const cs = getComputedStyle(document.documentElement);
  const v = (name) => cs.getPropertyValue(name).trim();
  colors = {
    ok: v('--ok'), warning: v('--warn'), critical: v('--crit'), stale: v('--stale'), none: v('--stale'),
    track: v('--track'), grid: v('--grid'), text: v('--muted'), fg: v('--fg'), bg: v('--card'),
    lines: Array.from({ length: LINE_COLOURS }, (_, i) => v(`--line${i ? i + 1 : ''}`)), band: v('--band'),
    font: getComputedStyle(document.body).fontFamily, fontPx: parseFloat(cs.fontSize) || 16,
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

/** CPU, memory and disk gauges: one canvas behind three labelled figures. */
function makeGauges(cls) {
  const canvas = h('canvas');
  const gauges = GAUGES.map(([metric, label]) => {
    const value = h('span', { class: 'num' });
    const root = h('div', { class: 'gauge', 'data-metric': metric, role: 'img' },
      h('span', { class: 'gauge-value' }, value, h('span', { class: 'unit', text: '%' })), h('span', { class: 'gauge-label', text: label }));
    return { root, value, label, want: null };
  });
  return { canvas, gauges, drawn: '', root: h('div', { class: cls }, canvas, gauges.map((g) => g.root)) };
}

function updateGauges(group, sys, th, stale) {
  group.gauges.forEach((g, i) => {
    const value = num(sys[GAUGES[i][0]]?.percent);
    const lv = stale ? 'stale' : level(value, th[GAUGES[i][0]]);
    setText(g.value, fmt(value));
    setAttr(g.root, 'data-level', lv);
    const note = stale ? ' (stale)' : lv === 'warning' || lv === 'critical' ? ` (${lv})` : '';
    setAttr(g.root, 'aria-label', `${g.label} ${value == null ? 'unknown' : fmt(value) + ' %'}${note}`);
    g.want = [value, lv, th[GAUGES[i][0]]];
  });
}

/** Draws the gauge groups whose figures changed. Sizes come from the stylesheet (`--gauge`
 * and `--ggap` are registered lengths), so drawing never forces a layout. */
function paintGauges(groups) {
  if (!groups.length) return;
  const cs = getComputedStyle(groups[0].root);
  const size = parseFloat(cs.getPropertyValue('--gauge'));
  const gap = parseFloat(cs.getPropertyValue('--ggap')) || 0;
  for (const grp of groups) {
    const key = JSON.stringify([size, gap, devicePixelRatio, colorsVersion, grp.gauges.map((g) => g.want)]);
    if (!size || grp.drawn === key) continue;
    grp.drawn = key;
    const ctx = prepareCanvas(grp.canvas, 3 * size + 2 * gap, size);
    grp.gauges.forEach((g, i) => g.want && drawGauge(ctx, i * (size + gap) + size / 2, size, ...g.want));
  }
}

function drawGauge(ctx, cx, size, value, lv, th) {
  const lw = Math.max(5, size * 0.11);
  const c = size / 2;
  const a0 = Math.PI * 0.75;
  const at = (v) => a0 + Math.PI * 1.5 * Math.min(1, Math.max(0, v / 100));
  const arc = (from, to, color, alpha = 1) => {
    ctx.globalAlpha = alpha;
    ctx.strokeStyle = color;
    ctx.beginPath();
    ctx.arc(cx, c, c - lw / 2 - 1, from, to);
    ctx.stroke();
  };
  ctx.lineWidth = lw;
  ctx.lineCap = 'butt';
  arc(a0, at(100), colors.track);
  // Faint amber and red on the track: where the thresholds are.
  if (th && lv !== 'stale' && num(th.warning) != null && num(th.critical) != null) {
    arc(at(th.warning), at(th.critical), colors.warning, 0.3);
    arc(at(th.critical), at(100), colors.critical, 0.3);
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

// Without storage (some private modes) the token lives as long as the page.
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
    localStorage.setItem(TOKEN_KEY, token);
  } catch { /* see above */ }
}

async function api(path, optional = false) {
  const token = storedToken();
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
  try {
    let res;
    try {
      res = await fetch(API + path, {
        headers: { Accept: 'application/json', ...(token && { Authorization: `Bearer ${token}` }) }, signal: ctl.signal, cache: 'no-cache',
      });
    } catch (e) {
      throw new Error(e?.name === 'AbortError' ? `no answer within ${FETCH_TIMEOUT_MS / 1000} s` : 'connection failed');
    }
    if (res.status === 401 || res.status === 403) throw new AuthError(res.status, await errorOf(res));
    if (optional && res.status === 404) return null;
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${await errorOf(res)}`);
    return await res.json().catch(() => { throw new Error(`${path.split('?')[0]}: the answer is not JSON`); });
  } finally {
    clearTimeout(timer);
  }
}

async function errorOf(res) {
  const body = await res.json().catch(() => null);
  return str(body?.error || res.statusText || 'error').slice(0, 200);
}

// MARK: - refresh cycle

let inflight = null;
let timer = 0;

/** One refresh: fetch, then render. Calls during a refresh share it. */
function refresh() {
  inflight ||= cycle().finally(() => {
    inflight = null;
    stats.refreshes++;
    schedule();
  });
  return inflight;
}
window.__lookoutRefresh = refresh;

function schedule() {
  clearTimeout(timer);
  if (!state.needToken) timer = setTimeout(refresh, REFRESH_S * 1000);
}

async function cycle() {
  if (state.needToken) return;
  // What the cards need first; the rest follows without holding them up.
  const core = Promise.all([!state.config || Date.now() - state.configAt > 6e5 ? api('config') : null, api('status'), api('summary')]);
  const rest = Promise.all([api('services'), api('alerts'),
    // A hub without alert history answers 404: that is no history, not a failure.
    api('alerts/history?limit=50', true).catch((e) => (e instanceof AuthError ? Promise.reject(e) : null)),
    api('silences', true).catch((e) => (e instanceof AuthError ? Promise.reject(e) : []))]);
  rest.catch(() => {});
  try {
    const t0 = performance.now();
    absorbCore(await core);
    render();
    const t1 = performance.now();
    const [services, alerts, resolved, silences] = await rest;
    const t2 = performance.now();
    state.services = list(services?.services);
    state.alerts = list(alerts?.alerts);
    state.resolved = resolved && list(resolved.alerts);
    state.silences = list(silences?.silences);
    renderHeader();
    if (state.view.name !== 'overview') render();
    stats.lastRenderMs = t1 - t0 + performance.now() - t2;
    await Promise.all([loadForecasts(), ...(state.view.name === 'vm' ? [loadHistory(), loadTraffic()] : [])]);
  } catch (e) {
    if (e instanceof AuthError) return askToken(e);
    if (!state.failingSince) state.failingSince = Date.now();
    state.failure = e?.message || str(e);
    render();
  }
  if (state.loaded && !(state.view.name === 'overview' && state.vms.size)) markReady();
}

function absorbCore([config, status, summary]) {
  const now = Date.now();
  if (config) {
    state.config = config;
    state.configAt = now;
    setText($('version'), `Lookout ${str(config.version)}`.trim());
  }
  state.health = new Map(list(status?.vms).map((e) => [str(e.vm_id), e]));
  state.chan = status?.channels;
  const generated = Date.parse(status?.generated_at);
  state.skew = Number.isFinite(generated) ? generated - now : 0;
  const vms = summary?.vms && typeof summary.vms === 'object' ? summary.vms : {};
  state.vms = new Map(Object.entries(vms).filter(([, d]) => d && typeof d === 'object'));
  state.fetchedAt = now;
  state.failingSince = 0;
  state.loaded = true;
}

/** After the first full render: what scripts/bench-dashboard and the tests wait for. */
function markReady() {
  if (state.ready) return;
  state.ready = true;
  performance.mark('lookout:cards-drawn');
  window.__lookoutReady = true;
}

// MARK: - token

function askToken(e) {
  state.needToken = true;
  clearTimeout(timer);
  const had = storedToken();
  setText($('token-error'), e.status === 403 || had ? `The hub refused ${had ? 'the saved token' : 'the token'}: ${e.message}` : '');
  $('token-form').hidden = false;
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
  refresh();
}

// MARK: - routing

const scrolls = new Map();

function parseHash() {
  const [name, id, range] = location.hash.replace(/^#\/?/, '').split('/');
  if (name === 'vm' && id) {
    let vm = id;
    try {
      vm = decodeURIComponent(id);
    } catch { /* keep it as typed */ }
    return { name, vm, range: Object.hasOwn(RANGES, range) ? range : '24h' };
  }
  return { name: name === 'services' || name === 'alerts' ? name : 'overview', vm: '', range: '24h' };
}

function route() {
  const next = parseHash();
  const key = (v) => (v.name === 'vm' ? `vm/${v.vm}` : v.name);
  const moved = key(next) !== key(state.view);
  if (moved) scrolls.set(key(state.view), scrollY);
  state.view = next;
  for (const name of ['overview', 'vm', 'services', 'alerts']) $(`view-${name}`).hidden = name !== next.name;
  for (const a of document.querySelectorAll('.tabs a')) setAttr(a, 'aria-current', a.dataset.view === next.name ? 'page' : null);
  render();
  if (next.name === 'vm') {
    loadHistory();
    loadTraffic();
  }
  if (moved) scrollTo(0, scrolls.get(key(next)) || 0);
}

// MARK: - rendering

function render() {
  renderHeader();
  const name = state.view.name;
  if (name === 'overview') renderOverview();
  else if (name === 'vm') renderDetail();
  else if (name === 'services') renderServices();
  else renderAlerts();
}

function renderHeader() {
  const counts = { critical: 0, stale: 0, warning: 0, ok: 0 };
  for (const id of state.vms.keys()) if (Object.hasOwn(counts, statusOf(id))) counts[statusOf(id)]++;
  const parts = Object.entries(counts).filter(([, n]) => n);
  const old = !!state.failingSince || !state.loaded;
  const status = old || !state.vms.size ? 'unknown'
    : counts.critical || counts.stale ? 'critical' : counts.warning ? 'warning' : 'ok';
  const text = parts.map(([k, n]) => `${n} ${k}`).join(', ');
  const dot = $('fleet-dot');
  setAttr(dot, 'data-status', status);
  setAttr(dot, 'aria-label', `Fleet status: ${old ? 'unknown, the data is old' : status}${text ? `; ${text}` : ''}`);
  const countsEl = $('fleet-counts');
  if (countsEl.dataset.sig !== text + state.loaded) {
    countsEl.dataset.sig = text + state.loaded;
    countsEl.replaceChildren(...parts.map(([k, n]) => h('span', { class: 'count', 'data-status': k === 'stale' ? 'critical' : k }, h('b', { text: String(n) }), ` ${k}`)));
    if (state.loaded && !state.vms.size) countsEl.append('no VMs yet');
  }
  document.body.toggleAttribute('data-old', !!state.failingSince);
  if (state.fetchedAt) setText($('updated'), `${state.failingSince ? 'Data from' : 'Updated'} ${clockSec.format(state.fetchedAt)}`);
  else if (state.failingSince) setText($('updated'), 'No data');
  const badge = $('alert-count');
  badge.hidden = !state.alerts.length;
  setText(badge, String(state.alerts.length));
  setAttr(badge, 'data-status', state.alerts.some((a) => a.severity === 'critical') ? 'critical' : 'warning');
  document.title = old ? 'Lookout (data is old)' : status === 'ok' || !text ? 'Lookout' : `${text} — Lookout`;
  const bad = list(state.chan).filter((c) => c.status != 'ok').map((c) => `${c.id} ${c.status}`).join(', ');
  const banner = $('banner');
  banner.hidden = !state.failingSince && !bad;
  if (bad) setText(banner, `Notifications: ${bad}`);
  if (state.failingSince) {
    const data = state.fetchedAt ? `showing data from ${clock.format(state.fetchedAt)}` : 'no data yet';
    banner.replaceChildren(h('strong', { text: `Hub not reachable since ${clock.format(state.failingSince)} — ${data}` }),
      h('span', { class: 'banner-detail', text: ` (${state.failure}). Retrying every ${REFRESH_S} s.` }));
  }
}

const orderedVMs = () => [...state.vms.keys()]
  .sort((a, b) => rank(statusOf(a)) - rank(statusOf(b)) || (a < b ? -1 : a > b ? 1 : 0));

function badgeText(vm) {
  const s = statusOf(vm);
  return s === 'stale' ? `STALE — no report for ${dur(ageOf(vm))}` : s === 'unknown' ? 'NO STATUS' : s.toUpperCase();
}

/** The reasons behind a VM's state, critical first; the badge already says "stale". */
const problemsOf = (vm) => list(state.health.get(vm)?.problems).filter((p) => p.kind !== 'stale')
  .sort((a, b) => (a.severity !== 'critical') - (b.severity !== 'critical'));

function fillProblems(ul, problems, limit) {
  const shown = problems.slice(0, limit);
  const sig = JSON.stringify(shown.map((p) => [p.severity, p.message])) + problems.length;
  if (ul.dataset.sig === sig) return;
  ul.dataset.sig = sig;
  ul.replaceChildren(...shown.map((p) => h('li', { 'data-level': p.severity === 'critical' ? 'critical' : 'warning', text: str(p.message || p.kind) })));
  if (problems.length > limit) ul.append(h('li', { class: 'more', text: `+ ${problems.length - limit} more` }));
  ul.hidden = !problems.length;
}

/** Fills the figures a card and the detail view share. */
function fillFigures(f, id, doc) {
  const sys = doc.system || {};
  const status = statusOf(id);
  const th = thresholdsFor(id);
  const stale = status === 'stale';
  updateGauges(f.gauges, sys, th, stale);
  setText(f.load, loads(sys.load));
  setAttr(f.load, 'data-level', stale ? null : level(sys.load?.['5m'], th.load));
  setText(f.uptime, str(sys.uptime?.human) || '–');
  const containers = list(doc.containers);
  const down = containers.filter((x) => x.status !== 'running').length;
  setText(f.containers, containers.length ? `${containers.length}${down ? ` (${down} not running)` : ''}` : 'none');
  setAttr(f.containers, 'data-level', down ? 'warning' : null);
  const checks = list(doc.services);
  const failing = checks.filter((x) => !x.healthy).length;
  setText(f.checks, !checks.length ? 'none' : failing ? `${failing} of ${checks.length} failing` : `${checks.length} ok`);
  setAttr(f.checks, 'data-level', failing ? 'critical' : null);
  setText(f.seen, ago(ageOf(id)));
  fillExtraFacts(f, id, sys);
  fillReboot(f.reboot, id, sys);
  return status;
}

/** Shows a fact's row with `text`, or hides the row when the document lacks the figure, so
 * an older agent's VM looks as it always did. */
function optionalFact(dd, text, lv) {
  if (!dd) return;
  dd.parentElement.hidden = text == null;
  if (text != null) setText(dd, text);
  setAttr(dd, 'data-level', lv && lv !== 'ok' && lv !== 'none' ? lv : null);
}

const netText = (n) => `${rate(n.rx_bytes_per_s)} ↓ ${rate(n.tx_bytes_per_s)} ↑`;

/** Network, swap and disk I/O, each only when the document carries it. */
function fillExtraFacts(f, id, sys) {
  const net = sys.network && typeof sys.network === 'object' ? sys.network : null;
  optionalFact(f.net, net && netText(net));
  if (f.net) setAttr(f.net, 'title', net && `received ${rate(net.rx_bytes_per_s)}, sent ${rate(net.tx_bytes_per_s)}`);
  const swap = sys.swap && typeof sys.swap === 'object' ? sys.swap : null;
  const swapText = swap && (f.io ? `${fmt(swap.used_mb, 0)} of ${fmt(swap.total_mb, 0)} MB (${fmt(swap.percent)} %)` : `${fmt(swap.percent)} %`);
  optionalFact(f.swap, swapText, swap && level(num(swap.percent), limit(id, 'swap')));
  const io = sys.disk_io && typeof sys.disk_io === 'object' ? sys.disk_io : null;
  optionalFact(f.io, io && `${str(io.device)}: ${rate(io.read_bytes_per_s)} read · ${rate(io.write_bytes_per_s)} written · ${fmt(io.util_percent)} % busy`,
    io && level(num(io.util_percent), limit(id, 'disk_util')));
}

/** Seconds since the VM booted, counted on from its last report; null without uptime. */
function sinceBoot(id, sys) {
  const up = num(sys.uptime?.seconds);
  const age = ageOf(id);
  return up == null ? null : up + (Number.isFinite(age) ? Math.max(0, age) : 0);
}

/** "rebooted 12 min ago" while the VM's uptime is short (REBOOT_FACT_S). */
function fillReboot(el, id, sys) {
  const sec = sinceBoot(id, sys);
  el.hidden = sec == null || sec >= REBOOT_FACT_S;
  if (!el.hidden) setText(el, `rebooted ${dur(sec)} ago`);
}

/** The agent release of a document (`agent` is a string, or `{version}` from older agents). */
const agentVersion = (doc) => str(typeof doc?.agent === 'string' ? doc.agent : doc?.agent?.version) || null;

/** Release order as the agent's `upgrade` compares: dotted fields as numbers (0.1.10 > 0.1.9),
 * then a `~`/`-` pre-release before the plain number before a `+` rebuild. */
function versionOrder(a, b) {
  const split = (v) => {
    const m = /^([0-9]+(?:\.[0-9]+)*)(.*)$/.exec(v);
    return m && [m[1].split('.').map(Number), m[2]];
  };
  const [x, y] = [split(a), split(b)];
  if (!x || !y) return 0;
  for (let i = 0; i < Math.max(x[0].length, y[0].length); i++) {
    const d = (x[0][i] || 0) - (y[0][i] || 0);
    if (d) return Math.sign(d);
  }
  const rankOf = (s) => (!s ? 1 : s[0] === '+' ? 2 : 0);
  return Math.sign(rankOf(x[1]) - rankOf(y[1])) || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0);
}

/** The hub's release when the VM's agent is older than it (the hub's GET config `version`), else null. */
function newerHub(doc) {
  const agent = agentVersion(doc);
  const hub = str(state.config?.version);
  return agent && hub && versionOrder(agent, hub) < 0 ? hub : null;
}

/** The card's "agent 0.1.0, hub 0.1.2" line, shown only for an agent older than the hub. */
function fillAgentLine(el, doc) {
  const hub = newerHub(doc);
  el.hidden = !hub;
  if (hub) {
    setText(el, `agent ${agentVersion(doc)}, hub ${hub}: upgrade it`);
    setAttr(el, 'title', 'Run `lookout-agent upgrade` on the VM, or set "auto_upgrade": true in its agent config');
  }
}

/** A definition list of facts; returns it and the <dd> of each key. */
function facts(cls, items) {
  const dl = h('dl', { class: cls });
  const dds = {};
  for (const [key, label, wide] of items) {
    dds[key] = h('dd', { class: `f-${key}` });
    dl.append(h('div', { class: wide ? 'wide' : null }, h('dt', { text: label }), dds[key]));
  }
  return [dl, dds];
}

const rebootLine = () => h('p', { class: 'reboot', hidden: true });
const forecastLine = () => h('p', { class: 'forecast', hidden: true });
const agentLine = () => h('p', { class: 'agent-outdated', hidden: true });

// MARK: overview

const cards = new Map();
const cardOf = new WeakMap();
/** Gauges are drawn for cards on or near the screen; the others when they scroll in. */
const onScreen = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const c = cardOf.get(e.target);
    if (!c) continue;
    c.visible = e.isIntersecting;
    if (c.visible) paintGauges([c.gauges]);
  }
  if (state.loaded && state.view.name === 'overview') markReady();
}, { rootMargin: '25% 0px' });

function makeCard(id) {
  const [dl, f] = facts('facts', [['load', 'Load', true], ['net', 'Network', true], ['uptime', 'Uptime'], ['swap', 'Swap'],
    ['containers', 'Containers'], ['checks', 'Checks'], ['seen', 'Last seen']]);
  f.gauges = makeGauges('gauges');
  f.badge = h('span', { class: 'badge' });
  f.problems = h('ul', { class: 'problems' });
  f.reboot = rebootLine();
  f.forecast = forecastLine();
  f.agent = agentLine();
  f.root = h('article', { class: 'card', 'data-vm': id },
    h('header', { class: 'card-head' }, h('h2', { class: 'vm-name' }, h('a', { class: 'card-link', href: vmHref(id), text: id })), f.badge),
    f.reboot, f.forecast, f.problems, f.gauges.root, dl, f.agent);
  cardOf.set(f.root, f);
  onScreen.observe(f.root);
  return f;
}

function renderOverview() {
  const grid = $('grid');
  const order = orderedVMs();
  for (const [id, c] of cards) {
    if (state.vms.has(id)) continue;
    onScreen.unobserve(c.root);
    c.root.remove();
    cards.delete(id);
  }
  const visible = [];
  for (const id of order) {
    if (!cards.has(id)) cards.set(id, makeCard(id));
    const c = cards.get(id);
    setAttr(c.root, 'data-status', fillFigures(c, id, state.vms.get(id)));
    setText(c.badge, badgeText(id));
    fillProblems(c.problems, problemsOf(id), 2);
    fillForecast(c.forecast, id);
    fillAgentLine(c.agent, state.vms.get(id));
    if (c.visible) visible.push(c.gauges);
  }
  // Cards move only when the order changed, so a refresh leaves the DOM alone.
  const now = [...grid.children].map((el) => el.dataset.vm);
  if (now.length !== order.length || now.some((id, i) => id !== order[i])) grid.append(...order.map((id) => cards.get(id).root));
  $('overview-empty').hidden = !state.loaded || state.vms.size > 0;
  setText($('ingest-url'), new URL(API + 'ingest', location.href).href);
  paintGauges(visible);
}

// MARK: detail

let detail = null;
const histories = new Map(); // `${vm}|${range}` → { at, stamp, series: { metric: points }, from, to }

function buildDetail(id) {
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
  // Sections a VM's document may lack are hidden until it has them.
  const optional = (key, title) => h('section', { class: `extra ${key}`, hidden: true }, h('h2', { text: title }), sections[key]);
  f.body = h('div', { hidden: true }, h('div', { class: 'detail-top' }, f.gauges.root, dl),
    optional('traffic', 'Traffic this month'),
    h('div', { class: 'section-head' }, h('h2', { text: 'History' }),
      h('div', { class: 'seg', role: 'group', 'aria-label': 'History range' }, f.ranges)),
    f.chartGrid,
    optional('filesystems', 'Filesystems'), optional('forecast', 'Disk forecast'), optional('interfaces', 'Network interfaces'), optional('temperatures', 'Temperatures'),
    h('h2', { text: 'Containers' }), f.containersWrap,
    h('h2', { text: 'Service checks' }), f.checksWrap);
  $('view-vm').replaceChildren(h('p', { class: 'crumbs' }, h('a', { href: '#overview', text: '← All VMs' })),
    f.head, f.reboot, f.forecast, f.meta, f.missing, f.problems, f.body);
  detail = f;
}

function renderDetail() {
  const { vm: id, range } = state.view;
  if (detail?.id !== id) buildDetail(id);
  const d = detail;
  const doc = state.vms.get(id);
  for (const b of d.ranges) setAttr(b, 'aria-pressed', String(b.dataset.range === range));
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

/** Replaces a block's content only when its data changed (and once a minute for ages). */
function fill(wrap, items, empty, build) {
  const sig = JSON.stringify(items) + Math.floor(Date.now() / 6e4);
  if (wrap.dataset.sig === sig) return;
  wrap.dataset.sig = sig;
  wrap.replaceChildren(...[].concat(items.length ? build(items) : h('p', { class: 'empty', text: empty })));
}

function fillContainers(wrap, items) {
  fill(wrap, items, 'No containers reported (no Docker on this VM, or none created).', () => table(
    ['Container', 'Status', 'CPU', 'Memory'], 'containers', [2, 3],
    [...items].sort((a, b) => (a.status === 'running') - (b.status === 'running') || str(a.name).localeCompare(str(b.name)))
      .map((x) => [h('span', { class: 'mono', text: str(x.name) }), pill(x.status === 'running' ? 'ok' : /^(restarting|dead)$/.test(x.status) ? 'critical' : 'warning', x.status),
        `${fmt(x.cpu_percent)} %`, `${fmt(x.memory_mb)} MB`])));
}

/** A table; `cols` are the headers, repeated as data-label for the narrow layout.
 * A row may carry `.level` (ok / warning / critical). */
function table(cols, cls, numeric, rows) {
  const td = (cell, i) => h('td', { 'data-label': cols[i], class: numeric.includes(i) ? 'n' : null }, cell);
  return h('table', { class: `data ${cls}` },
    h('thead', null, h('tr', null, cols.map((c, i) => h('th', { scope: 'col', class: numeric.includes(i) ? 'n' : null, text: c })))),
    h('tbody', null, rows.map((cells) => h('tr', { 'data-level': cells.level }, cells.map(td)))));
}

// MARK: system figures (filesystems, interfaces, temperatures)

/** Fills a VM view section and shows it only when there is something in it. */
function fillSection(wrap, items, build) {
  wrap.parentElement.hidden = !items.length;
  if (items.length) fill(wrap, items, '', build);
}

/** A percent bar with its figure, coloured by `lv`. */
const percentBar = (v, lv) => h('span', { class: 'pbar', 'data-level': lv },
  h('span', { class: 'pbar-track' }, h('span', { class: 'pbar-fill', style: `width: ${Math.min(100, Math.max(0, num(v) ?? 0))}%` })),
  h('span', { class: 'pbar-num', text: `${fmt(v)} %` }));

function fillSystemTables(sections, id, sys) {
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

// MARK: disk forecasts

const forecasts = { at: 0, rows: null }; // rows: vm_id → its rows of GET forecast; null: no such route or it failed
const FORECAST_REASONS = { too_few_points: 'under 12 hours of history', not_growing: 'not growing' };

/** `GET forecast` at most once a minute; a hub without the route (404) or a failing one shows no forecast. */
async function loadForecasts() {
  if (Date.now() - forecasts.at < 6e4) return;
  forecasts.at = Date.now();
  try {
    const body = await api('forecast', true);
    forecasts.rows = body ? new Map() : null;
    for (const r of list(body?.filesystems)) forecasts.rows.set(str(r.vm_id), [...(forecasts.rows.get(str(r.vm_id)) || []), r]);
  } catch (e) {
    if (e instanceof AuthError) return askToken(e);
    forecasts.rows = null;
  }
  for (const [id, c] of cards) fillForecast(c.forecast, id);
  renderForecasts();
  stats.forecastLoads = (stats.forecastLoads || 0) + 1;
}

const growth = (r) => (num(r.gb_per_day) != null ? `${r.gb_per_day > 0 ? '+' : ''}${fmt(r.gb_per_day)} GB/day`
  : num(r.percent_per_day) != null ? `${r.percent_per_day > 0 ? '+' : ''}${fmt(r.percent_per_day)} %/day` : '–');
const fullIn = (d) => (d < 1 ? 'within a day' : `in ~${Math.round(d)} day${Math.round(d) === 1 ? '' : 's'}`);

/** The filesystems whose forecast warns, soonest first: "disk / full in ~5 days (+2.1 GB/day)". */
function fillForecast(el, id) {
  const warn = (forecasts.rows?.get(id) || []).filter((r) => r.warning === true && num(r.days_left) != null)
    .sort((a, b) => a.days_left - b.days_left);
  el.hidden = !warn.length;
  if (warn.length) setText(el, warn.map((r) => `${str(r.path) === '/' ? 'disk /' : str(r.path)} full ${fullIn(r.days_left)} (${growth(r)})`).join(' · '));
}

/** The VM view's line and table: every filesystem's trend and projection, or why there is none;
 * no table while no filesystem has the 12 hours of history a trend needs (a new VM, a new hub). */
function renderForecasts() {
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

// MARK: traffic allowance

const traffic = { at: 0, rows: null }; // rows: vm_id → its row of GET traffic; null: no such route or it failed
const utcDay = timeFmt({ day: 'numeric', month: 'short', timeZone: 'UTC' });
const DIRECTIONS = { tx: 'sent', rx: 'received', both: 'sent and received' };

/** `GET traffic` at most once a minute; a hub without the route (404) or a failing one hides the section. */
async function loadTraffic() {
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

function renderTraffic() {
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
function allowanceBar(row, allowance, end) {
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

// MARK: extra charts

/** The extra series a VM has (`GET history/<vm>/series`), cached 5 min; null when the hub cannot say. */
const seriesLists = new Map();
async function loadSeriesList(vm) {
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
function seriesOfDoc(doc) {
  const sys = doc?.system || {};
  return [sys.network && ['net_rx', 'net_tx'], sys.disk_io && ['disk_read', 'disk_write', 'disk_util'], sys.swap && 'swap',
    list(sys.filesystems).map((x) => `fs:${str(x.path)}`), list(sys.temperatures).map((x) => `temp:${str(x.sensor)}`)].flat().filter(Boolean);
}

/** The charts beyond CPU, memory, disk and load that a VM's series call for. The root
 * filesystem has none of its own: it is the Disk chart. */
function extraSpecs(vm) {
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
function syncExtraCharts() {
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

// MARK: charts

function makeChart(spec) {
  const canvas = h('canvas', { tabindex: 0, role: 'img', 'aria-label': `${spec.title}: loading` });
  const readout = h('span', { class: 'readout' });
  const legend = spec.names && h('span', { class: 'legend' },
    spec.names.map((name, i) => h('span', { class: `key k${i % LINE_COLOURS}`, text: name })));
  const ch = {
    spec, canvas, readout, hover: null, data: null, drawn: '',
    root: h('figure', { class: 'chart', 'data-chart': spec.key },
      h('figcaption', null, h('span', { text: spec.title + (spec.unit ? ` (${spec.unit})` : '') }), legend, readout), canvas),
  };
  const pts = () => ch.main || [];
  const hover = (i) => {
    ch.hover = i;
    paintChart(ch);
  };
  canvas.addEventListener('pointermove', (ev) => {
    const g = ch.geom;
    const p = pts();
    if (!g || !p.length) return;
    const t = g.from + ((ev.offsetX - g.x0) / (g.x1 - g.x0)) * (g.to - g.from);
    let best = 0;
    for (let i = 1; i < p.length; i++) if (Math.abs(p[i].t - t) < Math.abs(p[best].t - t)) best = i;
    if (best !== ch.hover) hover(best);
  });
  canvas.addEventListener('pointerleave', () => hover(null));
  canvas.addEventListener('blur', () => hover(null));
  // The same readout from the keyboard: arrows (with Shift: 10 points), Home, End.
  canvas.addEventListener('keydown', (ev) => {
    const last = pts().length - 1;
    const cur = ch.hover ?? last;
    const step = ev.shiftKey ? 10 : 1;
    const next = { ArrowLeft: cur - step, ArrowRight: cur + step, Home: 0, End: last }[ev.key];
    if (next == null || last < 0) return;
    ev.preventDefault();
    hover(Math.max(0, Math.min(last, next)));
  });
  return ch;
}

async function loadHistory() {
  const { name, vm, range } = state.view;
  const doc = state.vms.get(vm);
  if (name !== 'vm' || !doc) return;
  const key = `${vm}|${range}`;
  const have = histories.get(key);
  try {
    await loadSeriesList(vm);
  } catch (e) {
    return askToken(e);
  }
  if (detail?.id !== vm) return;
  syncExtraCharts();
  const metrics = detail.charts.flatMap((c) => c.spec.metrics);
  if (!have || have.stamp !== doc.timestamp || Date.now() - have.at > 3e5 || metrics.some((m) => !have.series[m])) {
    const get = (m) => api(`history/${encodeURIComponent(vm)}?metric=${encodeURIComponent(m)}&range=${range}&points=300`);
    const base = CHARTS.flatMap((c) => c.metrics);
    let answers;
    try {
      // An extra series the hub does not know (an older hub answers 400) is an empty chart, not a failure.
      answers = await Promise.all([...base.map(get),
        ...metrics.slice(base.length).map((m) => get(m).catch((e) => (e instanceof AuthError ? Promise.reject(e) : null)))]);
    } catch (e) {
      if (e instanceof AuthError) askToken(e);
      return; // the next refresh reports an unreachable hub; the charts keep what they have
    }
    const series = {};
    let to = Math.max(...answers.map((a) => Date.parse(a?.to)).filter(Number.isFinite));
    let from = Math.min(...answers.map((a) => Date.parse(a?.from)).filter(Number.isFinite));
    answers.forEach((a, i) => {
      series[metrics[i]] = list(a?.points).map((p) => ({ t: Date.parse(p.t), min: num(p.min), avg: num(p.avg), max: num(p.max) }))
        .filter((p) => Number.isFinite(p.t) && p.avg != null).sort((x, y) => x.t - y.t);
    });
    if (!(from < to)) {
      to = hubNow();
      from = to - { '24h': 864e5, '7d': 6048e5, '30d': 2592e6 }[range];
    }
    histories.set(key, { at: Date.now(), stamp: doc.timestamp, series, from, to });
    if (histories.size > 12) histories.delete(histories.keys().next().value);
  }
  paintCharts();
}

function paintCharts() {
  if (!detail || state.view.name !== 'vm') return;
  const hist = histories.get(`${state.view.vm}|${state.view.range}`);
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
    ch.th = limit(state.view.vm, ...(ch.spec.th || [ch.spec.key]));
    ch.size = sizes[i];
    paintChart(ch);
  });
}

/** A round step (1, 2, 2.5, 5 × 10ⁿ) that cuts `range` into about `count` parts. */
function niceStep(range, count) {
  const raw = range / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10) * mag;
}

/** Ticks on whole local hours or days, at most `max` of them. */
function timeTicks(from, to, max) {
  const H = 36e5;
  const step = [1, 2, 3, 6, 12, 24, 48, 168, 336].find((s) => (to - from) / (s * H) <= max) || 672;
  const d = new Date(from);
  const ticks = [];
  if (step < 24) {
    d.setMinutes(0, 0, 0);
    while (d < from || d.getHours() % step) d.setHours(d.getHours() + 1);
    for (; d <= to; d.setHours(d.getHours() + step)) ticks.push([+d, clock.format(d)]);
  } else {
    d.setHours(24, 0, 0, 0);
    for (; d <= to; d.setDate(d.getDate() + step / 24)) ticks.push([+d, dayFmt.format(d)]);
  }
  return ticks;
}

function paintChart(ch) {
  const [w, hgt] = ch.size || [0, 0];
  const { spec, th, hover } = ch;
  const key = `${w}|${hgt}|${devicePixelRatio}|${colorsVersion}|${hover}|${th?.warning}|${th?.critical}`;
  if (!w || !hgt || ch.drawn === key) return;
  ch.drawn = key;
  const ctx = prepareCanvas(ch.canvas, w, hgt);
  const fs = Math.round(colors.fontPx * 0.8);
  ctx.font = `${fs}px ${colors.font}`;
  const series = ch.data || [];
  const main = ch.main || [];
  let top = spec.max;
  if (!top) {
    let m = Math.max(th?.critical || 0, spec.floor || 0.1);
    for (const s of series) for (const p of s.pts) m = Math.max(m, p.max ?? p.avg);
    const step = niceStep(m * 1.1, 4);
    top = Math.ceil((m * 1.1) / step) * step;
  }
  const label = spec.bytes ? rate : (v) => fmt(v, spec.unit ? 1 : 2);
  const unit = spec.unit ? ` ${spec.unit}` : '';
  const yStep = niceStep(top, Math.max(2, Math.min(5, Math.floor(hgt / (fs * 3)))));
  const yTicks = [];
  for (let v = 0; v <= top + 1e-9; v += yStep) yTicks.push(v);
  // Room for the widest label ("1.5 MB/s" is wider than the top's "2 MB/s").
  const x0 = Math.ceil(Math.max(...yTicks.map((v) => ctx.measureText(label(v)).width))) + 10;
  const x1 = w - 6;
  const y0 = fs * 0.8;
  const y1 = hgt - fs * 1.8;
  const { from, to } = ch.hist || { from: 0, to: 1 };
  ch.geom = { x0, x1, from, to };
  const X = (t) => x0 + ((t - from) / (to - from)) * (x1 - x0);
  const Y = (v) => y1 - (Math.min(Math.max(v, 0), top) / top) * (y1 - y0);
  const line = (xa, ya, xb, yb) => {
    ctx.beginPath();
    ctx.moveTo(xa, ya);
    ctx.lineTo(xb, yb);
    ctx.stroke();
  };
  // grid, y labels, time labels
  ctx.strokeStyle = colors.grid;
  ctx.fillStyle = colors.text;
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const v of yTicks) {
    const y = Math.round(Y(v)) + 0.5;
    line(x0, y, x1, y);
    ctx.fillText(label(v), x0 - 5, y);
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  if (ch.hist) {
    for (const [t, text] of timeTicks(from, to, Math.max(2, Math.floor((x1 - x0) / (fs * 6))))) {
      const x = Math.round(X(t)) + 0.5;
      line(x, y1, x, y1 + 4);
      ctx.fillText(text, Math.min(Math.max(x, x0 + 16), x1 - 16), y1 + 6);
    }
  }
  // thresholds as dashed lines, labelled on the right
  const limits = [['warning', colors.warning], ['critical', colors.critical]].filter(([n]) => num(th?.[n]) != null && th[n] <= top);
  ch.root.dataset.thresholds = limits.map(([n]) => `${n} ${label(th[n])}`).join(' · ');
  ctx.lineWidth = 1.5;
  ctx.setLineDash([6, 4]);
  for (const [n, color] of limits) {
    ctx.strokeStyle = color;
    line(x0, Math.round(Y(th[n])) + 0.5, x1, Math.round(Y(th[n])) + 0.5);
  }
  ctx.setLineDash([]);
  const labels = () => {
    ctx.textAlign = 'right';
    ctx.textBaseline = 'bottom';
    for (const [n, color] of limits) {
      const text = `${n} ${label(th[n])}${th.perCore ? ` (${th.perCore[n]} × ${th.cores} cores)` : ''}`;
      const tw = ctx.measureText(text).width;
      ctx.fillStyle = colors.bg;
      ctx.fillRect(x1 - tw - 6, Y(th[n]) - fs - 3, tw + 6, fs + 2);
      ctx.fillStyle = color;
      ctx.fillText(text, x1 - 3, Y(th[n]) - 2);
    }
  };
  if (!main.length) {
    labels();
    ctx.fillStyle = colors.text;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(ch.data ? `No history for the last ${RANGES[state.view.range]}` : 'Loading…', (x0 + x1) / 2, (y0 + y1) / 2);
    setAttr(ch.canvas, 'aria-label', `${spec.title}: ${ch.data ? 'no history in this range' : 'loading'}`);
    setText(ch.readout, '');
    ch.root.dataset.drawn = ch.data ? 'empty' : 'loading';
    return;
  }
  // Lines break where reports are missing (a gap of more than 3 buckets).
  const gap = Math.max((to - from) / 100, 3 * medianStep(main));
  const segments = (pts) => pts.reduce((out, p, i) => {
    if (i && p.t - pts[i - 1].t > gap) out.push([]);
    out[out.length - 1].push(p);
    return out;
  }, [[]]);
  const path = (seg, val, on) => seg.forEach((p, i) => ctx[i || on ? 'lineTo' : 'moveTo'](X(p.t), Y(val(p))));
  if (spec.max) {
    ctx.fillStyle = colors.band; // min…max of each bucket
    for (const seg of segments(main)) {
      ctx.beginPath();
      path(seg, (p) => p.max ?? p.avg);
      path([...seg].reverse(), (p) => p.min ?? p.avg, true);
      ctx.fill();
    }
  }
  const stroke = (pts) => {
    for (const seg of segments(pts)) {
      ctx.beginPath();
      path(seg, (p) => p.avg);
      if (seg.length === 1) ctx.arc(X(seg[0].t), Y(seg[0].avg), 1.5, 0, 7);
      ctx.stroke();
    }
  };
  ctx.lineJoin = 'round';
  ctx.lineWidth = series.length > 1 && !spec.max ? 1.75 : 1.25;
  for (let s = series.length - 1; s >= 0; s--) {
    if (s === ch.mainAt) continue;
    ctx.strokeStyle = colors.lines[s % LINE_COLOURS];
    stroke(series[s].pts);
  }
  ch.root.dataset.lines = String(series.filter((s) => s.pts.length).length);
  // The main line turns amber and red where it crosses the thresholds.
  ctx.lineWidth = 2;
  const warnY = num(th?.warning) != null ? Y(th.warning) : y0;
  const critY = num(th?.critical) != null ? Y(th.critical) : y0;
  for (const [ya, yb, color] of [[0, critY, colors.critical], [critY, warnY, colors.warning], [warnY, hgt, colors.lines[ch.mainAt % LINE_COLOURS]]]) {
    if (yb <= ya) continue;
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, ya, w, yb - ya);
    ctx.clip();
    ctx.strokeStyle = color;
    stroke(main);
    ctx.restore();
  }
  labels();
  const avg = main.reduce((a, p) => a + p.avg, 0) / main.length;
  const peak = Math.max(...main.map((p) => p.max ?? p.avg));
  const last = main[main.length - 1];
  // With several lines: the main one's average and peak, then every line's latest.
  const latest = spec.names ? lineReadings(series, spec, last.t, label, unit) : `${label(last.avg)}${unit}`;
  setAttr(ch.canvas, 'aria-label', `${spec.title} over the last ${RANGES[state.view.range]}: ${spec.names ? `${spec.names[ch.mainAt]} ` : ''}average ${label(avg)}${unit}, peak ${label(peak)}${unit}, latest ${latest}`);
  ch.root.dataset.drawn = 'true';
  const p = main[hover];
  if (p) {
    const x = Math.round(X(p.t)) + 0.5;
    ctx.strokeStyle = colors.fg;
    ctx.lineWidth = 1;
    line(x, y0, x, y1);
    ctx.fillStyle = colors.lines[ch.mainAt % LINE_COLOURS];
    ctx.beginPath();
    ctx.arc(x, Y(p.avg), 3.5, 0, 7);
    ctx.fill();
  }
  const at = p || main[main.length - 1];
  const reading = spec.names ? lineReadings(series, spec, at.t, label, unit)
    : `${label(at.avg)}${unit}${at.min != null && at.max != null && at.min !== at.max ? ` (${label(at.min)}–${label(at.max)})` : ''}`;
  setText(ch.readout, `${p ? `${when(p.t)}  ` : 'latest '}${reading}`);
}

/** Each line's value at `t` ("↓ received 1.2 MB/s · ↑ sent 80 KB/s"); with more than three
 * lines (sensors), the highest only. */
function lineReadings(series, spec, t, label, unit) {
  const at = series.map((s, i) => [spec.names[i], s.pts.find((q) => q.t === t)?.avg]);
  if (at.length <= 3) return at.map(([name, v]) => `${name} ${label(v)}${v == null ? '' : unit}`).join(' · ');
  const [name, v] = at.filter(([, x]) => x != null).sort((a, b) => b[1] - a[1])[0] || ['', null];
  return `highest ${label(v)}${unit} (${name})`;
}

function medianStep(pts) {
  const d = pts.slice(1).map((p, i) => p.t - pts[i].t).sort((a, b) => a - b);
  return d[d.length >> 1] || 0;
}

// MARK: services

/** A VM's certificate levels (`certificates` in its override, the config, else 14 / 3 days). */
function certLimit(vm) {
  const c = state.config;
  const o = c?.overrides && typeof c.overrides === 'object' && Object.hasOwn(c.overrides, vm) ? c.overrides[vm] : null;
  const t = [o?.certificates, c?.thresholds?.certificates].find((x) => x && typeof x === 'object');
  return { warning: num(t?.warning_days) ?? 14, critical: num(t?.critical_days) ?? 3 };
}

/** "23 days" (to the leaf's end, on the hub's clock) coloured as the cert alert would be; '–' without one. */
function certCell(s) {
  const end = Date.parse(s.cert_expires_at);
  if (!Number.isFinite(end)) return '–';
  const days = -sinceHub(s.cert_expires_at) / 86400;
  const th = certLimit(s.vm_id);
  const lv = days <= 0 || days <= th.critical ? 'critical' : days <= th.warning ? 'warning' : 'ok';
  const text = days <= 0 ? `expired ${dur(-days * 86400)} ago` : days < 1 ? `${dur(days * 86400)} left` : `${Math.floor(days)} day${Math.floor(days) === 1 ? '' : 's'} left`;
  const title = [s.cert_host && `host ${s.cert_host}`, s.cert_issuer && `issuer ${s.cert_issuer}`, `expires ${when(end)}`].filter(Boolean).join(' · ');
  return h('span', { title }, pill(lv, text));
}

function serviceTable(items, withVM) {
  const cols = ['Check', 'State', 'Response', 'In this state for', 'Checked'];
  const withCert = items.some((s) => s.cert_expires_at);
  if (withCert) cols.splice(3, 0, 'Certificate');
  if (withVM) cols.splice(1, 0, 'VM');
  const rows = [...items]
    .sort((a, b) => !!a.healthy - !!b.healthy || str(a.vm_id).localeCompare(str(b.vm_id)) || str(a.id).localeCompare(str(b.id)))
    .map((s) => {
      const since = Date.parse(s.since);
      const cells = [
        h('span', { class: 'svc' }, h('span', { class: 'mono', text: str(s.id) }), s.error && h('span', { class: 'svc-error', text: str(s.error) })),
        pill(s.healthy ? 'ok' : 'critical', s.healthy ? 'healthy' : 'failing'),
        num(s.response_ms) != null ? `${fmt(s.response_ms, 0)} ms` : '–',
        Number.isFinite(since) ? h('span', null, dur(sinceHub(s.since)), h('span', { class: 'muted', text: ` (since ${when(since)})` })) : '–',
        s.checked_at ? ago(sinceHub(s.checked_at)) : '–',
      ];
      if (withCert) cells.splice(3, 0, certCell(s));
      if (withVM) cells.splice(1, 0, vmLink(s.vm_id));
      cells.level = s.healthy ? 'ok' : 'critical';
      return cells;
    });
  return table(cols, 'services', [withVM ? 3 : 2], rows);
}

function renderServices() {
  const items = state.services;
  const failing = items.filter((s) => !s.healthy).length;
  const vms = new Set(items.map((s) => s.vm_id)).size;
  setText($('services-summary'), !state.loaded ? '' : `${items.length} check${items.length === 1 ? '' : 's'} on ${vms} VM${vms === 1 ? '' : 's'}`
    + (failing ? ` · ${failing} failing` : items.length ? ' · all healthy' : ''));
  fill($('services-body'), items, state.loaded
    ? 'No VM reports service checks. Add "services" to an agent config to check HTTP, TCP and TLS endpoints.' : 'Loading…',
  (l) => serviceTable(l, true));
}

// MARK: alerts

/** What an alert is about, as the hub's notices say it: "disk", "fs /srv/backup", "service admin". */
function alertWhat(a) {
  const k = str(a.kind);
  const m = str(a.metric);
  return k && m && k !== m && k !== 'threshold' ? `${k} ${m}` : m || k;
}

/** An alert's value or threshold in its unit: percent, load, °C, bytes of traffic, an uptime or age, days left. */
function alertValue(a, key) {
  const v = num(a[key]);
  // The kind says the unit (a sensor may be called "cpu"); older alerts have kind "threshold" and the metric.
  const k = a.kind && a.kind !== 'threshold' ? str(a.kind) : str(a.metric);
  if (v == null) return '–';
  if (k === 'stale' || k === 'reboot') return dur(v);
  if (k === 'traffic') return bytes(v);
  if (k === 'cert') return `${fmt(v)} days`;
  if (/^load/.test(k)) return fmtLoad(v);
  return `${fmt(v)}${['cpu', 'memory', 'disk', 'swap', 'disk_util', 'fs'].includes(k) ? ' %' : k === 'temperature' ? ' °C' : ''}`;
}

function renderAlerts() {
  const active = state.alerts;
  const crit = active.filter((a) => a.severity === 'critical').length;
  setText($('alerts-summary'), !state.loaded ? '' : active.length ? `${active.length} active · ${crit} critical · ${active.length - crit} warning` : 'No active alerts');
  fill($('alerts-body'), [active, state.resolved, state.silences], '', () => {
    const out = [];
    for (const sev of ['critical', 'warning']) {
      const group = active.filter((a) => (a.severity === 'critical') === (sev === 'critical'))
        .sort((a, b) => str(b.since).localeCompare(str(a.since)));
      if (!group.length) continue;
      out.push(h('h2', { class: 'sev-head', 'data-level': sev }, sev === 'critical' ? 'Critical ' : 'Warning ', h('span', { class: 'muted', text: `(${group.length})` })));
      out.push(table(['VM', 'What', 'Message', 'Value', 'Threshold', 'For', 'Last notified', 'Notices'], 'alerts', [3, 4], group.map((a) => {
        const since = Date.parse(a.since);
        const cells = [vmLink(a.vm_id), pill(sev, alertWhat(a)), str(a.message), alertValue(a, 'value'), alertValue(a, 'threshold'),
          Number.isFinite(since) ? h('span', { title: when(since) }, dur(sinceHub(a.since))) : '–',
          Number.isFinite(Date.parse(a.last_notified)) ? when(Date.parse(a.last_notified)) : 'not yet', silenceCell(a)];
        cells.level = sev;
        return cells;
      })));
    }
    if (!active.length) out.push(h('p', { class: 'empty all-clear', text: state.loaded ? 'No active alerts.' : 'Loading…' }));
    out.push(...silencesSection());
    const done = state.resolved || [];
    out.push(h('h2', { text: 'Recently resolved' }), !done.length ? h('p', { class: 'empty', text: 'No resolved alerts recorded.' })
      : table(['VM', 'What', 'Severity', 'Message', 'Opened', 'Resolved', 'Lasted'], 'resolved', [], done.map((a) => {
        const since = Date.parse(a.since);
        const end = Date.parse(a.resolved_at);
        return [vmLink(a.vm_id), alertWhat(a), pill(a.severity === 'critical' ? 'critical' : 'warning', a.severity), str(a.message),
          when(since), when(end), since < end ? dur((end - since) / 1000) : '–'];
      })));
    return out;
  });
}

// MARK: silences

function silenceCell(a) {
  const s = a.silenced;
  if (s?.until) return h('span', { class: 'silenced muted' }, `silenced until ${when(Date.parse(s.until))}`, s.reason ? ` · ${str(s.reason)}` : '');
  const k = str(a.kind);
  return h('button', { type: 'button', class: 'silence-action', text: 'Silence', onclick: () => askSilence(str(a.vm_id), k === a.metric || !a.metric ? k : `${k}/${str(a.metric)}`) });
}

function silencesSection() {
  const rows = state.silences;
  return [h('h2', { text: 'Silences' }), !rows.length ? h('p', { class: 'empty', text: 'No active silences.' }) : table(['VM', 'Alerts', 'Until', 'Reason', ''], 'silences', [],
      rows.map((s) => [str(s.vm), str(s.alert), when(Date.parse(s.ends_at)), str(s.reason),
        h('button', { type: 'button', class: 'silence-remove', text: 'Remove', onclick: () => removeSilence(str(s.id)) })]))];
}

async function send(method, path, body) {
  const t = storedToken();
  const headers = body ? { 'Content-Type': 'application/json' } : {};
  if (t) headers.Authorization = `Bearer ${t}`;
  const res = await fetch(API + path, { method, body: body && JSON.stringify(body), headers })
    .catch(() => { throw new Error('connection failed'); });
  if (!res.ok) throw new AuthError(res.status, await errorOf(res));
}

function askSilence(vm, alert) {
  $('silence-form')?.remove();
  const error = h('p', { class: 'token-error' });
  const dur = h('select', { id: 'silence-for' }, ['30m', '1h', '2h', '4h', '1d', '1w'].map((d) => h('option', { text: d, selected: d === '2h' })));
  const reason = h('input', { id: 'silence-reason', required: true });
  const form = h('form', { id: 'silence-form', class: 'token-form silence-form' },
    h('h2', { text: `Silence ${alert === 'all' ? 'every alert' : alert} on ${vm}` }), h('label', { for: 'silence-for', text: 'For' }), dur,
    h('label', { for: 'silence-reason', text: 'Reason' }), reason, h('div', { class: 'token-row' }, h('button', { type: 'submit', text: 'Silence' }),
      h('button', { type: 'button', text: 'Cancel', onclick: () => form.remove() })), error);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    send('POST', 'silences', { vm, alert, for: dur.value, reason: reason.value.trim() }).then(() => form.remove() || refresh(), (e) =>
      setText(error, `Not silenced: ${e.message}${e.status === 401 || e.status === 403 ? ' (needs the token)' : ''}`));
  });
  $('main').before(form);
  reason.focus();
}

function removeSilence(id) {
  send('DELETE', `silences/${encodeURIComponent(id)}`).catch((e) => alert(`Not removed: ${e.message}`)).then(refresh);
}

// MARK: - add a VM

/** The Add VM dialog: asks a vm_id, makes a one-time code (POST enrollments) and shows the
 *  command to run on the new VM, with a copy button. The code is shown once; the hub keeps
 *  only its hash. */
function askEnroll() {
  $('enroll-form')?.remove();
  const error = h('p', { class: 'token-error', role: 'alert' });
  const vm = h('input', { id: 'enroll-vm', required: true, maxlength: 64, spellcheck: 'false', placeholder: 'web-1' });
  const out = h('div', { class: 'enroll-result' });
  const submit = h('button', { type: 'submit', text: 'Make install command' });
  const form = h('form', { id: 'enroll-form', class: 'token-form enroll-form' },
    h('h2', { text: 'Add a VM' }),
    h('p', { text: 'Name the new VM; the hub makes a one-time code (valid 1 hour) and the command to run on the VM as root.' }),
    h('label', { for: 'enroll-vm', text: 'vm_id' }), vm,
    h('div', { class: 'token-row' }, submit, h('button', { type: 'button', text: 'Close', onclick: () => form.remove() })), error, out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    setText(error, '');
    submit.disabled = true;
    try {
      const t = storedToken();
      const res = await fetch(API + 'enrollments', {
        method: 'POST', body: JSON.stringify({ vm_id: vm.value.trim(), hub: location.origin }),
        headers: { 'Content-Type': 'application/json', ...(t && { Authorization: `Bearer ${t}` }) },
      }).catch(() => { throw new Error('connection failed'); });
      if (!res.ok) throw new Error(`${await errorOf(res)}${res.status === 401 || res.status === 403 ? ' (needs the main token)' : ''}`);
      const made = await res.json();
      const command = h('code', { id: 'enroll-command', class: 'enroll-command', text: str(made.command) });
      const copy = h('button', { type: 'button', id: 'enroll-copy', text: 'Copy' });
      copy.addEventListener('click', () => copyText(str(made.command), command).then((ok) => setText(copy, ok ? 'Copied' : 'Select and copy')));
      out.replaceChildren(h('p', { text: `Run this on ${str(made.vm_id)} (the code works once, until ${when(Date.parse(made.expires_at))}):` }),
        h('div', { class: 'token-row' }, command, copy),
        h('p', { class: 'muted', text: 'The VM appears on the overview after its first sample.' }));
    } catch (e) {
      setText(error, `No code made: ${e.message}`);
    } finally {
      submit.disabled = false;
    }
  });
  $('main').before(form);
  vm.focus();
}

/** Copies text; where the clipboard API is missing (plain http), selects the element instead. */
async function copyText(text, element) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    getSelection()?.selectAllChildren(element);
    return false;
  }
}

// MARK: - start

function repaint() {
  for (const c of cards.values()) c.gauges.drawn = '';
  if (detail) for (const x of [detail.gauges, ...detail.charts]) x.drawn = '';
  if (state.view.name === 'vm') render();
  else paintGauges([...cards.values()].filter((c) => c.visible).map((c) => c.gauges));
}

function start() {
  readColors();
  $('token-form').addEventListener('submit', submitToken);
  $('add-vm').addEventListener('click', askEnroll);
  addEventListener('hashchange', route);
  let frame = 0;
  addEventListener('resize', () => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(repaint);
  });
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    readColors();
    repaint();
    renderHeader();
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && !state.needToken && Date.now() - state.fetchedAt > REFRESH_S * 1000) refresh();
  });
  route();
  refresh();
}

start();
