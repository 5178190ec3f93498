// The alerts view (#alerts): active alerts by severity, silences, recently resolved.
import { askSilence, removeSilence } from './dialogs.js';
import { $, fill, h, pill, setText, table } from './dom.js';
import { bytes, dur, fmt, fmtLoad, num, str, when } from './format.js';
import { vmLink } from './router.js';
import { sinceHub, state } from './state.js';

/** What an alert is about, as the hub's notices say it: "disk", "fs /srv/backup", "service admin". */
export function alertWhat(a) {
  const k = str(a.kind);
  const m = str(a.metric);
  return k && m && k !== m && k !== 'threshold' ? `${k} ${m}` : m || k;
}

/** An alert's value or threshold in its unit: percent, load, °C, bytes of traffic, an uptime or age, days left. */
export function alertValue(a, key) {
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

export function renderAlerts() {
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

export function silenceCell(a) {
  const s = a.silenced;
  if (s?.until) return h('span', { class: 'silenced muted' }, `silenced until ${when(Date.parse(s.until))}`, s.reason ? ` · ${str(s.reason)}` : '');
  const k = str(a.kind);
  return h('button', { type: 'button', class: 'silence-action', text: 'Silence', onclick: () => askSilence(str(a.vm_id), k === a.metric || !a.metric ? k : `${k}/${str(a.metric)}`) });
}

export function silencesSection() {
  const rows = state.silences;
  return [h('h2', { text: 'Silences' }), !rows.length ? h('p', { class: 'empty', text: 'No active silences.' }) : table(['VM', 'Alerts', 'Until', 'Reason', ''], 'silences', [],
      rows.map((s) => [str(s.vm), str(s.alert), when(Date.parse(s.ends_at)), str(s.reason),
        h('button', { type: 'button', class: 'silence-remove', text: 'Remove', onclick: () => removeSilence(str(s.id)) })]))];
}
