// What every page shares besides the feed: calling the API, building elements, icons and words for
// statuses, durations, and the aria-live announcer.

/** A refused request: the server's status, code, message and (for a 422) the fields it names. */
export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || 'http-' + status;
    this.fields = error.fields || [];
  }
}

// MARK: - Signing in: the token lives in this tab's sessionStorage, never in a URL the server sees.

const tokenKey = 'switchboard.token';

/** A wallboard screen can be opened as `/supervisor#token=…`: the fragment never leaves the browser.
 *  Opened in a tab already on the page (only the fragment changes), the page starts again with it. */
function takeTokenFromFragment() {
  const match = /(?:^#|&)token=([0-9a-f]{64})(?:&|$)/.exec(location.hash);
  if (!match) return false;
  sessionStorage.setItem(tokenKey, match[1]);
  history.replaceState(null, '', location.pathname + location.search);
  return true;
}
takeTokenFromFragment();
addEventListener('hashchange', () => { if (takeTokenFromFragment()) location.reload(); });

export function token() { return sessionStorage.getItem(tokenKey); }

export function signOut() {
  sessionStorage.removeItem(tokenKey);
  location.reload();
}

/** Asks for a token (a modal form); the page reloads with it. */
export function showSignIn(reason = '') {
  if (document.getElementById('sign-in')) return;
  const input = el('input', { id: 'sign-in-token', type: 'password', autocomplete: 'off', required: true,
    pattern: '[0-9a-f]{64}', 'aria-describedby': 'sign-in-why' });
  const dialog = el('dialog', { id: 'sign-in', 'aria-labelledby': 'sign-in-title' },
    el('form', { method: 'dialog', onsubmit: (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!/^[0-9a-f]{64}$/.test(value)) { document.getElementById('sign-in-why').textContent = 'A token is 64 hex digits.'; return; }
      sessionStorage.setItem(tokenKey, value);
      location.reload();
    } },
    el('h2', { id: 'sign-in-title' }, 'Sign in'),
    el('p', { id: 'sign-in-why', class: 'muted' }, reason || 'Paste your Switchboard token (from your admin, or the file serve wrote).'),
    el('div', { class: 'field' }, el('label', { for: 'sign-in-token' }, 'Token'), input),
    el('button', { class: 'primary', type: 'submit' }, 'Sign in')));
  document.body.append(dialog);
  dialog.showModal();
  input.focus();
}

/** Who this token is (`/v1/me`, shown in the header), or the sign-in form when there is none or it no longer works. */
export async function whoAmI() {
  if (!token()) { showSignIn(); throw new ApiError(401, { error: { message: 'not signed in' } }); }
  const me = await get('/v1/me');
  const badge = document.getElementById('whoami');
  if (badge) badge.textContent = me.agentId ? `${me.role} · ${me.agentId}` : me.role;
  document.body.dataset.role = me.role;
  return me;
}

document.getElementById('sign-out')?.addEventListener('click', signOut);

/** Calls the API; resolves with the parsed body (or null), throws ApiError on a refusal. */
export async function api(method, path, body, headers = {}) {
  const init = { method, headers: { ...headers }, cache: 'no-store' };
  if (token()) init.headers.Authorization = `Bearer ${token()}`;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = response.status === 304 ? '' : await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (response.status === 401) showSignIn('That token does not work here (unknown, expired or revoked).');
  if (!response.ok && response.status !== 304) throw new ApiError(response.status, parsed);
  return { status: response.status, body: parsed, etag: response.headers.get('ETag'), headers: response.headers };
}

export async function get(path) { return (await api('GET', path)).body; }

/** Downloads `path` with this tab's token (a plain link would go without it and get 401): the body
 *  is saved as `filename`; a refusal throws ApiError, for the page to show. */
export async function download(path, filename) {
  const response = await fetch(path, { headers: token() ? { Authorization: `Bearer ${token()}` } : {}, cache: 'no-store' });
  if (!response.ok) {
    const text = await response.text();
    let parsed = null;
    try { parsed = text ? JSON.parse(text) : null; } catch { parsed = null; }
    if (response.status === 401) showSignIn('That token does not work here (unknown, expired or revoked).');
    throw new ApiError(response.status, parsed);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = el('a', { href: url, download: filename, class: 'hidden' });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

let vocabularyRequest = null;
/** The product's vocabulary as the server's domain defines it (`GET /v1/meta`), asked once a page
 *  load: the pages keep no copies of dispositions, ended statuses or call-ending events. */
export function vocabulary() {
  vocabularyRequest ??= get('/v1/meta').then((meta) => ({
    ...meta,
    endedStatuses: new Set(meta.callStatuses.filter((s) => s.ended).map((s) => s.status)),
    callEndingEvents: new Set(meta.callEndingEvents),
  })).catch((error) => { vocabularyRequest = null; throw error; });
  return vocabularyRequest;
}

/** `el('td', {class: 'num'}, '3')`: attributes, then children (strings become text, never HTML). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const callIcons = {
  dialing: '—', ringing: '📞', 'in-progress': '✅', completed: '☑', failed: '✖', terminated: '⏹', voicemail: '✉',
};
export const outcomeIcons = {
  pending: '…', winner: '★', terminated: '⏹', voicemail: '✉', 'no-answer': '∅', failed: '✖',
};
export const activityIcons = {
  dialling: '☎', ringing: '📞', talking: '✅', 'wrap-up': '📝', paused: '⏸', idle: '○', ended: '■',
};

/** An icon and a word, so a status reads without colour. */
export function statusLabel(icons, value, extra) {
  return el('span', { class: `status status-${value}` }, el('span', { 'aria-hidden': 'true' }, icons[value] || '•'), ' ',
    value + (extra ? ` (${extra})` : ''));
}

/** An agent's one activity, with what the session's state adds ("talking (paused after this)"): the
 *  same words on every page, never the session's state beside it. */
export function activityLabel(session) {
  return statusLabel(activityIcons, session.activity, session.activityNote);
}

/** 0:07, 4:10, 1:02:03. */
export function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  const seconds = Math.floor(ms / 1000);
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}` : `${m}:${String(s).padStart(2, '0')}`;
}

export function percent(rate) { return rate === null || rate === undefined ? '–' : (rate * 100).toFixed(1) + ' %'; }

/** +15125550142 → +1 512 555 0142. */
export function phone(e164) {
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164 || '');
  return m ? `+1 ${m[1]} ${m[2]} ${m[3]}` : e164 || '';
}

/** Says a status change to screen readers (the page has one `#announcer` aria-live region). */
export function announce(text) {
  const region = document.getElementById('announcer');
  if (region) region.textContent = text;
}

/** A short visible confirmation. */
export function toast(text) {
  const node = document.getElementById('toast');
  if (!node) return;
  node.textContent = text;
  clearTimeout(node.hideTimer);
  node.hideTimer = setTimeout(() => { node.textContent = ''; }, 3000);
}

export function query(name) { return new URLSearchParams(location.search).get(name); }
