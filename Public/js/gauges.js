// The CPU, memory and disk gauges of the cards and the VM view (one canvas per group).
import { colors, colorsVersion, prepareCanvas } from './chart.js';
import { h, setAttr, setText } from './dom.js';
import { fmt, num } from './format.js';
import { level } from './state.js';

export const GAUGES = [['cpu', 'CPU'], ['memory', 'Memory'], ['disk', 'Disk']];

/** CPU, memory and disk gauges: one canvas behind three labelled figures. */
export function makeGauges(cls) {
  const canvas = h('canvas');
  const gauges = GAUGES.map(([metric, label]) => {
    const value = h('span', { class: 'num' });
    const root = h('div', { class: 'gauge', 'data-metric': metric, role: 'img' },
      h('span', { class: 'gauge-value' }, value, h('span', { class: 'unit', text: '%' })), h('span', { class: 'gauge-label', text: label }));
    return { root, value, label, want: null };
  });
  return { canvas, gauges, drawn: '', root: h('div', { class: cls }, canvas, gauges.map((g) => g.root)) };
}

export function updateGauges(group, sys, th, stale) {
  group.gauges.forEach((g, i) => {
    const value = num(sys[GAUGES[i][0]]?.percent);
    const lv = stale ? 'stale' : level(value, th[GAUGES[i][0]]);
    setText(g.value, fmt(value));
    setAttr(g.root, 'data-level', lv);
    const note = stale ? ' (stale)' : lv === 'warning' || lv === 'critical' ? ` (${lv})` : '';
    setAttr(g.root, 'aria-label', `${g.label} ${value == null ? 'unknown' : fmt(value) + ' %'}${note}`);
    g.want = [value, lv, th[GAUGES[i][0]]];
  });
}

/** `--gauge` and `--ggap` in px per kind of gauge group (its class): they change only with the
 * window (rem follows its width; narrow screens have their own), see forgetGaugeSizes. */
const sizes = new Map();

/** After a resize: the next paint reads the sizes again. */
export const forgetGaugeSizes = () => sizes.clear();

/** Draws the gauge groups whose figures changed. Sizes come from the stylesheet (`--gauge`
 * and `--ggap` are registered lengths), so drawing never forces a layout; they are read once
 * and kept, as a read after the cycle's writes would force a style recalculation. */
export function paintGauges(groups) {
  if (!groups.length) return;
  const kind = groups[0].root.className;
  if (!sizes.has(kind)) {
    const cs = getComputedStyle(groups[0].root);
    const px = [parseFloat(cs.getPropertyValue('--gauge')), parseFloat(cs.getPropertyValue('--ggap')) || 0];
    // Not kept while the group is not rendered (a hidden view has no sizes yet).
    if (px[0]) sizes.set(kind, px);
    else return;
  }
  const [size, gap] = sizes.get(kind);
  for (const grp of groups) {
    const key = JSON.stringify([size, gap, devicePixelRatio, colorsVersion, grp.gauges.map((g) => g.want)]);
    if (!size || grp.drawn === key) continue;
    grp.drawn = key;
    const ctx = prepareCanvas(grp.canvas, 3 * size + 2 * gap, size);
    grp.gauges.forEach((g, i) => g.want && drawGauge(ctx, i * (size + gap) + size / 2, size, ...g.want));
  }
}

export function drawGauge(ctx, cx, size, value, lv, th) {
  const lw = Math.max(5, size * 0.11);
  const c = size / 2;
  const a0 = Math.PI * 0.75;
  const at = (v) => a0 + Math.PI * 1.5 * Math.min(1, Math.max(0, v / 100));
  const arc = (from, to, color, alpha = 1) => {
    ctx.globalAlpha = alpha;
    ctx.strokeStyle = color;
    ctx.beginPath();
    ctx.arc(cx, c, c - lw / 2 - 1, from, to);
    ctx.stroke();
  };
  ctx.lineWidth = lw;
  ctx.lineCap = 'butt';
  arc(a0, at(100), colors.track);
  // Faint amber and red on the track: where the thresholds are.
  if (th && lv !== 'stale' && num(th.warning) != null && num(th.critical) != null) {
    arc(at(th.warning), at(th.critical), colors.warning, 0.3);
    arc(at(th.critical), at(100), colors.critical, 0.3);
  }
  if (value != null) {
    ctx.lineCap = 'round';
    arc(a0, Math.max(at(value), a0 + 0.001), colors[lv] || colors.none);
  }
  ctx.globalAlpha = 1;
}
