// The tab's favicon and title carry the fleet's state, so a background tab tells the story.
// `faviconFor` and `titleFor` are pure (node --test runs them); `showFleetInTab` sets them.

/** The light theme's status colours (style.css --ok, --warn, --crit, --stale): a tab strip
 * has its own background, so one set that reads on light and dark tabs. */
export const FAVICON_COLOURS = Object.freeze({ ok: '#1f9d55', warning: '#e09b00', critical: '#dc2626', unknown: '#7c8594' });

/** An SVG data URL: a disc in the state's colour with a white ring (it stands out on a dark
 * tab strip too), the same eye as icons/lookout.svg. A state it does not know is grey. */
export function faviconFor(status) {
  const fill = Object.hasOwn(FAVICON_COLOURS, status) ? FAVICON_COLOURS[status] : FAVICON_COLOURS.unknown;
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    + `<circle cx="16" cy="16" r="14.5" fill="${fill}" stroke="#fff" stroke-width="3"/>`
    + '<circle cx="16" cy="16" r="5" fill="#fff"/></svg>';
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

/** "(2) Lookout": how many VMs are not ok (warning, critical or stale; a VM the hub has not
 * judged yet is not counted); plain "Lookout" when none is; "Lookout (data is old)" when the
 * hub stopped answering, because then the count is not today's. */
export function titleFor(counts, old) {
  if (old) return 'Lookout (data is old)';
  const n = (counts?.warning || 0) + (counts?.critical || 0) + (counts?.stale || 0);
  return n ? `(${n}) Lookout` : 'Lookout';
}

let shownIcon = '';

/** Sets the title and the `<link rel="icon">` (only when they change, so a refresh that
 * changed nothing makes the browser fetch and decode nothing). */
export function showFleetInTab(status, counts, old) {
  const title = titleFor(counts, old);
  if (document.title !== title) document.title = title;
  const href = faviconFor(old ? 'unknown' : status);
  if (href === shownIcon) return;
  shownIcon = href;
  let link = document.querySelector('link[rel="icon"]');
  if (!link) {
    link = document.createElement('link');
    link.rel = 'icon';
    document.head.append(link);
  }
  link.type = 'image/svg+xml';
  link.href = href;
}
