// The header: fleet dot and counts, updated time, alert badge, page title, banner.
import { REFRESH_S } from './api.js';
import { $, h, setAttr, setText } from './dom.js';
import { clock, clockSec, list } from './format.js';
import { state, statusOf } from './state.js';

export function renderHeader() {
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
