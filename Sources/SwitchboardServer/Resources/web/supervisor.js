// The supervisor wall: a row per agent, a row per queue, floor totals; live over the feed (topics `all`).
// Applying each feed message is measured (`performance.measure('apply')`): the wall must stay smooth
// with hundreds of agents.
import { api, get, el, whoAmI, activityLabel, statusLabel, duration, percent, phone, announce, toast, query } from './ui.js';
import { LiveFeed, ConnectionBadge, ServerClock } from './live.js';

const $ = (id) => document.getElementById(id);
const clock = new ServerClock();
const badge = new ConnectionBadge($('badge'));
/** Time in state (ms) from which a state turns amber, then red. */
const thresholds = {
  dialling: [10000, 30000], ringing: [20000, 45000], talking: [300000, 600000], 'wrap-up': [60000, 180000],
  paused: [300000, 900000], idle: [60000, 300000],
};

/** Sessions by id (each with its latest batch); queues by id; one table row per agent. */
const sessions = new Map();
const queues = new Map();
const agentRows = new Map();
let filter = query('queue') || '';
let stateFilter = query('state') || '';
let sortBy = query('sort') || 'agent';
/** agent-7 before agent-10: agent ids compare as people read them. */
const natural = new Intl.Collator(undefined, { numeric: true }).compare;
/** By state: who needs a look first. */
const stateOrder = ['talking', 'ringing', 'dialling', 'wrap-up', 'paused', 'idle', 'ended'];

function today() { return new Date(clock.now()).toISOString().slice(0, 10); }

// MARK: - The model

function putSession(session, group) {
  const entry = sessions.get(session.sessionId) ?? { session, group: null };
  entry.session = session;
  if (group !== undefined) entry.group = group;
  sessions.set(session.sessionId, entry);
  return entry;
}

function putGroup(group) {
  const entry = sessions.get(group.sessionId);
  if (!entry) return null;
  const current = entry.group;
  if (current && current.groupId === group.groupId && group.position < current.position) return null;
  if (current && current.groupId !== group.groupId && group.position < current.position) return null;
  entry.group = group;
  return entry;
}

/** The agent's session the wall shows: the newest one still open, else the newest. */
function currentSession(agentId) {
  let best = null;
  for (const entry of sessions.values()) {
    if (entry.session.agentId !== agentId) continue;
    const s = entry.session;
    const better = !best || (best.session.state === 'ended' && s.state !== 'ended')
      || ((best.session.state === 'ended') === (s.state === 'ended') && s.startedAt > best.session.startedAt);
    if (better) best = entry;
  }
  return best;
}

function agentToday(agentId) {
  const day = today();
  const totals = { dials: 0, connects: 0, talk: 0, abandoned: 0 };
  for (const { session } of sessions.values()) {
    if (session.agentId !== agentId || session.startedAt.slice(0, 10) !== day) continue;
    totals.dials += session.stats.dials;
    totals.connects += session.stats.connects;
    totals.talk += session.stats.talkTimeMs;
    totals.abandoned += session.stats.abandoned;
  }
  return totals;
}

function linesInFlight(entry) {
  const { session, group } = entry;
  if (!group || session.currentGroupId !== group.groupId) return { live: 0, of: group?.fanout ?? 0 };
  return { live: group.calls.filter((c) => ['dialing', 'ringing', 'in-progress'].includes(c.status) && c.dialedAt).length, of: group.fanout };
}

function currentContact(entry) {
  const { session, group } = entry;
  if (!group || session.currentGroupId !== group.groupId) return '–';
  const winner = group.winner && group.calls.find((c) => c.callId === group.winner.callId);
  if (winner) return winner.name || phone(winner.to);
  const ringing = group.calls.filter((c) => c.status === 'ringing').length;
  return ringing ? `${ringing} ringing` : '–';
}

// MARK: - Rendering

function agentRow(agentId) {
  let row = agentRows.get(agentId);
  if (row) return row;
  const cells = {};
  const cell = (name, attributes = {}) => (cells[name] = el('td', attributes));
  row = el('tr', { 'data-agent': agentId },
    el('th', { scope: 'row' }, agentId), cell('state'), cell('clock', { class: 'num clock tabular' }), cell('lines', { class: 'num' }),
    cell('dials', { class: 'num' }), cell('connects', { class: 'num' }), cell('talk', { class: 'num optional' }),
    cell('contact', { class: 'optional' }), cell('queue', { class: 'optional' }), cell('action', { class: 'control' }));
  row.cells_ = cells;
  agentRows.set(agentId, row);
  // Keep rows in agent order (another order is applied on each tick by `sortRows`).
  const body = $('agents').tBodies[0];
  const after = [...agentRows.keys()].filter((a) => natural(a, agentId) > 0).sort(natural)[0];
  body.insertBefore(row, after ? agentRows.get(after) : null);
  return row;
}

function renderAgent(agentId) {
  const entry = currentSession(agentId);
  if (!entry) return;
  const { session } = entry;
  const row = agentRow(agentId);
  const c = row.cells_;
  const activity = session.activity;
  const shown = `${activity}|${session.activityNote ?? ''}`;
  if (row.dataset.shown !== shown) {
    if (row.dataset.shown) announce(`${agentId} ${activity}${session.activityNote ? ', ' + session.activityNote : ''}`);
    row.dataset.shown = shown;
    row.dataset.activity = activity;
    // A paused agent finishing a wrap-up is on a break, not overstaying it: timed as paused.
    row.dataset.clockAs = session.activityNote && activity === 'wrap-up' ? 'paused' : activity;
    c.state.replaceChildren(activityLabel(session));
  }
  row.dataset.session = session.sessionId;
  row.dataset.queue = session.queueId;
  row.dataset.since = session.activitySince;
  const lines = linesInFlight(entry);
  c.lines.textContent = `${lines.live}/${lines.of}`;
  const totals = agentToday(agentId);
  c.dials.textContent = totals.dials;
  c.connects.textContent = totals.connects;
  c.talk.textContent = duration(totals.talk);
  c.contact.textContent = currentContact(entry);
  c.queue.textContent = queues.get(session.queueId)?.name ?? session.queueId;
  const action = session.state === 'active' ? 'pause' : session.state === 'paused' ? 'resume' : null;
  if (row.dataset.action !== (action ?? '')) {
    row.dataset.action = action ?? '';
    c.action.replaceChildren(action ? el('button', { type: 'button', class: 'needs-server', onclick: () => sessionAct(session.sessionId, action) },
      action === 'pause' ? '⏸ Pause' : '▶ Resume') : '');
  }
  row.classList.toggle('hidden', (!!filter && session.queueId !== filter) || (!!stateFilter && activity !== stateFilter));
  clockCell(row);
}

/** The rows in the order asked for; moved only when the order changed. */
function sortRows() {
  const rows = [...agentRows.entries()];
  const key = {
    agent: ([a], [b]) => natural(a, b),
    state: ([a, x], [b, y]) => stateOrder.indexOf(x.dataset.activity) - stateOrder.indexOf(y.dataset.activity) || natural(a, b),
    time: ([a, x], [b, y]) => clock.since(y.dataset.since) - clock.since(x.dataset.since) || natural(a, b),
  }[sortBy] ?? (([a], [b]) => natural(a, b));
  rows.sort(key);
  const body = $('agents').tBodies[0];
  const now = [...body.rows];
  if (rows.every(([, row], index) => now[index] === row)) return;
  body.append(...rows.map(([, row]) => row));
}

function clockCell(row) {
  const cell = row.cells_.clock;
  const activity = row.dataset.clockAs || row.dataset.activity;
  const ms = clock.since(row.dataset.since);
  // Idle because the queue waits for its contacts' calling hours: nothing to act on, never red.
  const waiting = activity === 'idle' && queues.get(row.dataset.queue)?.state === 'waiting';
  const [amber, red] = waiting ? [Infinity, Infinity] : thresholds[activity] ?? [Infinity, Infinity];
  const level = ms >= red ? 'red' : ms >= amber ? 'amber' : '';
  cell.textContent = duration(ms) + (level === 'red' ? ' ▲▲' : level === 'amber' ? ' ▲' : '');
  cell.className = `num clock tabular${level ? ' level-' + level : ''}`;
}

function renderQueues() {
  const body = $('queues').tBodies[0];
  body.replaceChildren(...[...queues.values()].map((q) => {
    // The rolling 30 days the rule counts and the server's guard; the next batch's profile and lines
    // as the engine will dial them (the server decides both: the page keeps no thresholds or fanouts).
    const compliance = q.compliance;
    const rolling = compliance.abandonment.rolling30.rate;
    const guard = compliance.guard;
    const level = { capped: 'red', warning: 'amber' }[guard.level] ?? '';
    const lines = q.profile.lines;
    const pacing = `${q.profile.name} · ${lines} line${lines === 1 ? '' : 's'}`
      + (q.profile.linesLimitedBy ? ` (${q.profile.linesLimitedBy.replaceAll('-', ' ')})` : '');
    const warnings = compliance.warnings.filter((w) => !w.startsWith('abandonment-'));
    const actions = el('td', { class: 'control' },
      q.state === 'paused' ? el('button', { type: 'button', class: 'needs-server', onclick: () => queueAct(q, 'resume') }, '▶ Resume')
        : el('button', { type: 'button', class: 'needs-server', onclick: () => queueAct(q, 'pause'),
          disabled: !['active', 'idle'].includes(q.state) }, '⏸ Pause'),
      ' ', el('button', { type: 'button', class: 'needs-server danger', onclick: () => queueAct(q, 'stop'),
        disabled: ['stopped', 'error'].includes(q.state) }, '■ Stop'));
    return el('tr', { 'data-queue': q.queueId, class: filter && q.queueId !== filter ? 'hidden' : null },
      el('th', { scope: 'row' }, q.name), el('td', {}, q.state), el('td', { class: 'num' }, q.pending),
      el('td', { class: 'num' }, percent(q.answerRate)),
      el('td', { class: `num${level ? ' level-' + level : ''}`, title: guard.why },
        percent(rolling) + (level === 'red' ? ' ▲▲ capped' : level === 'amber' ? ' ▲ near cap' : '')
        + (warnings.length ? ' · ' + warnings.map((w) => w.replaceAll('-', ' ')).join(', ') : '')),
      el('td', { class: 'optional', title: q.profile.linesLimitedBy ? guard.why : '' }, pacing), actions);
  }));
  const select = $('filter');
  const known = new Set([...select.options].map((o) => o.value));
  for (const q of queues.values()) if (!known.has(q.queueId)) select.append(el('option', { value: q.queueId }, q.name));
  select.value = filter;
}

function renderFloor() {
  const day = today();
  let agents = 0, lines = 0, talking = 0, dials = 0, connects = 0, abandoned = 0, first = Infinity;
  for (const agentId of agentRows.keys()) {
    const entry = currentSession(agentId);
    if (!entry || entry.session.state === 'ended' || (filter && entry.session.queueId !== filter)) continue;
    agents += 1;
    lines += linesInFlight(entry).live;
    if (entry.session.activity === 'talking') talking += 1;
  }
  for (const { session } of sessions.values()) {
    if (session.startedAt.slice(0, 10) !== day || (filter && session.queueId !== filter)) continue;
    dials += session.stats.dials;
    connects += session.stats.connects;
    abandoned += session.stats.abandoned;
    first = Math.min(first, Date.parse(session.startedAt));
  }
  const hours = Math.max((clock.now() - first) / 3600000, 1 / 60);
  $('f-agents').textContent = agents;
  $('f-lines').textContent = lines;
  $('f-talking').textContent = talking;
  $('f-dials').textContent = Number.isFinite(first) ? Math.round(dials / hours) : '–';
  $('f-connects').textContent = Number.isFinite(first) ? Math.round(connects / hours) : '–';
  $('f-abandon').textContent = connects + abandoned ? percent(abandoned / (connects + abandoned)) : '–';
}

// MARK: - Loading and following

async function loadOverview() {
  const overview = await get('/v1/overview');
  for (const row of overview.sessions) putSession(row.session, row.group);
  queues.clear();
  for (const q of overview.queues) queues.set(q.queueId, q);
  for (const agentId of new Set(overview.sessions.map((r) => r.agentId))) renderAgent(agentId);
  renderQueues();
  renderFloor();
  return overview.position;
}

let queuesTimer = null;
function refreshQueuesSoon() {
  if (queuesTimer) return;
  queuesTimer = setTimeout(async () => {
    queuesTimer = null;
    try {
      const { queues: list } = await get('/v1/queues');
      for (const q of list) queues.set(q.queueId, q);
      renderQueues();
    } catch { /* next change tries again */ }
  }, 1000);
}

/** One feed message of `kind` (event or state), applied and measured. */
function measured(kind, apply) {
  return (...args) => {
    const started = performance.now();
    apply(...args);
    performance.measure('apply', { start: started, end: performance.now(), detail: kind });
  };
}

const applyState = measured('state', (topic, state) => {
  if (topic.startsWith('session:')) {
    const entry = putSession(state);
    renderAgent(entry.session.agentId);
  } else if (topic.startsWith('group:')) {
    const entry = putGroup(state);
    if (entry) renderAgent(entry.session.agentId);
  }
});

const applyEvent = measured('event', (event) => {
  if (event.type.startsWith('queue.') || event.type === 'contacts.added' || event.type.startsWith('batch.')
    || event.type === 'call.answered' || event.type === 'call.terminated') refreshQueuesSoon();
});

async function sessionAct(sessionId, action) {
  try {
    const { body } = await api('POST', `/v1/sessions/${encodeURIComponent(sessionId)}/${action}`);
    putSession(body);
    renderAgent(body.agentId);
    toast(`${body.agentId}: ${action === 'pause' ? 'paused' : 'resumed'}`);
  } catch (error) { toast(error.message); }
}

async function queueAct(queue, action) {
  if (action === 'stop' && !confirm(`Stop ${queue.name}? Every session on it ends (conversations finish).`)) return;
  try {
    const { body } = await api('POST', `/v1/queues/${encodeURIComponent(queue.queueId)}/${action}`);
    queues.set(body.queueId, body);
    renderQueues();
    toast(`${queue.name}: ${body.state}`);
  } catch (error) { toast(error.message); }
}

function wire() {
  $('filter').addEventListener('change', () => {
    filter = $('filter').value;
    const url = new URL(location.href);
    if (filter) url.searchParams.set('queue', filter); else url.searchParams.delete('queue');
    history.replaceState(null, '', url);
    for (const agentId of agentRows.keys()) renderAgent(agentId);
    renderQueues();
    renderFloor();
  });
  $('state-filter').append(...stateOrder.map((state) => el('option', { value: state }, state)));
  $('state-filter').value = stateFilter;
  $('sort').value = sortBy;
  const remember = (name, value, fallback) => {
    const url = new URL(location.href);
    if (value && value !== fallback) url.searchParams.set(name, value); else url.searchParams.delete(name);
    history.replaceState(null, '', url);
  };
  $('state-filter').addEventListener('change', () => {
    stateFilter = $('state-filter').value;
    remember('state', stateFilter, '');
    for (const agentId of agentRows.keys()) renderAgent(agentId);
  });
  $('sort').addEventListener('change', () => {
    sortBy = $('sort').value;
    remember('sort', sortBy, 'agent');
    sortRows();
  });
  const wallboard = query('wallboard') === '1';
  document.body.classList.toggle('wallboard', wallboard);
  $('wallboard').addEventListener('click', () => {
    document.body.classList.add('wallboard');
    document.documentElement.requestFullscreen?.().catch(() => {});
  });
  document.addEventListener('fullscreenchange', () => {
    if (!document.fullscreenElement && query('wallboard') !== '1') document.body.classList.remove('wallboard');
  });
  setInterval(() => {
    for (const row of agentRows.values()) if (row.dataset.since) clockCell(row);
    sortRows();
    renderFloor();
  }, 1000);
}

async function start() {
  wire();
  await whoAmI();  // an auditor sees the wall without its controls (body[data-role=auditor])
  await clock.sync();
  const position = await loadOverview();
  new LiveFeed({
    topics: 'all', after: position, contiguous: true, badge,
    onEvent: applyEvent, onState: applyState,
    resync: loadOverview,
    poll: loadOverview, pollEveryMs: 2000,
  }).start();
  badge.onChange(() => renderQueues());
}

start().catch((error) => toast(error.message));
