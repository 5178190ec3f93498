// PURE: how numbers, bytes, rates, durations, times and releases read on the page.
// Touches no document, window or storage, so `node --test` imports it (tests/js/format.test.mjs).

export const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
export const list = (v) => (Array.isArray(v) ? v.filter((x) => x && typeof x === 'object') : []);
export const str = (v) => (v == null ? '' : String(v));

/** 23.456 → "23.5", 93 → "93", missing → "–". */
export function fmt(v, digits = 1) {
  return num(v) == null ? '–' : String(Math.round(v * 10 ** digits) / 10 ** digits);
}
export const fmtLoad = (v) => (num(v) == null ? '–' : v.toFixed(2));
export const loads = (l = {}) => `${fmtLoad(l['1m'])} · ${fmtLoad(l['5m'])} · ${fmtLoad(l['15m'])}`;

/** Seconds as "42 s", "12 min", "3 h 5 min", "4 d"; not a number → "–". */
export function dur(sec) {
  if (!Number.isFinite(sec)) return '–';
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
export function bytes(v, per = '') {
  if (num(v) == null) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  for (; Math.abs(v) >= 999.5 && i < units.length - 1; i++) v /= 1000;
  return `${i && v < 99.95 ? fmt(v) : Math.round(v)} ${units[i]}${per}`;
}
export const rate = (v) => bytes(v, '/s');
export const ago = (sec) => (!Number.isFinite(sec) ? '–' : sec < 10 ? 'just now' : `${dur(sec)} ago`);

export const timeFmt = (o) => new Intl.DateTimeFormat(undefined, { hourCycle: 'h23', ...o });
export const clock = timeFmt({ hour: '2-digit', minute: '2-digit' });
export const clockSec = timeFmt({ hour: '2-digit', minute: '2-digit', second: '2-digit' });
export const dayFmt = timeFmt({ day: 'numeric', month: 'short' });
export const dayTime = timeFmt({ day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
/** A time of day, with the date when it is more than 20 hours away from `now`. */
export const when = (ms, now = Date.now()) => (!Number.isFinite(ms) ? '–' : Math.abs(now - ms) < 72e6 ? clock.format(ms) : dayTime.format(ms));

/** The agent release of a document (`agent` is a string, or `{version}` from older agents). */
export const agentVersion = (doc) => str(typeof doc?.agent === 'string' ? doc.agent : doc?.agent?.version) || null;

/** The release an `agent` field names: "lookout-agent 0.1.2" → "0.1.2"; older agents sent
 * `{version}`; another agent's free text is kept whole. */
export function agentRelease(doc) {
  const a = agentVersion(doc);
  const m = a && /(?:^|\s)v?([0-9]+(?:\.[0-9]+)*\S*)$/.exec(a.trim());
  return m ? m[1] : a;
}

/** Release order as the agent's `upgrade` compares: dotted fields as numbers (0.1.10 > 0.1.9),
 * then a `~`/`-` pre-release before the plain number before a `+` rebuild. */
export function versionOrder(a, b) {
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

/** A day of the month in UTC, as traffic allowances and certificate ends count. */
export const utcDay = timeFmt({ day: 'numeric', month: 'short', timeZone: 'UTC' });
