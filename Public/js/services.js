// The services view (#services) and the service-check tables of the VM view.
import { $, fill, h, pill, setText, table } from './dom.js';
import { ago, dur, fmt, num, str, when } from './format.js';
import { vmLink } from './router.js';
import { sinceHub, state } from './state.js';

/** A VM's certificate levels (`certificates` in its override, the config, else 14 / 3 days). */
export function certLimit(vm) {
  const c = state.config;
  const o = c?.overrides && typeof c.overrides === 'object' && Object.hasOwn(c.overrides, vm) ? c.overrides[vm] : null;
  const t = [o?.certificates, c?.thresholds?.certificates].find((x) => x && typeof x === 'object');
  return { warning: num(t?.warning_days) ?? 14, critical: num(t?.critical_days) ?? 3 };
}

/** "23 days" (to the leaf's end, on the hub's clock) coloured as the cert alert would be; '–' without one. */
export function certCell(s) {
  const end = Date.parse(s.cert_expires_at);
  if (!Number.isFinite(end)) return '–';
  const days = -sinceHub(s.cert_expires_at) / 86400;
  const th = certLimit(s.vm_id);
  const lv = days <= 0 || days <= th.critical ? 'critical' : days <= th.warning ? 'warning' : 'ok';
  const text = days <= 0 ? `expired ${dur(-days * 86400)} ago` : days < 1 ? `${dur(days * 86400)} left` : `${Math.floor(days)} day${Math.floor(days) === 1 ? '' : 's'} left`;
  const title = [s.cert_host && `host ${s.cert_host}`, s.cert_issuer && `issuer ${s.cert_issuer}`, `expires ${when(end)}`].filter(Boolean).join(' · ');
  return h('span', { title }, pill(lv, text));
}

export function serviceTable(items, withVM) {
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

export function renderServices() {
  const items = state.services;
  const failing = items.filter((s) => !s.healthy).length;
  const vms = new Set(items.map((s) => s.vm_id)).size;
  setText($('services-summary'), !state.loaded ? '' : `${items.length} check${items.length === 1 ? '' : 's'} on ${vms} VM${vms === 1 ? '' : 's'}`
    + (failing ? ` · ${failing} failing` : items.length ? ' · all healthy' : ''));
  fill($('services-body'), items, state.loaded
    ? 'No VM reports service checks. Add "services" to an agent config to check HTTP, TCP and TLS endpoints.' : 'Loading…',
  (l) => serviceTable(l, true));
}
