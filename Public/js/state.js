// The shared state (latest documents, health, config), the figures tests read and the
// threshold helpers the cards, the VM view and the charts compare with.
import { num } from './format.js';

// The hub's defaults (it sends its own in GET config); temperatures have none (off unless set).
export const DEFAULT_TH = {
  cpu: { warning: 70, critical: 90 }, memory: { warning: 80, critical: 95 },
  disk: { warning: 80, critical: 90 }, load: { warning: 1.5, critical: 3, per_core: true },
  swap: { warning: 50, critical: 80 }, disk_util: { warning: 90, critical: 98 },
};

export const state = {
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
export const stats = { refreshes: 0, lastRenderMs: 0, trafficLoads: 0 };
window.__lookoutStats = stats;

export const hubNow = () => Date.now() + state.skew;
export const sinceHub = (iso) => (hubNow() - Date.parse(iso)) / 1000;

export function level(v, th) {
  if (num(v) == null || !th) return 'none';
  return v >= th.critical ? 'critical' : v >= th.warning ? 'warning' : 'ok';
}

/** A VM's threshold for the first of `keys` (cpu, swap, disk_util, temperature, fs:/path …)
 * that is set: in its override, the config's thresholds, then the defaults; null when none. */
export function limit(vm, ...keys) {
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
export function loadLimit(vm, t) {
  const cores = num(state.vms.get(vm)?.system?.cpu?.cores);
  if (t.per_core !== true || cores == null || cores < 1) return t;
  const scale = (v) => (num(v) == null ? v : v * cores);
  return { ...t, warning: scale(t.warning), critical: scale(t.critical), cores, perCore: t };
}

export const thresholdsFor = (vm) => Object.fromEntries(['cpu', 'memory', 'disk', 'load'].map((k) => [k, limit(vm, k)]));

/** Seconds since the VM's last document, counted on from the hub's last answer. */
export function ageOf(vm) {
  const hl = state.health.get(vm);
  if (num(hl?.age_seconds) != null) return hl.age_seconds + (Date.now() - state.fetchedAt) / 1000;
  return sinceHub(state.vms.get(vm)?.timestamp);
}

export const statusOf = (vm) => state.health.get(vm)?.status || 'unknown';

/** After the first full render: what scripts/bench-dashboard and the tests wait for. */
export function markReady() {
  if (state.ready) return;
  state.ready = true;
  performance.mark('lookout:cards-drawn');
  window.__lookoutReady = true;
}
