// The dialogs: the access token form, the silence form and the Add VM dialog.
import { API, errorOf, send, storeToken, storedToken } from './api.js';
import { $, h, setText } from './dom.js';
import { str, when } from './format.js';
import { refresh, schedule } from './main.js';
import { state } from './state.js';

export function askToken(e) {
  state.needToken = true;
  schedule(); // stops the timer: no refresh while the token is missing
  const had = storedToken();
  setText($('token-error'), e.status === 403 || had ? `The hub refused ${had ? 'the saved token' : 'the token'}: ${e.message}` : '');
  $('token-form').hidden = false;
  $('main').hidden = true;
  setText($('updated'), 'Waiting for the access token');
  $('token-input').focus();
}

export function submitToken(ev) {
  ev.preventDefault();
  const token = $('token-input').value.trim();
  if (!token) return;
  storeToken(token);
  $('token-input').value = '';
  $('token-form').hidden = true;
  $('main').hidden = false;
  state.needToken = false;
  refresh();
}

export function askSilence(vm, alert) {
  $('silence-form')?.remove();
  const error = h('p', { class: 'token-error' });
  const dur = h('select', { id: 'silence-for' }, ['30m', '1h', '2h', '4h', '1d', '1w'].map((d) => h('option', { text: d, selected: d === '2h' })));
  const reason = h('input', { id: 'silence-reason', required: true });
  const form = h('form', { id: 'silence-form', class: 'token-form silence-form' },
    h('h2', { text: `Silence ${alert === 'all' ? 'every alert' : alert} on ${vm}` }), h('label', { for: 'silence-for', text: 'For' }), dur,
    h('label', { for: 'silence-reason', text: 'Reason' }), reason, h('div', { class: 'token-row' }, h('button', { type: 'submit', text: 'Silence' }),
      h('button', { type: 'button', text: 'Cancel', onclick: () => form.remove() })), error);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    send('POST', 'silences', { vm, alert, for: dur.value, reason: reason.value.trim() }).then(() => form.remove() || refresh(), (e) =>
      setText(error, `Not silenced: ${e.message}${e.status === 401 || e.status === 403 ? ' (needs the token)' : ''}`));
  });
  $('main').before(form);
  reason.focus();
}

export function removeSilence(id) {
  send('DELETE', `silences/${encodeURIComponent(id)}`).catch((e) => alert(`Not removed: ${e.message}`)).then(refresh);
}

/** The Add VM dialog: asks a vm_id, makes a one-time code (POST enrollments) and shows the
 *  command to run on the new VM, with a copy button. The code is shown once; the hub keeps
 *  only its hash. */
export function askEnroll() {
  $('enroll-form')?.remove();
  const error = h('p', { class: 'token-error', role: 'alert' });
  const vm = h('input', { id: 'enroll-vm', required: true, maxlength: 64, spellcheck: 'false', placeholder: 'web-1' });
  const out = h('div', { class: 'enroll-result' });
  const submit = h('button', { type: 'submit', text: 'Make install command' });
  const form = h('form', { id: 'enroll-form', class: 'token-form enroll-form' },
    h('h2', { text: 'Add a VM' }),
    h('p', { text: 'Name the new VM; the hub makes a one-time code (valid 1 hour) and the command to run on the VM as root.' }),
    h('label', { for: 'enroll-vm', text: 'vm_id' }), vm,
    h('div', { class: 'token-row' }, submit, h('button', { type: 'button', text: 'Close', onclick: () => form.remove() })), error, out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    setText(error, '');
    submit.disabled = true;
    try {
      const t = storedToken();
      const res = await fetch(API + 'enrollments', {
        method: 'POST', body: JSON.stringify({ vm_id: vm.value.trim(), hub: location.origin }),
        headers: { 'Content-Type': 'application/json', ...(t && { Authorization: `Bearer ${t}` }) },
      }).catch(() => { throw new Error('connection failed'); });
      if (!res.ok) throw new Error(`${await errorOf(res)}${res.status === 401 || res.status === 403 ? ' (needs the main token)' : ''}`);
      const made = await res.json();
      const command = h('code', { id: 'enroll-command', class: 'enroll-command', text: str(made.command) });
      const copy = h('button', { type: 'button', id: 'enroll-copy', text: 'Copy' });
      copy.addEventListener('click', () => copyText(str(made.command), command).then((ok) => setText(copy, ok ? 'Copied' : 'Select and copy')));
      out.replaceChildren(h('p', { text: `Run this on ${str(made.vm_id)} (the code works once, until ${when(Date.parse(made.expires_at))}):` }),
        h('div', { class: 'token-row' }, command, copy),
        h('p', { class: 'muted', text: 'The VM appears on the overview after its first sample.' }));
    } catch (e) {
      setText(error, `No code made: ${e.message}`);
    } finally {
      submit.disabled = false;
    }
  });
  $('main').before(form);
  vm.focus();
}

/** Copies text; where the clipboard API is missing (plain http), selects the element instead. */
export async function copyText(text, element) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    getSelection()?.selectAllChildren(element);
    return false;
  }
}
