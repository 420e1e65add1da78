// The agent console: start a session on a queue, watch the batch's lines live, act on them.
import { api, get, el, ApiError, whoAmI, vocabulary, callIcons, outcomeIcons, activityIcons, statusLabel, duration, percent, phone,
  announce, toast, query } from './ui.js';
import { LiveFeed, ConnectionBadge, ServerClock } from './live.js';

const $ = (id) => document.getElementById(id);
const clock = new ServerClock();
const badge = new ConnectionBadge($('badge'));
const modeWords = { single: 'Single', parallel: 'Parallel (power dialer)' };
/** The server's vocabulary (dispositions in order, which call statuses are ended), once a session opens. */
let words = { dispositions: [], endedStatuses: new Set() };

/** What the page shows: the session, its latest batch and its queue, each as the server last said. */
const view = { session: null, sessionPosition: 0, group: null, queue: null, feed: null, groupTag: null };

// MARK: - Home

async function showHome() {
  $('home').classList.remove('hidden');
  badge.set('offline', 'no session open');
  const me = await whoAmI();
  if (me.role === 'agent') {  // an agent's token starts sessions for its own agent only
    $('agent').value = me.agentId;
    $('agent').readOnly = true;
  }
  const mine = me.role === 'agent' ? `&agent=${encodeURIComponent(me.agentId)}` : '';
  const [{ queues }, { sessions }] = await Promise.all([get('/v1/queues'), get(`/v1/sessions?limit=200${mine}`)]);
  const select = $('queue');
  select.replaceChildren(...queues.filter((q) => ['idle', 'active', 'paused'].includes(q.state)).map((q) =>
    el('option', { value: q.queueId }, `${q.name} — ${q.pending} pending · ${q.profile.name}`)));
  const hint = () => {
    const queue = queues.find((q) => q.queueId === select.value);
    $('queue-hint').textContent = queue ? `Would use ${queue.profile.name}: ${queue.profile.reason}` : 'No queue to work.';
  };
  select.addEventListener('change', hint);
  hint();
  const agents = [...new Set(sessions.map((s) => s.agentId))].sort();
  $('known-agents').replaceChildren(...agents.map((a) => el('option', { value: a })));
  const running = sessions.filter((s) => s.state !== 'ended');
  $('running').replaceChildren(...(running.length ? running.map((s) => el('li', {},
    el('a', { href: `/console?session=${encodeURIComponent(s.sessionId)}` }, `${s.agentId} · ${queueName(queues, s.queueId)} · ${s.state}`)))
    : [el('li', { class: 'muted' }, 'None.')]));
  $('start-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    showProblems($('start-form'), null);
    const form = new FormData($('start-form'));
    try {
      const { body } = await api('POST', '/v1/sessions', {
        agentId: form.get('agent').trim(), queueId: form.get('queue'), mode: form.get('mode'), profile: form.get('profile'),
      });
      history.pushState(null, '', `/console?session=${encodeURIComponent(body.sessionId)}`);
      $('home').classList.add('hidden');
      await openSession(body.sessionId);
    } catch (error) {
      showProblems($('start-form'), error, $('start-problem'));
    }
  });
}

function queueName(queues, id) { return queues.find((q) => q.queueId === id)?.name ?? id; }

// MARK: - A session

async function openSession(id) {
  await whoAmI();
  words = await vocabulary();
  $('work').classList.remove('hidden');
  const health = await clock.sync();
  applySession(await get(`/v1/sessions/${encodeURIComponent(id)}`), 0);
  await loadGroup();
  await loadQueue();
  render();
  view.feed = new LiveFeed({
    topics: `session:${id}`, after: health.position, badge,
    onEvent: noticeEvent,
    onState: (topic, state, position) => {
      if (topic.startsWith('session:')) applySession(state, position);
      else if (topic.startsWith('group:')) applyGroup(state);
      render();
    },
    resync: async () => { applySession(await get(`/v1/sessions/${encodeURIComponent(id)}`), 0); await loadGroup(); render(); },
    poll: pollOnce,
  }).start();
  setInterval(tick, 250);
}

function applySession(session, position) {
  if (position && position < view.sessionPosition) return;
  const before = view.session;
  view.session = session;
  view.sessionPosition = Math.max(view.sessionPosition, position);
  if (before && before.state !== session.state) announce(`Session ${session.state}`);
  if (before && before.mode !== session.mode) announce(`Calling mode ${modeWords[session.mode]}`);
}

/** The latest batch wins; within a batch, the newer version. */
function applyGroup(group) {
  const current = view.group;
  if (current && current.groupId === group.groupId && group.position < current.position) return;
  if (current && current.groupId !== group.groupId && group.position < current.position) return;
  view.group = group;
}

async function loadGroup() {
  const id = view.session.currentGroupId || view.session.lastGroupId;
  if (!id) return;
  const { body, etag } = await api('GET', `/v1/calls/parallel/${encodeURIComponent(id)}`);
  applyGroup(body);
  view.groupTag = { id, etag };
}

let queueTimer = null;
async function loadQueue() {
  const { queues } = await get('/v1/queues');
  view.queue = queues.find((q) => q.queueId === view.session.queueId) ?? null;
  renderQueue();
}

function refreshQueueSoon() {
  clearTimeout(queueTimer);
  queueTimer = setTimeout(() => loadQueue().catch(() => {}), 300);
}

/** Without a WebSocket: the session, and its batch with If-None-Match (304 while nothing changed). */
async function pollOnce() {
  applySession(await get(`/v1/sessions/${encodeURIComponent(view.session.sessionId)}`), 0);
  const id = view.session.currentGroupId || view.session.lastGroupId;
  if (id) {
    const headers = view.groupTag?.id === id && view.groupTag.etag ? { 'If-None-Match': view.groupTag.etag } : {};
    const response = await api('GET', `/v1/calls/parallel/${encodeURIComponent(id)}`, undefined, headers);
    if (response.status === 200) {
      applyGroup(response.body);
      view.groupTag = { id, etag: response.etag };
    }
  }
  render();
}

function noticeEvent(event) {
  const data = event.data || {};
  const call = view.group?.calls.find((c) => c.callId === data.callId);
  const who = call ? call.name || phone(call.to) : 'a contact';
  switch (event.type) {
    case 'batch.started': announce(`Dialling a new batch`); break;
    case 'call.connected': announce(`Connected to ${who}`); break;
    case 'batch.cancelled': announce('Batch cancelled; dialling paused'); break;
    case 'call.completed': announce(`Call with ${who} ended`); break;
    default: break;
  }
  if (event.type.startsWith('batch.') || event.type === 'call.dialed' || event.type === 'call.answered') refreshQueueSoon();
}

// MARK: - Rendering

function render() {
  const s = view.session;
  if (!s) return;
  $('agent-title').textContent = `${s.agentId}`;
  $('session-state').replaceChildren(statusLabel({ active: '▶', paused: '⏸', ended: '■' }, s.state));
  $('session-mode').textContent = modeWords[s.mode];
  $('activity').replaceChildren(statusLabel(activityIcons, s.activity));
  const g = view.group;
  $('profile-name').textContent = g ? g.profile : view.queue?.profile.name ?? '–';
  $('profile-reason').textContent = g?.profileReason ? `(${g.profileReason})` : view.queue ? `(${view.queue.profile.reason})` : '';
  $('s-dials').textContent = s.stats.dials;
  $('s-connects').textContent = s.stats.connects;
  $('s-talk').textContent = duration(s.stats.talkTimeMs);
  renderControls();
  renderLines();
  renderDisposition();
  tick();
}

function liveGroup() { return view.group && ['dialing', 'connected'].includes(view.group.status) ? view.group : null; }

function renderControls() {
  const s = view.session, g = liveGroup();
  const ended = s.state === 'ended';
  $('cancel').disabled = !g || !g.calls.some((c) => !isEnded(c) && c.outcome !== 'winner');
  $('pause').disabled = s.state !== 'active';
  $('resume').disabled = s.state !== 'paused';
  $('hangup').disabled = !(g && g.winner && g.calls.some((c) => c.callId === g.winner.callId && c.status === 'in-progress'));
  $('stop').disabled = ended;
  $('open-settings').disabled = ended;
}

function isEnded(call) { return words.endedStatuses.has(call.status); }

function renderLines() {
  const g = view.group;
  $('no-batch').classList.toggle('hidden', !!g);
  if (!g) { $('lines').tBodies[0].replaceChildren(); return; }
  $('batch-title').textContent = `Batch ${g.groupId} · ${g.calls.length} line${g.calls.length === 1 ? '' : 's'} · stagger ${g.staggerMs} ms · ${g.status}`;
  const rows = g.calls.map((call, index) => {
    const winner = g.winner?.callId === call.callId;
    return el('tr', { class: winner ? 'winner' : null, 'data-call-id': call.callId, 'data-status': call.status, 'data-outcome': call.outcome },
      el('td', { class: 'num' }, index + 1),
      el('td', {}, call.name || '(no name)', winner ? el('strong', {}, ' ★ winner') : null),
      el('td', { class: 'tabular' }, phone(call.to)),
      el('td', { class: 'tabular optional' }, phone(call.callerId)),
      el('td', { class: 'call-status' }, statusLabel(callIcons, call.status, call.endReason && isEnded(call) ? call.endReason : null)),
      el('td', { class: 'num clock ring', 'data-dialed': call.dialedAt || '', 'data-until': call.answeredAt || call.endedAt || '' }),
      el('td', { class: 'optional' }, call.answeredBy ?? '–'),
      el('td', { class: 'call-outcome' }, statusLabel(outcomeIcons, call.outcome, call.abandoned ? 'abandoned' : null)));
  });
  $('lines').tBodies[0].replaceChildren(...rows);
}

function renderQueue() {
  const q = view.queue;
  if (!q) return;
  $('queue-name').textContent = q.name;
  $('queue-pending').textContent = `(${q.pending} pending · ${q.state})`;
  $('q-pending').textContent = q.pending;
  $('q-dialled').textContent = q.dialedCalls;
  $('q-done').textContent = Math.max(0, q.contactCount - q.pending);
  $('q-answer').textContent = percent(q.answerRate);
  $('q-abandon').textContent = percent(q.abandonmentRate);
}

/** Ring timers and the activity clock, from server times corrected by the clock offset. */
function tick() {
  for (const cell of document.querySelectorAll('td.ring')) {
    const dialed = cell.dataset.dialed, until = cell.dataset.until;
    cell.textContent = dialed ? duration((until ? Date.parse(until) : clock.now()) - Date.parse(dialed)) : '–';
  }
  if (view.session) $('activity-clock').textContent = duration(clock.since(view.session.activitySince));
}

// MARK: - Disposition

function dispositionTarget() {
  const s = view.session, g = view.group;
  if (s?.wrapUp) return { callId: s.wrapUp.callId };
  if (g && g.winner && g.disposition === null && g.status === 'completed') return { callId: g.winner.callId };
  return null;
}

function renderDisposition() {
  const target = dispositionTarget();
  $('disposition').classList.toggle('hidden', !target);
  if (!target) return;
  const buttons = $('dispo-outcomes');
  if (!buttons.children.length) {
    words.dispositions.forEach((outcome, index) => buttons.append(el('button', {
      type: 'button', 'data-outcome': outcome, 'aria-keyshortcuts': String(index + 1),
      onclick: () => recordDisposition(outcome),
    }, el('span', { class: 'kbd' }, index + 1), ' ', outcome)));
  }
}

async function recordDisposition(outcome) {
  const target = dispositionTarget();
  if (!target) return;
  const callbackField = $('callback-field');
  if (outcome === 'callback' && callbackField.classList.contains('hidden')) {
    callbackField.classList.remove('hidden');
    $('callback-at').focus();
    return;
  }
  const body = { callId: target.callId, outcome };
  if ($('dispo-notes').value.trim()) body.notes = $('dispo-notes').value.trim();
  if (outcome === 'callback') {
    const when = Date.parse($('callback-at').value);
    body.callbackAt = Number.isFinite(when) ? new Date(when).toISOString() : $('callback-at').value;
  }
  showProblems($('dispo-form'), null);
  try {
    const { body: session } = await api('POST', `/v1/sessions/${encodeURIComponent(view.session.sessionId)}/disposition`, body);
    applySession(session, 0);
    if (view.group) view.group = { ...view.group, disposition: outcome };
    $('dispo-notes').value = '';
    callbackField.classList.add('hidden');
    toast(`Recorded: ${outcome}`);
    render();
  } catch (error) {
    showProblems($('dispo-form'), error, $('dispo-problem'));
  }
}

// MARK: - Actions

async function act(path, success) {
  $('action-problem').textContent = '';
  try {
    const { body } = await api('POST', path);
    if (body?.sessionId && body.agentId) applySession(body, 0);
    else if (body?.groupId) applyGroup(body);
    if (success) toast(success);
    render();
  } catch (error) {
    $('action-problem').textContent = error.message;
  }
}

function sessionPath(action) { return `/v1/sessions/${encodeURIComponent(view.session.sessionId)}/${action}`; }

function wireControls() {
  $('cancel').addEventListener('click', () => {
    const g = liveGroup();
    if (g) act(`/v1/calls/parallel/${encodeURIComponent(g.groupId)}/terminate`, 'Batch cancelled');
  });
  $('pause').addEventListener('click', () => act(sessionPath('pause'), 'Paused'));
  $('resume').addEventListener('click', () => act(sessionPath('resume'), 'Resumed'));
  $('hangup').addEventListener('click', () => act(sessionPath('hangup'), 'Hung up'));
  $('stop').addEventListener('click', () => act(sessionPath('stop'), 'Session stopped'));
  $('open-settings').addEventListener('click', openSettings);
  $('close-settings').addEventListener('click', (event) => { event.preventDefault(); $('settings').close(); });
  $('settings-form').addEventListener('submit', saveSettings);
  document.addEventListener('keydown', (event) => {
    // Ctrl+Shift+M (Cmd+Shift+M on a Mac) toggles single / parallel while the queue is active.
    if ((event.ctrlKey || event.metaKey) && event.shiftKey && event.key.toLowerCase() === 'm') {
      event.preventDefault();
      toggleMode();
      return;
    }
    const target = event.target;
    const typing = target instanceof HTMLInputElement || target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement;
    if (!typing && !event.ctrlKey && !event.metaKey && !event.altKey && /^[1-9]$/.test(event.key)
      && Number(event.key) <= words.dispositions.length && dispositionTarget()) {
      event.preventDefault();
      recordDisposition(words.dispositions[Number(event.key) - 1]);
    }
  });
}

async function toggleMode() {
  const s = view.session;
  if (!s || s.state === 'ended') return;
  const mode = s.mode === 'parallel' ? 'single' : 'parallel';
  try {
    const { body } = await api('PATCH', `/v1/sessions/${encodeURIComponent(s.sessionId)}`, { mode });
    applySession(body, 0);
    toast(`Calling mode: ${modeWords[body.mode]} (from the next batch)`);
    render();
  } catch (error) {
    toast(`Mode not changed: ${error.message}`);
  }
}

function openSettings() {
  const s = view.session;
  showProblems($('settings-form'), null);
  $('set-parallel').checked = s.mode === 'parallel';
  $('set-maxLines').value = s.settings.maxLines ?? view.group?.fanout ?? '';
  $('set-cooldownMs').value = s.settings.cooldownMs ?? '';
  $('set-staggerMs').value = s.settings.staggerMs ?? view.group?.staggerMs ?? '';
  $('settings').showModal();
}

async function saveSettings(event) {
  event.preventDefault();
  if (event.submitter?.value === 'cancel') { $('settings').close(); return; }
  const settings = {};
  for (const name of ['maxLines', 'cooldownMs', 'staggerMs']) {
    const text = $(`set-${name}`).value.trim();
    if (text !== '') settings[name] = Number.isFinite(Number(text)) ? Number(text) : text;
  }
  showProblems($('settings-form'), null);
  try {
    const { body } = await api('PATCH', `/v1/sessions/${encodeURIComponent(view.session.sessionId)}`,
      { mode: $('set-parallel').checked ? 'parallel' : 'single', settings });
    applySession(body, 0);
    $('settings').close();
    toast('Settings saved (from the next batch)');
    render();
  } catch (error) {
    showProblems($('settings-form'), error, $('settings-problem'));
  }
}

/** The server's refusal beside the fields it names (or in `general`); `null` clears them. */
function showProblems(form, error, general) {
  for (const node of form.querySelectorAll('.problem')) node.textContent = '';
  if (!error) return;
  const fields = error instanceof ApiError ? error.fields : [];
  let placed = false;
  for (const { field, message } of fields) {
    const slot = form.querySelector(`.problem[data-field="${CSS.escape(field)}"]`);
    if (slot) { slot.textContent = `${field} ${message}`; placed = true; }
  }
  if (!placed && general) general.textContent = error.message;
  announce(error.message);
}

// MARK: - Start

wireControls();
const sessionId = query('session');
(sessionId ? openSession(sessionId) : showHome()).catch((error) => {
  $('action-problem').textContent = error.message;
  $('home').classList.remove('hidden');
  $('start-problem').textContent = error.message;
});
