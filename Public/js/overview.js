// The overview: a card per VM, worst first, and what the cards share with the VM view.
import { API, AuthError, api } from './api.js';
import { colors, colorsVersion } from './chart.js';
import { askToken } from './dialogs.js';
import { $, facts, h, setAttr, setText } from './dom.js';
import { agentRelease, ago, dur, fmt, list, loads, num, rate, str, versionOrder } from './format.js';
import { makeGauges, paintGauges, updateGauges } from './gauges.js';
import { vmHref } from './router.js';
import { criticalFirst, orderVMs, reorderMoves } from './sort.js';
import { drawSparkline, sparkLabel } from './sparkline.js';
import { ageOf, level, limit, markReady, state, stats, statusOf, thresholdsFor } from './state.js';

/** Rebooted less than this long ago (seconds since boot): the card and VM view say so. */
export const REBOOT_FACT_S = 3600;

/** The cards' order: worst first, then by vm_id. */
export const orderedVMs = () => orderVMs(state.vms.keys(), statusOf);

export function badgeText(vm) {
  const s = statusOf(vm);
  return s === 'stale' ? `STALE — no report for ${dur(ageOf(vm))}` : s === 'unknown' ? 'NO STATUS' : s.toUpperCase();
}

/** The reasons behind a VM's state, critical first; the badge already says "stale". */
export const problemsOf = (vm) => list(state.health.get(vm)?.problems).filter((p) => p.kind !== 'stale')
  .sort(criticalFirst);

export function fillProblems(ul, problems, limit) {
  const shown = problems.slice(0, limit);
  const sig = JSON.stringify(shown.map((p) => [p.severity, p.message])) + problems.length;
  if (ul.dataset.sig === sig) return;
  ul.dataset.sig = sig;
  ul.replaceChildren(...shown.map((p) => h('li', { 'data-level': p.severity === 'critical' ? 'critical' : 'warning', text: str(p.message || p.kind) })));
  if (problems.length > limit) ul.append(h('li', { class: 'more', text: `+ ${problems.length - limit} more` }));
  ul.hidden = !problems.length;
}

/** Fills the figures a card and the detail view share. */
export function fillFigures(f, id, doc) {
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
export function optionalFact(dd, text, lv) {
  if (!dd) return;
  dd.parentElement.hidden = text == null;
  if (text != null) setText(dd, text);
  setAttr(dd, 'data-level', lv && lv !== 'ok' && lv !== 'none' ? lv : null);
}

export const netText = (n) => `${rate(n.rx_bytes_per_s)} ↓ ${rate(n.tx_bytes_per_s)} ↑`;

/** Network, swap and disk I/O, each only when the document carries it. */
export function fillExtraFacts(f, id, sys) {
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
export function sinceBoot(id, sys) {
  const up = num(sys.uptime?.seconds);
  const age = ageOf(id);
  return up == null ? null : up + (Number.isFinite(age) ? Math.max(0, age) : 0);
}

/** "rebooted 12 min ago" while the VM's uptime is short (REBOOT_FACT_S). */
export function fillReboot(el, id, sys) {
  const sec = sinceBoot(id, sys);
  el.hidden = sec == null || sec >= REBOOT_FACT_S;
  if (!el.hidden) setText(el, `rebooted ${dur(sec)} ago`);
}

/** The hub's release when the VM's agent is older than it (the hub's GET config `version`), else null. */
export function newerHub(doc) {
  // The release, not the field as sent: a real agent sends "lookout-agent 0.1.0".
  const agent = agentRelease(doc);
  const hub = str(state.config?.version);
  return agent && hub && versionOrder(agent, hub) < 0 ? hub : null;
}

/** The card's "agent 0.1.0, hub 0.1.2" line, shown only for an agent older than the hub. */
export function fillAgentLine(el, doc) {
  const hub = newerHub(doc);
  el.hidden = !hub;
  if (hub) {
    setText(el, `agent ${agentRelease(doc)}, hub ${hub}: upgrade it`);
    setAttr(el, 'title', 'Run `lookout-agent upgrade` on the VM, or set "auto_upgrade": true in its agent config');
  }
}

export const rebootLine = () => h('p', { class: 'reboot', hidden: true });
export const forecastLine = () => h('p', { class: 'forecast', hidden: true });
export const agentLine = () => h('p', { class: 'agent-outdated', hidden: true });

export const cards = new Map();
export const cardOf = new WeakMap();
/** Gauges are drawn for cards on or near the screen; the others when they scroll in. */
export const onScreen = new IntersectionObserver((entries) => {
  const shown = [];
  for (const e of entries) {
    const c = cardOf.get(e.target);
    if (!c) continue;
    c.visible = e.isIntersecting;
    if (c.visible) shown.push(c.gauges);
  }
  paintGauges(shown);
  paintVisibleSparks();
  if (state.loaded && state.view.name === 'overview') markReady();
}, { rootMargin: '25% 0px' });

/** The sparklines' CSS sizes, as layout last left them. Read from a ResizeObserver (told after
 * each layout), never from clientWidth: a read after the cycle's writes would force a layout,
 * one per card on screen (each card's content-visibility makes it its own), ~2 ms apiece. */
const sparkOf = new WeakMap();
const sparkSizes = new ResizeObserver((entries) => {
  const resized = new Set();
  for (const e of entries) {
    const hit = sparkOf.get(e.target);
    if (!hit) continue;
    const box = e.contentBoxSize?.[0];
    hit[1].w = box ? box.inlineSize : e.contentRect.width;
    hit[1].h = box ? box.blockSize : e.contentRect.height;
    resized.add(hit[0]);
  }
  for (const c of resized) if (c.visible) paintSparks(c);
  markSparks();
});

export function makeCard(id) {
  const [dl, f] = facts('facts', [['load', 'Load', true], ['net', 'Network', true], ['uptime', 'Uptime'], ['swap', 'Swap'],
    ['containers', 'Containers'], ['checks', 'Checks'], ['seen', 'Last seen']]);
  f.gauges = makeGauges('gauges');
  f.badge = h('span', { class: 'badge' });
  f.problems = h('ul', { class: 'problems' });
  f.reboot = rebootLine();
  f.forecast = forecastLine();
  f.agent = agentLine();
  f.sparks = SPARKS.map(([metric, title]) => {
    const canvas = h('canvas', { role: 'img', 'aria-label': `${title} last 24 h: loading` });
    return { metric, title, canvas, drawn: '', w: 0, h: 0, root: h('figure', { class: 'spark', 'data-metric': metric },
      h('figcaption', { text: `${title} 24 h` }), canvas) };
  });
  for (const s of f.sparks) {
    sparkOf.set(s.canvas, [f, s]);
    sparkSizes.observe(s.canvas);
  }
  f.sparksRoot = h('div', { class: 'sparks' }, f.sparks.map((s) => s.root));
  f.root = h('article', { class: 'card', 'data-vm': id },
    h('header', { class: 'card-head' }, h('h2', { class: 'vm-name' }, h('a', { class: 'card-link', href: vmHref(id), text: id })), f.badge),
    f.reboot, f.forecast, f.problems, f.gauges.root, f.sparksRoot, dl, f.agent);
  cardOf.set(f.root, f);
  onScreen.observe(f.root);
  return f;
}

export function renderOverview() {
  const grid = $('grid');
  const order = orderedVMs();
  for (const [id, c] of cards) {
    if (state.vms.has(id)) continue;
    onScreen.unobserve(c.root);
    for (const s of c.sparks) sparkSizes.unobserve(s.canvas);
    c.root.remove();
    cards.delete(id);
  }
  for (const id of order) {
    if (!cards.has(id)) cards.set(id, makeCard(id));
    const c = cards.get(id);
    setAttr(c.root, 'data-status', fillFigures(c, id, state.vms.get(id)));
    setText(c.badge, badgeText(id));
    fillProblems(c.problems, problemsOf(id), 2);
    fillForecast(c.forecast, id);
    fillAgentLine(c.agent, state.vms.get(id));
  }
  loadSparklines(order);
  // Only the cards whose place changed move, so a refresh leaves the DOM alone. A moved card
  // costs the next frames its style, layout and paint (with insertBefore, its content-visibility
  // starts afresh too). So a re-sort keeps still, first, the cards that land on screen (the
  // places the cards on screen hold now), then as many others as it can.
  const now = [...grid.children].map((el) => el.dataset.vm);
  const seen = now.flatMap((id, i) => (cards.get(id)?.visible ? [i] : []));
  const [first, last] = [seen[0], seen[seen.length - 1]];
  const landsOnScreen = (id, at) => (seen.length && at >= first && at <= last ? order.length + 1 : 1);
  for (const [id, before] of reorderMoves(now, order, landsOnScreen)) {
    const el = cards.get(id).root;
    const ref = before && cards.get(before).root;
    // moveBefore (where the browser has it) moves a card without taking it out of the page:
    // it keeps its content-visibility state and the focus; a new card is inserted.
    if (el.isConnected && grid.moveBefore) grid.moveBefore(el, ref);
    else grid.insertBefore(el, ref);
  }
  $('overview-empty').hidden = !state.loaded || state.vms.size > 0;
  setText($('ingest-url'), new URL(API + 'ingest', location.href).href);
  // The canvases painted now are those of the cards at the places on screen, after the moves
  // (not those that were on screen and moved away: drawn for nothing). A card that was on
  // screen and landed elsewhere is observed afresh, so the observer says where it is now
  // and paints it if it is still in view.
  const shown = seen.length ? order.slice(first, last + 1).map((id) => cards.get(id)) : [];
  const here = new Set(shown);
  for (const c of cards.values()) {
    if (!c.visible || here.has(c)) continue;
    onScreen.unobserve(c.root);
    onScreen.observe(c.root);
  }
  paintGauges(shown.map((c) => c.gauges));
  if (!sparklines.version) return;
  for (const c of shown) paintSparks(c);
  markSparks();
}

/** The sparklines on the cards: CPU and memory, 48 buckets of the last 24 h. */
const SPARKS = [['cpu', 'CPU'], ['memory', 'Memory']];
/** The fleet's sparklines (GET sparklines, ONE request for every card): `body` the answer
 * (null: none yet, or a hub without the route), `at` when it was asked, `version` bumped per answer. */
export const sparklines = { at: 0, body: null, version: 0, pending: null };
/** A new answer at most every 5 min (a bucket is 30 min), or after a minute for a VM the last one lacked. */
const SPARK_MAX_AGE_MS = 3e5;
const SPARK_NEW_VM_MS = 6e4;

export function loadSparklines(order) {
  const age = Date.now() - sparklines.at;
  const missing = sparklines.body && order.some((id) => !sparklines.body.vms?.[id]);
  if (sparklines.pending || (age < SPARK_MAX_AGE_MS && !(missing && age > SPARK_NEW_VM_MS))) return;
  sparklines.at = Date.now();
  sparklines.pending = api('sparklines?range=24h&points=48', true).then((body) => {
    sparklines.body = body && typeof body.vms === 'object' && body.vms ? body : null;
  }, (e) => {
    if (e instanceof AuthError) askToken(e);
  }).finally(() => {
    sparklines.pending = null;
    sparklines.version++;
    stats.sparklineLoads = (stats.sparklineLoads || 0) + 1;
    paintVisibleSparks();
  });
}

/** Paints the sparklines of the cards on screen (those whose size layout has told). */
function paintVisibleSparks() {
  if (!sparklines.version) return;
  for (const c of cards.values()) if (c.visible) paintSparks(c);
  markSparks();
}

let sparksMarked = false;
/** The first time a card on screen has its sparklines drawn (an answer and the canvases' sizes
 * both there), marks `lookout:sparks-drawn` (scripts/bench-dashboard's first render with them). */
function markSparks() {
  if (sparksMarked || !sparklines.version) return;
  for (const c of cards.values()) {
    if (c.visible && c.sparks.some((s) => s.drawn)) {
      sparksMarked = true;
      performance.mark('lookout:sparks-drawn');
      return;
    }
  }
}
// For scripts/bench-dashboard (a cycle that fetches them again) and the tests.
window.__lookoutSparks = sparklines;

/** Paints a card's sparklines when its size, the colours or the answer changed. */
export function paintSparks(c) {
  if (!sparklines.version) return;
  // A hub without the route (404) shows no sparklines at all.
  c.sparksRoot.hidden = !sparklines.body;
  const series = sparklines.body?.vms?.[c.root.dataset.vm];
  for (const s of c.sparks) {
    const w = s.w;
    const hgt = s.h;
    const key = `${w}|${hgt}|${devicePixelRatio}|${colorsVersion}|${sparklines.version}`;
    if (!w || !hgt || s.drawn === key) continue;
    s.drawn = key;
    const values = Array.isArray(series?.[s.metric]) ? series[s.metric] : [];
    const lines = drawSparkline(s.canvas, values, { width: w, height: hgt, dpr: devicePixelRatio || 1, color: colors.lines[0], fill: colors.band });
    setAttr(s.canvas, 'aria-label', sparkLabel(s.title, values));
    s.canvas.dataset.drawn = lines ? 'true' : 'empty';
  }
}

// Colours follow the scheme and pixels the zoom (sizes come from sparkSizes): repaint the
// sparklines on screen after either (a frame later, once main.js has read the new colours).
const repaintSparks = () => requestAnimationFrame(paintVisibleSparks);
addEventListener('resize', repaintSparks);
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', repaintSparks);

export const forecasts = { at: 0, rows: null }; // rows: vm_id → its rows of GET forecast; null: no such route or it failed
export const FORECAST_REASONS = { too_few_points: 'under 12 hours of history', not_growing: 'not growing' };

export const growth = (r) => (num(r.gb_per_day) != null ? `${r.gb_per_day > 0 ? '+' : ''}${fmt(r.gb_per_day)} GB/day`
  : num(r.percent_per_day) != null ? `${r.percent_per_day > 0 ? '+' : ''}${fmt(r.percent_per_day)} %/day` : '–');
export const fullIn = (d) => (d < 1 ? 'within a day' : `in ~${Math.round(d)} day${Math.round(d) === 1 ? '' : 's'}`);

/** The filesystems whose forecast warns, soonest first: "disk / full in ~5 days (+2.1 GB/day)". */
export function fillForecast(el, id) {
  const warn = (forecasts.rows?.get(id) || []).filter((r) => r.warning === true && num(r.days_left) != null)
    .sort((a, b) => a.days_left - b.days_left);
  el.hidden = !warn.length;
  if (warn.length) setText(el, warn.map((r) => `${str(r.path) === '/' ? 'disk /' : str(r.path)} full ${fullIn(r.days_left)} (${growth(r)})`).join(' · '));
}
