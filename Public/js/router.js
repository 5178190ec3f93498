// Hash routes (#overview, #table, #services, #alerts, #vm/<id>[/<range>]) and the registry of views.
import { $, h, setAttr } from './dom.js';
import { str } from './format.js';
import { renderHeader } from './header.js';
import { state } from './state.js';

export const RANGES = { '1h': '1 h', '6h': '6 h', '24h': '24 h', '7d': '7 days', '30d': '30 days' };

export const vmHref = (vm, range) => `#vm/${encodeURIComponent(vm)}${range && range !== '24h' ? '/' + range : ''}`;
export const vmLink = (vm) => h('a', { href: vmHref(str(vm)), class: 'mono', text: str(vm) });

const scrolls = new Map();
/** The views by hash name: `render` draws it, `enter` (optional) runs when it is opened. */
const views = new Map();

/** Registers the views (main.js), so this module needs none of them. */
export function registerViews(list) {
  for (const [name, view] of Object.entries(list)) views.set(name, view);
}

export function parseHash() {
  const [name, id, range] = location.hash.replace(/^#\/?/, '').split('/');
  if (name === 'vm' && id) {
    let vm = id;
    try {
      vm = decodeURIComponent(id);
    } catch { /* keep it as typed */ }
    return { name, vm, range: Object.hasOwn(RANGES, range) ? range : '24h' };
  }
  return { name: ['table', 'services', 'alerts'].includes(name) ? name : 'overview', vm: '', range: '24h' };
}

export function route() {
  const next = parseHash();
  const key = (v) => (v.name === 'vm' ? `vm/${v.vm}` : v.name);
  const moved = key(next) !== key(state.view);
  if (moved) scrolls.set(key(state.view), scrollY);
  state.view = next;
  for (const name of ['overview', 'table', 'vm', 'services', 'alerts']) $(`view-${name}`).hidden = name !== next.name;
  for (const a of document.querySelectorAll('.tabs a')) setAttr(a, 'aria-current', a.dataset.view === next.name ? 'page' : null);
  render();
  views.get(next.name)?.enter?.();
  if (moved) scrollTo(0, scrolls.get(key(next)) || 0);
}

export function render() {
  renderHeader();
  views.get(state.view.name)?.render();
}
