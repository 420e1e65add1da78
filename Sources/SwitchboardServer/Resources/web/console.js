// The agent console: start a session on a queue, watch the batch's lines live, act on them.
import { api, get, el, ApiError, whoAmI, vocabulary, callIcons, outcomeIcons, activityLabel, activityIcons, statusLabel, duration, percent, phone,
  announce, toast, query } from './ui.js';
import { drawBatch as drawBatchPicture } from './batch-picture.js';
import { LiveFeed, ConnectionBadge, ServerClock } from './live.js';

const $ = (id) => document.getElementById(id);
const clock = new ServerClock();
const badge = new ConnectionBadge($('badge'));
const modeWords = { single: 'Single', parallel: 'Parallel (power dialer)' };
/** The server's vocabulary (dispositions in order, which call statuses are ended), once a session opens. */
let words = { dispositions: [], endedStatuses: new Set() };

/** What the page shows: the session, its latest batch and its queue, each as the server last said. */
const view = { session: null, sessionPosition: 0, group: null, queue: null, feed: null, groupTag: null,
  /** The last conversation not yet recorded ({ groupId, callId, who }): its panel stays up while the next batch dials. */
  conversation: null };

// MARK: - Home

async function showHome() {
  $('home').classList.remove('hidden');
  badge.set('standby');  // nothing followed yet: not an outage
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
  badge.onChange(() => render());
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
  noticeConversation(group);
}

/** A batch whose winner talked to the agent is the conversation to record until it has a disposition. */
function noticeConversation(group) {
  const winner = group.winner?.connectedAt && group.calls.find((c) => c.callId === group.winner.callId);
  if (winner && group.disposition === null && group.status === 'completed') {
    if (view.conversation?.callId !== winner.callId) {
      view.conversation = { groupId: group.groupId, callId: winner.callId, who: winner.name || phone(winner.to) };
    }
  } else if (view.conversation?.groupId === group.groupId && group.disposition !== null) {
    view.conversation = null;
  }
}

async function loadGroup() {
  const { currentGroupId, lastGroupId } = view.session;
  if (currentGroupId && lastGroupId && lastGroupId !== currentGroupId) {  // the conversation before it may want recording
    noticeConversation(await get(`/v1/calls/parallel/${encodeURIComponent(lastGroupId)}`));
  }
  const id = currentGroupId || lastGroupId;
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
  $('session-state').replaceChildren(activityLabel(s));
  // The tab says what the agent is doing, for an agent in another tab (the CRM) when someone answers.
  document.title = `${activityIcons[s.activity] ?? ''} ${s.activity}${s.activityNote ? ' (' + s.activityNote + ')' : ''} · ${s.agentId} · Switchboard`;
  $('session-mode').textContent = modeWords[s.mode];
  const g = view.group;
  $('profile-name').textContent = g ? g.profile : view.queue?.profile.name ?? '–';
  $('profile-reason').textContent = g?.profileReason ? `(${g.profileReason})` : view.queue ? `(${view.queue.profile.reason})` : '';
  $('lines-count').textContent = g ? String(g.fanout) : '–';
  $('lines-why').textContent = g ? `(${g.linesWhy ?? (s.mode === 'single' ? 'single mode' : `the ${g.profile} profile's`)})` : '';
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
  if (badge.offline) return;  // held until the server answers (the badge gives them back, then this runs)
  $('cancel').disabled = !g || !g.calls.some((c) => !isEnded(c) && c.outcome !== 'winner');
  $('pause').disabled = s.state !== 'active';
  $('resume').disabled = s.state !== 'paused';
  $('hangup').disabled = !(g && g.winner && g.calls.some((c) => c.callId === g.winner.callId && c.status === 'in-progress'));
  $('stop').disabled = ended;
  $('open-settings').disabled = ended;
  if (focusNext) keepFocus();
}

function isEnded(call) { return words.endedStatuses.has(call.status); }

/** "14:05 CST · tried twice before": the person's own clock (every zone the number may ring in) and
 *  how often they were called, before the agent says hello. */
function contactContext(call) {
  const now = new Date(clock.now());
  const local = call.timeZones.map((zone) => {
    try { return now.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', timeZone: zone, timeZoneName: 'short' }); } catch { return null; }
  }).filter(Boolean);
  const where = [...new Set(local)].join(' / ') || 'local time unknown';
  const tries = call.priorAttempts === 0 ? 'first try' : call.priorAttempts === 1 ? 'tried once before' : `tried ${call.priorAttempts} times before`;
  return `${where} · ${tries}`;
}

function renderLines() {
  const g = view.group;
  $('no-batch').classList.toggle('hidden', !!g);
  if (!g) { $('lines').tBodies[0].replaceChildren(); return; }
  const number = g.groupId === (view.session.currentGroupId || view.session.lastGroupId) ? ` ${view.session.stats.batches}` : '';
  $('batch-title').textContent = `Batch${number} · ${g.calls.length} line${g.calls.length === 1 ? '' : 's'} · stagger ${g.staggerMs} ms · ${g.status}`;
  $('batch-title').title = g.groupId;
  const rows = g.calls.map((call, index) => {
    const winner = g.winner?.callId === call.callId;
    return el('tr', { class: winner ? 'winner' : null, 'data-call-id': call.callId, 'data-status': call.status, 'data-outcome': call.outcome },
      el('td', { class: 'num' }, index + 1),
      el('td', {}, call.name || '(no name)', winner ? el('strong', {}, ' ★ winner') : null,
        el('div', { class: 'muted contact-context', 'data-prior-attempts': call.priorAttempts, 'data-zones': call.timeZones.join(' ') }, contactContext(call))),
      el('td', { class: 'tabular' }, phone(call.to)),
      el('td', { class: 'tabular optional' }, phone(call.callerId)),
      el('td', { class: 'call-status' }, statusLabel(callIcons, call.status, call.endReason && isEnded(call) ? call.endReason : null),
        winner && g.winner.connectedAt ? el('span', { class: 'clock tabular talk', 'data-from': g.winner.connectedAt, 'data-until': call.endedAt || '' }) : null),
      el('td', { class: 'num clock ring', 'data-dialed': call.dialedAt || '', 'data-until': call.answeredAt || call.endedAt || '' }),
      el('td', { class: 'optional' }, call.answeredBy ?? '–'),
      el('td', { class: 'call-outcome' }, statusLabel(outcomeIcons, call.outcome, call.abandoned ? 'abandoned' : null)));
  });
  $('lines').tBodies[0].replaceChildren(...rows);
  drawBatch(g);
}

/** The batch as a picture (batch-picture.js), live: a line still going runs to the server's now. */
function drawBatch(g) {
  const placed = g.calls.filter((c) => c.dialedAt);
  $('batch-figure').classList.toggle('hidden', !placed.length);
  if (!placed.length) return;
  drawBatchPicture(g, { picture: $('batch-picture'), caption: $('batch-caption'), now: clock.now(), ended: isEnded });
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
  for (const cell of document.querySelectorAll('span.talk')) {
    const until = cell.dataset.until;
    cell.textContent = ' ' + duration((until ? Date.parse(until) : clock.now()) - Date.parse(cell.dataset.from));
  }
  if (view.session) $('activity-clock').textContent = duration(clock.since(view.session.activitySince));
  $('next-step').textContent = nextStep();
  tickDisposition();
}

/** What the dialler does next and why, in one line (empty while a batch simply dials). */
function nextStep() {
  const s = view.session, g = liveGroup(), q = view.queue;
  if (!s || s.state === 'ended') return '';
  const ringing = g ? g.calls.filter((c) => c.dialedAt && !isEnded(c) && c.outcome !== 'winner').length : 0;
  if (s.state === 'paused') {
    return ringing ? `Paused after this batch: ${ringing} line${ringing === 1 ? '' : 's'} still ringing, and they can still connect.`
      : 'Paused: no new batch until you resume.';
  }
  if (g) return '';
  if (q?.state === 'waiting' && q.nextCallingHoursAt) {
    const at = new Date(q.nextCallingHoursAt);
    return `Waiting for calling hours: the next contact's window opens in ${duration(Date.parse(q.nextCallingHoursAt) - clock.now())}`
      + ` (${at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', timeZoneName: 'short' })}).`;
  }
  const next = s.nextBatch;
  if (next?.reason === 'cooldown' && next.at) {
    return `Next batch in ${Math.max(0, Math.ceil((Date.parse(next.at) - clock.now()) / 1000))} s (the pause after a batch nobody answered).`;
  }
  return '';
}

// MARK: - Disposition

/** How long a chosen outcome waits before it is sent: a stray key can be taken back (Esc). */
const undoWindowMs = 3000;
/** The outcome chosen and not sent yet: { outcome, due, timer }. */
let pending = null;

function dispositionTarget() {
  const wrapUp = view.session?.wrapUp;
  if (!wrapUp) return view.conversation;
  const call = view.group?.groupId === wrapUp.groupId ? view.group.calls.find((c) => c.callId === wrapUp.callId) : null;
  const who = call ? call.name || phone(call.to) : view.conversation?.callId === wrapUp.callId ? view.conversation.who : null;
  return { groupId: wrapUp.groupId, callId: wrapUp.callId, who };
}

function renderDisposition() {
  const target = dispositionTarget();
  $('disposition').classList.toggle('hidden', !target);
  if (!target) { takeBack(); return; }
  $('dispo-title').textContent = target.who ? `After the call with ${target.who}` : 'After the call';
  const buttons = $('dispo-outcomes');
  if (!buttons.children.length) {
    words.dispositions.forEach((outcome, index) => buttons.append(el('button', {
      type: 'button', class: 'needs-server', 'data-outcome': outcome, 'aria-keyshortcuts': String(index + 1),
      onclick: () => choose(outcome),
    }, el('span', { class: 'kbd' }, index + 1), ' ', outcome)));
  }
  tickDisposition();
}

/** What happens next, counted down on the server's clock. */
function tickDisposition() {
  if ($('disposition').classList.contains('hidden')) return;
  const next = view.session?.nextBatch;
  let text;
  if (liveGroup()) text = 'The next batch is dialling; this call can still be recorded.';
  else if (next?.reason === 'disposition') text = 'The next batch waits for your disposition.';
  else if (next?.reason === 'wrap-up' && next.at) {
    const seconds = Math.max(0, Math.ceil((Date.parse(next.at) - clock.now()) / 1000));
    text = `Next batch in ${seconds} s, or as soon as you record this call.`;
  } else if (view.session?.state === 'paused') text = 'Dialling is paused.';
  else text = '';
  $('dispo-next').textContent = text;
  if (pending) {
    const left = Math.max(0, Math.ceil((pending.due - Date.now()) / 1000));
    $('dispo-pending-text').textContent = `Recording “${pending.outcome}” in ${left} s`;
  }
}

/** An outcome chosen: sent after the undo window (a callback first asks when). */
function choose(outcome) {
  const target = dispositionTarget();
  if (!target || badge.offline) return;
  const callbackField = $('callback-field');
  if (outcome === 'callback' && callbackField.classList.contains('hidden')) {
    callbackField.classList.remove('hidden');
    $('callback-at').focus();
    return;
  }
  takeBack();
  pending = { outcome, due: Date.now() + undoWindowMs, timer: setTimeout(() => send(target, outcome), undoWindowMs) };
  $('dispo-pending').classList.remove('hidden');
  announce(`Recording ${outcome} in ${undoWindowMs / 1000} seconds; Escape takes it back`);
  tickDisposition();
  $('dispo-undo').focus();
}

/** The chosen outcome not sent after all. */
function takeBack() {
  if (!pending) return false;
  clearTimeout(pending.timer);
  pending = null;
  $('dispo-pending').classList.add('hidden');
  return true;
}

async function send(target, outcome) {
  takeBack();
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
    if (view.group?.groupId === target.groupId) view.group = { ...view.group, disposition: outcome };
    if (view.conversation?.callId === target.callId) view.conversation = null;
    $('dispo-notes').value = '';
    $('callback-field').classList.add('hidden');
    toast(`Recorded: ${outcome}`);
    render();
    $('pause').focus();
  } catch (error) {
    // Too late (a later conversation took its place, or it was recorded elsewhere): say so and let it go.
    if (error instanceof ApiError && error.status === 409 && view.conversation?.callId === target.callId) view.conversation = null;
    showProblems($('dispo-form'), error, $('dispo-problem'));
    render();
  }
}

// MARK: - Actions

/** One of the session's acts; then focus goes to `next` (the control that now makes sense), never to
 *  the page's start because the pressed button became disabled. */
async function act(path, success, next) {
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
  focusNext = next ?? null;
  keepFocus();
}

/** The control an act said comes next: focused once it is enabled (a cancel's pause arrives on the
 *  feed, perhaps after the answer), meanwhile a control that stays usable holds the focus. */
let focusNext = null;
function keepFocus() {
  const active = document.activeElement;
  // Only while the focus is where the act left it: never taken from a field the agent went to.
  if (!(active === document.body || active?.disabled || active === $('open-settings') || active?.closest?.('[role=toolbar]'))) {
    focusNext = null;
    return;
  }
  const target = focusNext && $(focusNext);
  if (target && !target.disabled) {
    target.focus();
    focusNext = null;
  } else if (active === document.body || active?.disabled) {
    $('open-settings').focus();
  }
}

function sessionPath(action) { return `/v1/sessions/${encodeURIComponent(view.session.sessionId)}/${action}`; }

function wireControls() {
  $('cancel').addEventListener('click', () => {
    const g = liveGroup();
    if (g) act(`/v1/calls/parallel/${encodeURIComponent(g.groupId)}/terminate`, 'Batch cancelled; dialling paused', 'resume');
  });
  $('pause').addEventListener('click', () => act(sessionPath('pause'), 'Paused', 'resume'));
  $('resume').addEventListener('click', () => act(sessionPath('resume'), 'Resumed', 'pause'));
  $('hangup').addEventListener('click', () => act(sessionPath('hangup'), 'Hung up', 'pause'));
  $('stop').addEventListener('click', () => {
    const ringing = liveGroup() ? ' Lines still ringing will end; a conversation goes on until it is hung up.' : '';
    if (confirm(`Stop this session? It cannot be resumed; a new session starts the queue again.${ringing}`)) {
      act(sessionPath('stop'), 'Session stopped', 'open-settings');
    }
  });
  $('open-settings').addEventListener('click', openSettings);
  $('close-settings').addEventListener('click', (event) => { event.preventDefault(); $('settings').close(); });
  $('settings-form').addEventListener('submit', saveSettings);
  $('dispo-undo').addEventListener('click', () => { takeBack(); toast('Taken back: nothing recorded'); });
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
      choose(words.dispositions[Number(event.key) - 1]);
    }
    const key = event.key.toLowerCase();
    if (!typing && !event.ctrlKey && !event.metaKey && !event.altKey && !$('settings').open && ['h', 'p', 'x'].includes(key)) {
      const button = key === 'h' ? $('hangup') : key === 'x' ? $('cancel') : $('pause').disabled ? $('resume') : $('pause');
      if (!button.disabled) {
        event.preventDefault();
        button.click();
      }
      return;
    }
    if (event.key === 'Escape' && pending && !$('settings').open) {
      event.preventDefault();
      takeBack();
      toast('Taken back: nothing recorded');
      $('dispo-outcomes').querySelector('button')?.focus();
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

/** The dialog's fields: the setting, and how the form shows it (seconds for times). */
const settingFields = [
  { name: 'maxLines', scale: 1 }, { name: 'staggerMs', scale: 1000 }, { name: 'wrapUpMs', scale: 1000 },
  { name: 'cooldownMs', scale: 1000 },
];
/** What the dialog showed when it opened: only fields changed from it are sent (the others stay as they are). */
let shownSettings = {};

function openSettings() {
  const s = view.session;
  showProblems($('settings-form'), null);
  $('set-parallel').checked = s.mode === 'parallel';
  shownSettings = {};
  for (const { name, scale } of settingFields) {
    const value = s.settings[name];
    const text = value === null || value === undefined ? '' : String(value / scale);
    $(`set-${name}`).value = text;
    shownSettings[name] = text;
  }
  $('set-requireDisposition').checked = !!s.settings.requireDisposition;
  $('settings').showModal();
}

async function saveSettings(event) {
  event.preventDefault();
  if (event.submitter?.value === 'cancel') { $('settings').close(); return; }
  const settings = {};
  const problems = [];
  for (const { name, scale } of settingFields) {
    const text = $(`set-${name}`).value.trim();
    if (text === shownSettings[name]) continue;
    if (text === '') { settings[name] = null; continue; }
    const number = Number(text);
    if (!Number.isFinite(number)) { problems.push({ field: name, message: 'is not a number' }); continue; }
    settings[name] = Math.round(number * scale);
  }
  if ($('set-requireDisposition').checked !== !!view.session.settings.requireDisposition) {
    settings.requireDisposition = $('set-requireDisposition').checked;
  }
  showProblems($('settings-form'), problems.length ? new ApiError(422, { error: { message: 'check the fields marked', fields: problems } }) : null, $('settings-problem'));
  if (problems.length) return;
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

/** The server's refusal beside the fields it names, in the form's words and units (the field marked
 *  `aria-invalid`), or in `general`; `null` clears them. */
function showProblems(form, error, general) {
  for (const node of form.querySelectorAll('.problem')) node.textContent = '';
  for (const node of form.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
  if (!error) return;
  const fields = error instanceof ApiError ? error.fields : [];
  let placed = false;
  for (const { field, message } of fields) {
    const slot = form.querySelector(`.problem[data-field="${CSS.escape(field)}"]`);
    if (!slot) continue;
    const input = slot.closest('.field')?.querySelector('input, select');
    const label = input && form.querySelector(`label[for="${CSS.escape(input.id)}"]`);
    const words = input?.dataset.unit === 's'
      ? message.replace(/-?\d+/g, (ms) => `${Number(ms) / 1000} s`) : message;
    slot.textContent = `${label ? label.textContent.replace(/\s*\(.*\)$/, '') : field} ${words}`;
    input?.setAttribute('aria-invalid', 'true');
    placed = true;
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
