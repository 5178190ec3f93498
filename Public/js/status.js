// Lookout public status page. Standalone: it asks the hub for `api/status` (relative, so the
// page works under a reverse-proxy sub-path) and nothing else: no token, no /api/monitoring.
// Every string from the API is set as text, never as HTML.

const REFRESH_MS = 60_000;

const STATE_TEXT = {
  operational: 'Operational',
  degraded: 'Degraded',
  outage: 'Outage',
  unknown: 'Unknown',
};

const BANNER_TEXT = {
  operational: 'All systems operational',
  degraded: 'Some systems degraded',
  outage: 'Outage in progress',
};

/** The colour class of a day's uptime percent: null is "no data". */
export function level(uptime) {
  if (uptime === null || uptime === undefined) return 'none';
  if (uptime >= 99.5) return 'up';
  if (uptime >= 95) return 'minor';
  return 'major';
}

/** "99.3% up" or "no data": the text alternative of one day's bar. */
export function dayText(day) {
  const value = day.uptime === null ? 'no data' : `${day.uptime}% up`;
  return `${day.day}: ${value}`;
}

/** A UTC time as "2025-12-09 10:30 UTC": the same for every visitor. */
export function utcText(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderEntry(entry) {
  const item = document.getElementById('entry-template').content.firstElementChild.cloneNode(true);
  item.querySelector('.entry-name').textContent = entry.name;
  item.querySelector('.entry-uptime').textContent =
    entry.uptime_90d === null ? 'no data yet' : `${entry.uptime_90d}% uptime (90 days)`;
  const state = item.querySelector('.entry-state');
  state.dataset.state = entry.state;
  state.textContent = STATE_TEXT[entry.state] || entry.state;
  const bars = item.querySelector('.bars');
  bars.setAttribute('aria-label', `${entry.name}: daily uptime, last ${entry.uptime.length} days`);
  for (const day of entry.uptime) {
    const bar = el('span', 'bar');
    bar.dataset.level = level(day.uptime);
    bar.setAttribute('role', 'listitem');
    const text = dayText(day);
    bar.title = text;
    bar.setAttribute('aria-label', text);
    bars.append(bar);
  }
  return item;
}

function render(status) {
  document.title = status.title;
  document.getElementById('title').textContent = status.title;
  const banner = document.getElementById('banner');
  banner.dataset.state = status.status;
  document.getElementById('banner-text').textContent = BANNER_TEXT[status.status] || status.status;
  document.getElementById('entries').replaceChildren(...status.entries.map(renderEntry));
  const incidents = status.incidents.map((incident) => {
    const item = el('li', 'incident');
    item.dataset.severity = incident.severity;
    item.append(
      el('span', 'incident-name', incident.name),
      el('span', 'incident-severity', incident.severity === 'critical' ? 'Critical' : 'Warning'),
      el('span', 'incident-since muted', `since ${utcText(incident.since)}`),
    );
    return item;
  });
  document.getElementById('incidents').replaceChildren(...incidents);
  document.getElementById('no-incidents').hidden = incidents.length > 0;
  const updated = document.getElementById('updated');
  updated.dateTime = status.updated_at;
  updated.textContent = utcText(status.updated_at);
  document.getElementById('error').hidden = true;
}

/** A request that has not answered in this long is given up (the next one starts a minute later). */
const TIMEOUT_MS = 10000;

async function refresh() {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  try {
    const response = await fetch('api/status', { headers: { Accept: 'application/json' }, cache: 'no-cache', signal: ctl.signal });
    const body = await response.json().catch(() => null);
    if (!response.ok || !body) throw new Error((body && body.error) || `HTTP ${response.status}`);
    render(body);
    if (!performance.getEntriesByName('status:rendered').length) performance.mark('status:rendered');
  } catch (error) {
    const box = document.getElementById('error');
    const reason = error.name === 'AbortError' ? `no answer within ${TIMEOUT_MS / 1000} s` : error.message;
    box.textContent = `The status could not be loaded: ${reason}. Retrying in a minute.`;
    box.hidden = false;
    // What the banner said is no longer known to hold: grey it rather than keep "operational".
    document.getElementById('banner').dataset.state = 'unknown';
    document.getElementById('banner-text').textContent = 'Status not known right now';
  } finally {
    clearTimeout(timer);
  }
}

if (typeof document !== 'undefined') {
  refresh();
  setInterval(refresh, REFRESH_MS);
}
