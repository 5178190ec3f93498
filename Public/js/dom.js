// DOM helpers. Strings from the API reach the page only through textContent and setAttribute
// (h(), setText(), setAttr()), never through innerHTML.
import { str } from './format.js';

export const $ = (id) => document.getElementById(id);

/** An element. Props: class, text, on<event>; anything else is an attribute. */
export function h(tag, props, ...kids) {
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

export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

export function setAttr(el, name, value) {
  if (value == null) el.removeAttribute(name);
  else if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

export const pill = (lv, text) => h('span', { class: 'pill', 'data-level': lv, text: str(text) });

/** A definition list of facts; returns it and the <dd> of each key. */
export function facts(cls, items) {
  const dl = h('dl', { class: cls });
  const dds = {};
  for (const [key, label, wide] of items) {
    dds[key] = h('dd', { class: `f-${key}` });
    dl.append(h('div', { class: wide ? 'wide' : null }, h('dt', { text: label }), dds[key]));
  }
  return [dl, dds];
}

/** Replaces a block's content only when its data changed (and once a minute for ages). */
export function fill(wrap, items, empty, build) {
  const sig = JSON.stringify(items) + Math.floor(Date.now() / 6e4);
  if (wrap.dataset.sig === sig) return;
  wrap.dataset.sig = sig;
  wrap.replaceChildren(...[].concat(items.length ? build(items) : h('p', { class: 'empty', text: empty })));
}

/** A table; `cols` are the headers, repeated as data-label for the narrow layout.
 * A row may carry `.level` (ok / warning / critical). */
export function table(cols, cls, numeric, rows) {
  const td = (cell, i) => h('td', { 'data-label': cols[i], class: numeric.includes(i) ? 'n' : null }, cell);
  return h('table', { class: `data ${cls}` },
    h('thead', null, h('tr', null, cols.map((c, i) => h('th', { scope: 'col', class: numeric.includes(i) ? 'n' : null, text: c })))),
    h('tbody', null, rows.map((cells) => h('tr', { 'data-level': cells.level }, cells.map(td)))));
}
