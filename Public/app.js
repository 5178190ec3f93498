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
const DEFAULT_TH = {
  cpu: { warning: 70, critical: 90 }, memory: { warning: 80, critical: 95 },
  disk: { warning: 80, critical: 90 }, load: { warning: 2, critical: 4 },
};
const GAUGES = [['cpu', 'CPU'], ['memory', 'Memory'], ['disk', 'Disk']];
const CHARTS = [
  { key: 'cpu', title: 'CPU', unit: '%', metrics: ['cpu'], max: 100 },
  { key: 'memory', title: 'Memory', unit: '%', metrics: ['memory'], max: 100 },
  { key: 'disk', title: 'Disk', unit: '%', metrics: ['disk'], max: 100 },
  { key: 'load', title: 'Load', unit: '', metrics: ['load5', 'load1', 'load15'] },
];
const LOAD_NAMES = { load1: '1 min', load5: '5 min', load15: '15 min' };

const state = {
  config: null, configAt: 0,
  vms: new Map(),        // vm_id → latest document
  health: new Map(),     // vm_id → its entry of /status
  services: [], alerts: [], resolved: null,
  fetchedAt: 0,          // Date.now() of the last complete answer
  skew: 0,               // hub clock − our clock, ms
  failingSince: 0, failure: '',
  loaded: false, needToken: false, ready: false,
  view: { name: 'overview', vm: '', range: '24h' },
};
const stats = { refreshes: 0, lastRenderMs: 0 };
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

function thresholdsFor(vm) {
  const c = state.config;
  const o = c?.overrides;
  return (o && typeof o === 'object' && Object.hasOwn(o, vm) && o[vm]) || c?.thresholds || DEFAULT_TH;
}

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
    lines: [v('--line'), v('--line2'), v('--line3')], band: v('--band'),
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
        headers: { Accept: 'application/json', ...(token && { Authorization: `Bearer ${token}` }) }, signal: ctl.signal, cache: 'no-store',
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
    api('alerts/history?limit=50', true).catch((e) => (e instanceof AuthError ? Promise.reject(e) : null))]);
  rest.catch(() => {});
  try {
    const t0 = performance.now();
    absorbCore(await core);
    render();
    const t1 = performance.now();
    const [services, alerts, resolved] = await rest;
    const t2 = performance.now();
    state.services = list(services?.services);
    state.alerts = list(alerts?.alerts);
    state.resolved = resolved && list(resolved.alerts);
    renderHeader();
    if (state.view.name !== 'overview') render();
    stats.lastRenderMs = t1 - t0 + performance.now() - t2;
    if (state.view.name === 'vm') await loadHistory();
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
  if (next.name === 'vm') loadHistory();
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
  return status;
}

/** A definition list of facts; returns it and the <dd> of each key. */
function facts(cls, items) {
  const dl = h('dl', { class: cls });
  const dds = {};
  for (const [key, label] of items) {
    dds[key] = h('dd', { class: `f-${key}` });
    dl.append(h('div', null, h('dt', { text: label }), dds[key]));
  }
  return [dl, dds];
}

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
  const [dl, f] = facts('facts', [['load', 'Load'], ['uptime', 'Uptime'], ['containers', 'Containers'], ['checks', 'Checks'], ['seen', 'Last seen']]);
  f.gauges = makeGauges('gauges');
  f.badge = h('span', { class: 'badge' });
  f.problems = h('ul', { class: 'problems' });
  f.root = h('article', { class: 'card', 'data-vm': id },
    h('header', { class: 'card-head' }, h('h2', { class: 'vm-name' }, h('a', { class: 'card-link', href: vmHref(id), text: id })), f.badge),
    f.problems, f.gauges.root, dl);
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
    ['memory', 'Memory'], ['disk', 'Disk'], ['containers', 'Containers'], ['checks', 'Checks'], ['seen', 'Last report']]);
  Object.assign(f, {
    id, gauges: makeGauges('gauges big'), badge: h('span', { class: 'badge' }), meta: h('p', { class: 'muted detail-meta' }),
    problems: h('ul', { class: 'problems' }), missing: h('p', { class: 'empty', hidden: true }),
    containersWrap: h('div', { class: 'table-wrap' }), checksWrap: h('div', { class: 'table-wrap' }),
    charts: CHARTS.map(makeChart),
    ranges: Object.entries(RANGES).map(([r, label]) => h('button', {
      type: 'button', 'data-range': r, text: label,
      onclick: () => {
        history.replaceState(null, '', vmHref(id, r));
        route();
      },
    })),
  });
  f.head = h('div', { class: 'detail-head' }, h('h1', { id: 'vm-title', text: id }), f.badge);
  f.body = h('div', { hidden: true }, h('div', { class: 'detail-top' }, f.gauges.root, dl),
    h('div', { class: 'section-head' }, h('h2', { text: 'History' }),
      h('div', { class: 'seg', role: 'group', 'aria-label': 'History range' }, f.ranges)),
    h('div', { class: 'charts' }, f.charts.map((c) => c.root)),
    h('h2', { text: 'Containers' }), f.containersWrap,
    h('h2', { text: 'Service checks' }), f.checksWrap);
  $('view-vm').replaceChildren(h('p', { class: 'crumbs' }, h('a', { href: '#overview', text: '← All VMs' })),
    f.head, f.meta, f.missing, f.problems, f.body);
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
  const agent = typeof doc.agent === 'string' ? doc.agent : doc.agent?.version;
  setText(d.meta, [`reported ${when(Date.parse(doc.timestamp))}`, num(doc.interval_seconds) && `every ${dur(doc.interval_seconds)}`,
    agent && `agent ${agent}`].filter(Boolean).join(' · '));
  setText(d.cores, str(num(sys.cpu?.cores) ?? '–'));
  setText(d.memory, `${fmt(sys.memory?.used_mb, 0)} of ${fmt(sys.memory?.total_mb, 0)} MB used`);
  const disk = sys.disk || {};
  setText(d.disk, `${fmt(disk.used_gb)} of ${fmt(disk.total_gb)} GB used${typeof disk.path === 'string' ? ` on ${disk.path}` : ''}`);
  fillContainers(d.containersWrap, list(doc.containers));
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

// MARK: charts

function makeChart(spec) {
  const canvas = h('canvas', { tabindex: 0, role: 'img', 'aria-label': `${spec.title}: loading` });
  const readout = h('span', { class: 'readout' });
  const legend = spec.key === 'load' && h('span', { class: 'legend' },
    spec.metrics.map((m, i) => h('span', { class: `key k${i}`, text: LOAD_NAMES[m] })));
  const ch = {
    spec, canvas, readout, hover: null, data: null, drawn: '',
    root: h('figure', { class: 'chart', 'data-chart': spec.key },
      h('figcaption', null, h('span', { text: spec.title + (spec.unit ? ` (${spec.unit})` : '') }), legend, readout), canvas),
  };
  const pts = () => ch.data?.[0].pts || [];
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
  if (!have || have.stamp !== doc.timestamp || Date.now() - have.at > 3e5) {
    const metrics = CHARTS.flatMap((c) => c.metrics);
    let answers;
    try {
      answers = await Promise.all(metrics.map((m) => api(`history/${encodeURIComponent(vm)}?metric=${m}&range=${range}&points=300`)));
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
  const th = thresholdsFor(state.view.vm);
  const sizes = detail.charts.map((ch) => [ch.canvas.clientWidth, ch.canvas.clientHeight]);
  detail.charts.forEach((ch, i) => {
    if (ch.hist !== hist || !hist) {
      ch.hist = hist;
      ch.data = hist && ch.spec.metrics.map((m) => ({ metric: m, pts: hist.series[m] || [] }));
      ch.hover = null;
      ch.drawn = '';
    }
    ch.th = th[ch.spec.key];
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
  const main = series[0]?.pts || [];
  let top = spec.max;
  if (!top) {
    let m = Math.max(th?.critical || 0, 0.1);
    for (const s of series) for (const p of s.pts) m = Math.max(m, p.max ?? p.avg);
    const step = niceStep(m * 1.1, 4);
    top = Math.ceil((m * 1.1) / step) * step;
  }
  const label = (v) => fmt(v, spec.unit ? 1 : 2);
  const unit = spec.unit ? ` ${spec.unit}` : '';
  const x0 = Math.ceil(ctx.measureText(label(top)).width) + 10;
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
  const yStep = niceStep(top, Math.max(2, Math.min(5, Math.floor(hgt / (fs * 3)))));
  for (let v = 0; v <= top + 1e-9; v += yStep) {
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
      const text = `${n} ${label(th[n])}`;
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
  ctx.lineWidth = 1.25;
  for (let s = series.length - 1; s > 0; s--) {
    ctx.strokeStyle = colors.lines[s];
    stroke(series[s].pts);
  }
  // The main line turns amber and red where it crosses the thresholds.
  ctx.lineWidth = 2;
  const warnY = num(th?.warning) != null ? Y(th.warning) : y0;
  const critY = num(th?.critical) != null ? Y(th.critical) : y0;
  for (const [ya, yb, color] of [[0, critY, colors.critical], [critY, warnY, colors.warning], [warnY, hgt, colors.lines[0]]]) {
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
  setAttr(ch.canvas, 'aria-label', `${spec.title} over the last ${RANGES[state.view.range]}: average ${label(avg)}${unit}, peak ${label(peak)}${unit}, latest ${label(main[main.length - 1].avg)}${unit}`);
  ch.root.dataset.drawn = 'true';
  const p = main[hover];
  if (p) {
    const x = Math.round(X(p.t)) + 0.5;
    ctx.strokeStyle = colors.fg;
    ctx.lineWidth = 1;
    line(x, y0, x, y1);
    ctx.fillStyle = colors.lines[0];
    ctx.beginPath();
    ctx.arc(x, Y(p.avg), 3.5, 0, 7);
    ctx.fill();
  }
  const at = p || main[main.length - 1];
  const reading = spec.key === 'load'
    ? series.map((s) => `${LOAD_NAMES[s.metric]} ${label(s.pts.find((q) => q.t === at.t)?.avg)}`).join(' · ')
    : `${label(at.avg)}${unit}${at.min != null && at.max != null && at.min !== at.max ? ` (${label(at.min)}–${label(at.max)})` : ''}`;
  setText(ch.readout, `${p ? `${when(p.t)}  ` : 'latest '}${reading}`);
}

function medianStep(pts) {
  const d = pts.slice(1).map((p, i) => p.t - pts[i].t).sort((a, b) => a - b);
  return d[d.length >> 1] || 0;
}

// MARK: services

function serviceTable(items, withVM) {
  const cols = ['Check', 'State', 'Response', 'In this state for', 'Checked'];
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
    ? 'No VM reports service checks. Add "services" to an agent config to check HTTP and TCP endpoints.' : 'Loading…',
  (l) => serviceTable(l, true));
}

// MARK: alerts

function alertValue(a, key) {
  const m = str(a.metric || a.kind);
  const v = num(a[key]);
  return v == null ? '–' : m === 'stale' ? dur(v) : /load/.test(m) ? fmtLoad(v) : `${fmt(v)}${['cpu', 'memory', 'disk'].includes(m) ? ' %' : ''}`;
}

function renderAlerts() {
  const active = state.alerts;
  const crit = active.filter((a) => a.severity === 'critical').length;
  setText($('alerts-summary'), !state.loaded ? '' : active.length ? `${active.length} active · ${crit} critical · ${active.length - crit} warning` : 'No active alerts');
  fill($('alerts-body'), [active, state.resolved], '', () => {
    const out = [];
    for (const sev of ['critical', 'warning']) {
      const group = active.filter((a) => (a.severity === 'critical') === (sev === 'critical'))
        .sort((a, b) => str(b.since).localeCompare(str(a.since)));
      if (!group.length) continue;
      out.push(h('h2', { class: 'sev-head', 'data-level': sev }, sev === 'critical' ? 'Critical ' : 'Warning ', h('span', { class: 'muted', text: `(${group.length})` })));
      out.push(table(['VM', 'What', 'Message', 'Value', 'Threshold', 'For', 'Last notified'], 'alerts', [3, 4], group.map((a) => {
        const since = Date.parse(a.since);
        const cells = [vmLink(a.vm_id), pill(sev, a.metric || a.kind), str(a.message), alertValue(a, 'value'), alertValue(a, 'threshold'),
          Number.isFinite(since) ? h('span', { title: when(since) }, dur(sinceHub(a.since))) : '–',
          Number.isFinite(Date.parse(a.last_notified)) ? when(Date.parse(a.last_notified)) : 'not yet'];
        cells.level = sev;
        return cells;
      })));
    }
    if (!active.length) out.push(h('p', { class: 'empty all-clear', text: state.loaded ? 'No active alerts.' : 'Loading…' }));
    const done = state.resolved || [];
    out.push(h('h2', { text: 'Recently resolved' }), !done.length ? h('p', { class: 'empty', text: 'No resolved alerts recorded.' })
      : table(['VM', 'What', 'Severity', 'Message', 'Opened', 'Resolved', 'Lasted'], 'resolved', [], done.map((a) => {
        const since = Date.parse(a.since);
        const end = Date.parse(a.resolved_at);
        return [vmLink(a.vm_id), str(a.metric || a.kind), pill(a.severity === 'critical' ? 'critical' : 'warning', a.severity), str(a.message),
          when(since), when(end), since < end ? dur((end - since) / 1000) : '–'];
      })));
    return out;
  });
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
