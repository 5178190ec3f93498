// The entry of the dashboard (monitoring.html loads it): the refresh cycle and the start.
// Lookout's dashboard is vanilla JS in ES modules, no build step, no dependencies.
import { AuthError, REFRESH_S, api } from './api.js';
import { readColors } from './chart.js';
import { renderAlerts } from './alerts.js';
import { detail, loadHistory, loadTraffic, renderDetail, renderForecasts } from './detail.js';
import { askEnroll, askToken, submitToken } from './dialogs.js';
import { $, setText } from './dom.js';
import { list, str } from './format.js';
import { forgetGaugeSizes, paintGauges } from './gauges.js';
import { renderHeader } from './header.js';
import { cards, fillForecast, forecasts, renderOverview } from './overview.js';
import { registerViews, render, route } from './router.js';
import { renderServices } from './services.js';
import { markReady, state, stats } from './state.js';
import { renderTable } from './table.js';

let inflight = null;
let queued = null;
let timer = 0;

/** One refresh: fetch, then render. A call during a refresh asks for what the hub holds after
 * the call, which the running cycle may have fetched before it: one more cycle follows the
 * running one, and every call meanwhile shares that one. */
export function refresh() {
  if (inflight) {
    queued ||= inflight.catch(() => {}).then(() => {
      queued = null;
      return refresh();
    });
    return queued;
  }
  inflight = cycle().finally(() => {
    inflight = null;
    stats.refreshes++;
    schedule();
  });
  return inflight;
}
window.__lookoutRefresh = refresh;

export function schedule() {
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
    // The overview and the table show only what the core answers carry: drawn once a cycle.
    if (state.view.name !== 'overview' && state.view.name !== 'table') render();
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


function repaint() {
  forgetGaugeSizes();
  for (const c of cards.values()) c.gauges.drawn = '';
  if (detail) for (const x of [detail.gauges, ...detail.charts]) x.drawn = '';
  if (state.view.name === 'vm') render();
  else paintGauges([...cards.values()].filter((c) => c.visible).map((c) => c.gauges));
}

function start() {
  registerViews({
    overview: { render: renderOverview },
    table: { render: renderTable },
    vm: {
      render: renderDetail,
      enter: () => {
        loadHistory();
        loadTraffic();
      },
    },
    services: { render: renderServices },
    alerts: { render: renderAlerts },
  });
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
