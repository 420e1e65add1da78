// The supervisor wall: a row per agent, a row per queue, floor totals; live over the feed (topics `all`).
// As a wallboard (`?wallboard=1`) the agents are a mosaic — a tile each, sized so the whole floor and
// the queues fit the screen without scrolling. Applying each feed message is measured
// (`performance.measure('apply')`): the wall must stay smooth with hundreds of agents.
import { api, get, el, whoAmI, activityLabel, duration, percent, phone, announce, toast, query } from './ui.js';
import { svg } from './batch-picture.js';
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
/** The wallboard's tile per agent (built beside the row, shown instead of the table on a wallboard). */
const agentTiles = new Map();
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

/** A wallboard tile: who, the one activity, time in state, the queue. Ordered by queue, then agent. */
function agentTile(agentId) {
  let tile = agentTiles.get(agentId);
  if (tile) return tile;
  const parts = { state: el('span', { class: 'what' }), clock: el('span', { class: 'clock tabular' }), queue: el('span', { class: 'where muted' }) };
  tile = el('div', { class: 'tile', role: 'listitem', 'data-agent': agentId }, el('b', { class: 'who' }, agentId), parts.state, parts.clock, parts.queue);
  tile.parts_ = parts;
  agentTiles.set(agentId, tile);
  $('mosaic').append(tile);
  mosaicChanged = true;
  return tile;
}

function renderAgent(agentId) {
  const entry = currentSession(agentId);
  if (!entry) return;
  const { session } = entry;
  const row = agentRow(agentId);
  const tile = agentTile(agentId);
  const c = row.cells_;
  const activity = session.activity;
  const shown = `${activity}|${session.activityNote ?? ''}`;
  if (row.dataset.shown !== shown) {
    row.dataset.shown = shown;
    row.dataset.activity = activity;
    tile.dataset.activity = activity;
    // A paused agent finishing a wrap-up is on a break, not overstaying it: timed as paused.
    row.dataset.clockAs = session.activityNote && activity === 'wrap-up' ? 'paused' : activity;
    c.state.replaceChildren(activityLabel(session));
    tile.parts_.state.replaceChildren(activityLabel(session));
  }
  row.dataset.session = session.sessionId;
  row.dataset.queue = session.queueId;
  row.dataset.since = session.activitySince;
  const queueName = queues.get(session.queueId)?.name ?? session.queueId;
  if (tile.dataset.queueName !== queueName) {
    tile.dataset.queueName = queueName;
    tile.parts_.queue.textContent = queueName;
    mosaicChanged = true;
  }
  const lines = linesInFlight(entry);
  c.lines.textContent = `${lines.live}/${lines.of}`;
  const totals = agentToday(agentId);
  c.dials.textContent = totals.dials;
  c.connects.textContent = totals.connects;
  c.talk.textContent = duration(totals.talk);
  c.contact.textContent = currentContact(entry);
  c.queue.textContent = queueName;
  const action = session.state === 'active' ? 'pause' : session.state === 'paused' ? 'resume' : null;
  if (row.dataset.action !== (action ?? '')) {
    row.dataset.action = action ?? '';
    // Named for its agent: a screen reader's list of 55 buttons is not 55 "Pause"s.
    c.action.replaceChildren(action ? el('button', { type: 'button', class: 'needs-server', 'aria-label': `${action === 'pause' ? 'Pause' : 'Resume'} ${agentId}`,
      onclick: () => sessionAct(session.sessionId, action) }, action === 'pause' ? '⏸ Pause' : '▶ Resume') : '');
  }
  const hidden = (!!filter && session.queueId !== filter) || (!!stateFilter && activity !== stateFilter);
  row.classList.toggle('hidden', hidden);
  if (tile.classList.contains('hidden') !== hidden) { tile.classList.toggle('hidden', hidden); mosaicChanged = true; }
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
  if (!rows.every(([, row], index) => now[index] === row)) body.append(...rows.map(([, row]) => row));
  if (mosaicChanged) layOutMosaic();
}

// MARK: - The wallboard's mosaic

let mosaicChanged = false;
const wallboard = () => document.body.classList.contains('wallboard');

/** Tiles grouped by queue (then agent, as people read ids), sized so every shown tile fits the space
 *  left under the queues: the column count that gives the tallest tile no wider than 2.4 × its height. */
function layOutMosaic() {
  mosaicChanged = false;
  const box = $('mosaic');
  const tiles = [...agentTiles.entries()].sort(([a, x], [b, y]) => natural(x.dataset.queueName ?? '', y.dataset.queueName ?? '') || natural(a, b));
  const now = [...box.children];
  if (!tiles.every(([, tile], index) => now[index] === tile)) box.append(...tiles.map(([, tile]) => tile));
  const shown = tiles.filter(([, tile]) => !tile.classList.contains('hidden')).length;
  const counts = {};
  for (const [, tile] of tiles) if (!tile.classList.contains('hidden')) counts[tile.dataset.activity] = (counts[tile.dataset.activity] ?? 0) + 1;
  $('mosaic-counts').textContent = stateOrder.filter((s) => counts[s]).map((s) => `${counts[s]} ${s}`).join(' · ');
  if (!wallboard() || !shown) return;
  const gap = 6;
  const page = document.documentElement;
  // The space the tiles may take: the screen's height less what sits above and below them (measured,
  // then measured again once laid out: a scroll bar that went away changes the width).
  for (let pass = 0; pass < 3; pass += 1) {
    const place = box.getBoundingClientRect();
    const below = document.querySelector('main').getBoundingClientRect().bottom - place.bottom;  // padding, borders, margins
    const height = Math.max(60, innerHeight - (place.top + scrollY) - below - 1);
    const width = box.clientWidth;
    let best = { columns: 1, tall: 0 };
    for (let columns = 1; columns <= shown; columns += 1) {
      const wide = (width - gap * (columns - 1)) / columns;
      const rows = Math.ceil(shown / columns);
        const tall = Math.min(110, wide / 2.4, (height - gap * (rows - 1)) / rows);
      if (tall > best.tall) best = { columns, tall };
    }
    box.style.setProperty('--columns', String(best.columns));
    box.style.setProperty('--tile-height', `${Math.floor(best.tall)}px`);
    if (page.scrollHeight <= innerHeight && box.clientWidth === width) break;
  }
}
addEventListener('resize', () => { mosaicChanged = true; layOutMosaic(); });

function clockCell(row) {
  const cell = row.cells_.clock;
  const tile = agentTiles.get(row.dataset.agent);
  const activity = row.dataset.clockAs || row.dataset.activity;
  const ms = clock.since(row.dataset.since);
  // Idle because the queue waits for its contacts' calling hours: nothing to act on, never red — said why.
  const queue = queues.get(row.dataset.queue);
  const waiting = activity === 'idle' && queue?.state === 'waiting';
  const [amber, red] = waiting ? [Infinity, Infinity] : thresholds[activity] ?? [Infinity, Infinity];
  const level = ms >= red ? 'red' : ms >= amber ? 'amber' : '';
  const text = duration(ms) + (level === 'red' ? ' ▲▲' : level === 'amber' ? ' ▲' : '') + (waiting ? ' · calling hours' : '');
  const className = `clock tabular${level ? ' level-' + level : ''}`;
  cell.textContent = text;
  cell.className = `num ${className}`;
  cell.title = waiting ? `waiting for calling hours${opens(queue)}` : '';
  if (tile) {
    tile.parts_.clock.textContent = text;
    tile.parts_.clock.className = className;
    tile.classList.toggle('waiting', waiting);
    tile.dataset.level = level;
  }
  if (level === 'red' && row.dataset.level !== 'red') needsAttention(`${row.dataset.agent} ${row.dataset.activity} over ${duration(red)}`);
  row.dataset.level = level;
}

/** " · opens 18:00 (in 1:41:00)" for a queue waiting for its contacts' calling hours. */
function opens(queue) {
  if (!queue?.nextCallingHoursAt) return '';
  const at = new Date(Date.parse(queue.nextCallingHoursAt));
  return ` · opens ${at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', timeZoneName: 'short' })} (in ${duration(Date.parse(queue.nextCallingHoursAt) - clock.now())})`;
}

// MARK: - What a screen reader hears: trouble, not every change (fifty agents change several times a second)

const attention = [];
let attentionTimer = null;
/** Collected and said at most once every 5 s: one item, or how many and the first few. */
function needsAttention(text) {
  attention.push(text);
  if (attentionTimer) return;
  attentionTimer = setTimeout(() => {
    attentionTimer = null;
    const items = attention.splice(0);
    announce(items.length === 1 ? `Needs attention: ${items[0]}`
      : `${items.length} need attention: ${items.slice(0, 3).join('; ')}${items.length > 3 ? '; …' : ''}`);
  }, 5000);
}

/** Thirty daily bars of abandoned ÷ live answers, oldest left, on a scale to twice the cap, with the
 *  warning and cap lines drawn through them: the slope toward the cap, not one number. */
function abandonmentBars(q) {
  const { abandonment, abandonWarnPercent: warn, abandonCapPercent: cap } = q.compliance;
  const byDay = new Map(abandonment.byDay.map((d) => [d.day, d]));
  const last = Date.parse(abandonment.window.to + 'T00:00:00Z');
  const [width, height, bar] = [150, 30, 5];
  const top = cap * 2;
  const y = (percentage) => height - Math.min(1, percentage / top) * height;
  const bars = [];
  let over = 0, worst = null;
  for (let i = 0; i < abandonment.window.days; i += 1) {
    const day = new Date(last - (abandonment.window.days - 1 - i) * 86400000).toISOString().slice(0, 10);
    const count = byDay.get(day);
    const x = i * bar;
    if (!count) { bars.push(svg('rect', { class: 'none', x, y: height - 1, width: bar - 1, height: 1, 'data-day': day })); continue; }
    const rate = count.abandoned / count.liveAnswers * 100;
    if (rate >= cap) over += 1;
    if (!worst || rate > worst.rate) worst = { day, rate };
    const level = rate >= cap ? 'red' : rate >= warn ? 'amber' : 'ok';
    const rect = svg('rect', { class: level, x, y: Math.min(y(rate), height - 1.5), width: bar - 1, height: Math.max(1.5, height - y(rate)),
      'data-day': day, 'data-abandoned': count.abandoned, 'data-live-answers': count.liveAnswers });
    rect.append(svg('title', {}, `${day}: ${count.abandoned} abandoned of ${count.liveAnswers} live answers (${rate.toFixed(1)} %)`));
    bars.push(rect);
  }
  const label = `Abandonment each day over 30 days against the ${cap} % cap: `
    + (worst ? `highest ${worst.rate.toFixed(1)} % on ${worst.day}; ${over} day${over === 1 ? '' : 's'} at or over the cap` : 'no live answers');
  const picture = svg('svg', { class: 'days', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label });
  picture.append(svg('title', {}, label), ...bars,
    svg('line', { class: 'warn-line', x1: 0, x2: width, y1: y(warn), y2: y(warn), 'data-percent': warn }),
    svg('line', { class: 'cap-line', x1: 0, x2: width, y1: y(cap), y2: y(cap), 'data-percent': cap }));
  return picture;
}

/** How many more abandoned calls in the next 50 live answers would reach the cap (null when capped). */
function headroom(q) {
  const { rolling30 } = q.compliance.abandonment;
  const cap = q.compliance.abandonCapPercent / 100;
  const more = Math.ceil(cap * (rolling30.liveAnswers + 50) - rolling30.abandoned - 1e-9);
  return q.compliance.guard.level === 'capped' ? null : Math.max(0, more);
}

const guardLevels = new Map();

function renderQueues() {
  const body = $('queues').tBodies[0];
  for (const q of queues.values()) {
    const level = q.compliance.guard.level;
    if (guardLevels.has(q.queueId) && guardLevels.get(q.queueId) !== level && level !== 'normal') needsAttention(`${q.name} abandonment ${level}`);
    guardLevels.set(q.queueId, level);
  }
  // Capped or failing queues first, then by name: trouble is read before it is scrolled to.
  const severity = (q) => ({ capped: 0, warning: 1 }[q.compliance.guard.level] ?? (q.state === 'error' ? 0 : 2));
  const ordered = [...queues.values()].sort((a, b) => severity(a) - severity(b) || natural(a.name, b.name));
  body.replaceChildren(...ordered.map((q) => {
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
    const room = headroom(q);
    return el('tr', { 'data-queue': q.queueId, class: filter && q.queueId !== filter ? 'hidden' : null },
      el('th', { scope: 'row' }, q.name),
      el('td', {}, q.state === 'waiting' ? `waiting for calling hours${opens(q)}` : q.state), el('td', { class: 'num' }, q.pending),
      el('td', { class: 'num', title: 'Human answers ÷ fair rings (calls that rang to their end or were answered; lost races excluded)' }, percent(q.answerRate)),
      el('td', { class: `num${level ? ' level-' + level : ''}`, title: guard.why },
        percent(rolling) + (level === 'red' ? ' ▲▲ capped' : level === 'amber' ? ' ▲ near cap' : '')
        + (warnings.length ? ' · ' + warnings.map((w) => w.replaceAll('-', ' ')).join(', ') : ''),
        room === null ? null : el('div', { class: 'muted headroom', 'data-headroom': room },
          room === 0 ? 'the next abandoned call caps it' : `capped after ${room} more abandoned in the next 50 answers`)),
      el('td', { class: 'optional' }, abandonmentBars(q)),
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
  renderQueues();
  for (const agentId of new Set(overview.sessions.map((r) => r.agentId))) renderAgent(agentId);
  renderFloor();
  layOutMosaic();
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
      if (wallboard()) { mosaicChanged = true; layOutMosaic(); }  // the queues' height may have changed
    } catch { /* next change tries again */ }
  }, 1000);
}

/** One feed message of `kind` (event or state), applied and measured; the measure names the message's
 * log position, so a test can hold the page to what the server sent for the same positions. */
function measured(kind, apply) {
  return (...args) => {
    const started = performance.now();
    apply(...args);
    const position = kind === 'event' ? args[0].position : args[2];
    performance.measure('apply', { start: started, end: performance.now(), detail: [kind, position] });
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
  document.body.classList.toggle('wallboard', query('wallboard') === '1');
  $('wallboard').addEventListener('click', () => {
    document.body.classList.add('wallboard');
    mosaicChanged = true;
    document.documentElement.requestFullscreen?.().catch(() => {});
  });
  document.addEventListener('fullscreenchange', () => {
    if (!document.fullscreenElement && query('wallboard') !== '1') document.body.classList.remove('wallboard');
    mosaicChanged = true;
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
