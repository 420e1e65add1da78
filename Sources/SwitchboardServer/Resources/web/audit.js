// The audit player: find a session, scrub its events on a wall-clock timeline, and see at each position
// the session and its batch exactly as the API's `?at=` answers them, the batch as a picture, the calls
// as swimlanes on one fixed scale, any event's stored data, and the chain's check.
import { get, download, el, whoAmI, vocabulary, callIcons, outcomeIcons, activityLabel, statusLabel, phone, announce, toast, query } from './ui.js';
import { drawBatch, svg } from './batch-picture.js';
import { LiveFeed, ConnectionBadge, ServerClock } from './live.js';

const $ = (id) => document.getElementById(id);
const clock = new ServerClock();
const badge = new ConnectionBadge($('badge'));
/** The events that end a call, as the server's domain says (`/v1/meta`); set at start. */
let endings = new Set();
let ended = () => false;

const player = { sessionId: null, events: [], index: 0, wanted: null, shown: null, fetching: false, playing: null };

// MARK: - Finding a session

async function setUpFinder() {
  const { queues } = await get('/v1/queues');
  $('f-queue').append(...queues.map((q) => el('option', { value: q.queueId }, q.name)));
  $('find').addEventListener('submit', (event) => { event.preventDefault(); find(); });
}

async function find() {
  const parameters = new URLSearchParams();
  for (const name of ['agent', 'queue', 'day']) {
    const value = $(`f-${name}`).value.trim();
    if (value) parameters.set(name, value);
  }
  $('find-problem').textContent = '';
  try {
    const { sessions } = await get(`/v1/sessions?${parameters}`);
    $('found').tBodies[0].replaceChildren(...sessions.map((s) => el('tr', {},
      el('td', {}, el('a', { href: `/audit?session=${encodeURIComponent(s.sessionId)}` }, s.sessionId)),
      el('td', {}, s.agentId), el('td', {}, s.queueId), el('td', { class: 'tabular' }, s.startedAt), el('td', {}, s.state))));
    if (!sessions.length) $('find-problem').textContent = 'No session matches.';
  } catch (error) {
    $('find-problem').textContent = error.message;
  }
}

// MARK: - Playing a session

async function openSession(id) {
  player.sessionId = id;
  $('player').classList.remove('hidden');
  $('session-title').textContent = `Session ${id}`;
  const encoded = encodeURIComponent(id);
  for (const format of ['ndjson', 'csv']) {
    $(`export-${format}`).onclick = () => exportSession(id, format);
  }
  await clock.sync();
  let after = 0;
  for (;;) {
    const page = await get(`/v1/sessions/${encoded}/timeline?after=${after}&limit=1000`);
    player.events.push(...page.events);
    if (page.events.length < 1000) break;
    after = page.next;
  }
  renderEvents();
  renderTimeline();
  setScrubber(player.events.length - 1);
  verifyChain();
  new LiveFeed({
    topics: `session:${id}`, after: player.events.at(-1)?.position ?? 0, badge,
    onEvent: (event) => {
      // Following the live end only if the scrubber is there: a scrub the debounce has not applied
      // yet (Home pressed as an event arrived) must not be pulled back to the end.
      const following = player.index === player.events.length - 1 && Number($('scrub').value) === player.index;
      player.events.push(event);
      $('events').tBodies[0].append(eventRow(event, player.events.length - 1));
      renderTimeline();
      $('scrub').max = String(player.events.length - 1);
      if (following && !player.playing) setScrubber(player.events.length - 1);
      else renderWhere();
    },
  }).start();
}

/** The session's export, fetched with the token and saved; a refusal is said beside the buttons. */
async function exportSession(id, format) {
  const button = $(`export-${format}`);
  $('export-problem').textContent = '';
  button.disabled = true;
  try {
    await download(`/v1/audit/export?session=${encodeURIComponent(id)}&format=${format}`, `session-${id}.${format}`);
    toast(`Exported ${format.toUpperCase()}`);
  } catch (error) {
    $('export-problem').textContent = `Export refused: ${error.message}`;
    announce(`Export refused: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

async function verifyChain() {
  const chain = $('chain');
  chain.textContent = '⧗ checking chain…';
  try {
    const report = await get('/v1/audit/verify');
    chain.dataset.state = report.intact ? 'live' : 'offline';
    chain.textContent = report.intact ? `✔ chain verified · ${report.eventsChecked} events`
      : `✖ chain broken at position ${report.firstBadPosition}: ${report.problem}`;
    announce(chain.textContent);
  } catch (error) {
    chain.textContent = `? chain not checked: ${error.message}`;
  }
}

function eventRow(event, index) {
  return el('tr', { 'data-position': event.position, 'data-index': index, tabindex: '-1' },
    el('td', { class: 'num' }, el('a', { href: '#', onclick: (e) => { e.preventDefault(); setScrubber(index); } }, event.position)),
    el('td', { class: 'tabular' }, event.time),
    el('td', {}, el('button', { type: 'button', class: 'link reading', 'aria-label': `${event.type} at position ${event.position}: show its data`,
      onclick: () => { setScrubber(index); inspect(index); } }, event.type)),
    el('td', { class: 'optional' }, event.stream),
    el('td', { class: 'hash optional', title: event.hash }, event.hash.slice(0, 12) + '…'));
}

function renderEvents() {
  $('events').tBodies[0].replaceChildren(...player.events.map(eventRow));
  $('scrub').max = String(Math.max(0, player.events.length - 1));
}

function setScrubber(index) {
  if (!player.events.length) return;
  player.index = Math.max(0, Math.min(index, player.events.length - 1));
  $('scrub').value = String(player.index);
  showAt(player.index);
  if (!$('inspector').classList.contains('hidden')) inspect(player.index);
}

/** The event as stored and served: its envelope and data, as the API gave it. */
function inspect(index) {
  const event = player.events[index];
  $('inspector').classList.remove('hidden');
  $('inspector-title').textContent = `Event ${event.position} · ${event.type}`;
  $('event-json').textContent = JSON.stringify(event, null, 2);
  $('event-json').dataset.position = String(event.position);
}

// MARK: - The timeline: the session on wall-clock time

const kinds = {
  'call.dialed': 'dial', 'call.answered': 'connect', 'call.connected': 'connect', 'call.abandoned': 'abandon',
  'call.safe-harbor-started': 'harbor', 'call.safe-harbor-ended': 'harbor', 'session.paused': 'pause', 'session.resumed': 'pause',
  'call.dispositioned': 'disposition', 'batch.started': 'batch',
};
const timeline = { start: 0, end: 1, x: () => 0, width: 800 };

/** A tick per event at its instant (gaps stay gaps), a band per batch from its start to its end, the
 *  playhead at the position shown, and five times along the axis. */
function renderTimeline() {
  const box = $('timeline');
  const events = player.events;
  if (!events.length) return;
  const start = Date.parse(events[0].time);
  const end = Math.max(start + 1000, Date.parse(events.at(-1).time));
  const width = Math.max(320, Math.round(box.clientWidth || 800)), height = 46;
  const x = (ms) => 4 + ((ms - start) / (end - start)) * (width - 8);
  Object.assign(timeline, { start, end, x, width });
  box.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const parts = [];
  const batchEnds = new Map();
  for (const e of events) if (e.data?.groupId && (e.type === 'batch.completed' || e.type === 'batch.cancelled')) batchEnds.set(e.data.groupId, Date.parse(e.time));
  let chapter = 0;
  for (const e of events) {
    if (e.type !== 'batch.started') continue;
    chapter += 1;
    const from = Date.parse(e.time), to = batchEnds.get(e.data.groupId) ?? end;
    parts.push(svg('rect', { class: `chapter chapter-${chapter % 2}`, x: x(from), y: 0, height: 8, width: Math.max(1, x(to) - x(from)),
      'data-group-id': e.data.groupId }, undefined));
  }
  for (const e of events) {
    const at = x(Date.parse(e.time));
    parts.push(svg('line', { class: `tick tick-${kinds[e.type] ?? 'other'}`, x1: at, x2: at, y1: 10, y2: 30 }));
  }
  for (let i = 0; i <= 4; i += 1) {
    const ms = start + ((end - start) * i) / 4;
    parts.push(svg('text', { x: Math.min(width - 56, Math.max(2, x(ms) - 26)), y: height - 2 }, new Date(ms).toISOString().slice(11, 19)));
  }
  parts.push(svg('line', { id: 'playhead', class: 'playhead', x1: 0, x2: 0, y1: 0, y2: 32 }));
  box.replaceChildren(...parts);
  const counts = {};
  for (const e of events) counts[kinds[e.type] ?? 'other'] = (counts[kinds[e.type] ?? 'other'] ?? 0) + 1;
  $('timeline-words').textContent = `${events[0].time.slice(0, 19).replace('T', ' ')} – ${events.at(-1).time.slice(11, 19)} UTC · `
    + `${chapter} batch${chapter === 1 ? '' : 'es'} · ${counts.dial ?? 0} dials · ${counts.connect ?? 0} answers and connects`
    + ` · ${counts.abandon ?? 0} abandoned · ${counts.pause ?? 0} pauses and resumes · ${counts.disposition ?? 0} dispositions`;
  movePlayhead();
}

function movePlayhead() {
  const event = player.events[player.index];
  const head = document.getElementById('playhead');
  if (!event || !head) return;
  const at = timeline.x(Date.parse(event.time));
  head.setAttribute('x1', at);
  head.setAttribute('x2', at);
  head.dataset.time = event.time;
}

/** The last event at or before `ms` (the first if none is). */
function indexAt(ms) {
  let low = 0, high = player.events.length - 1, found = 0;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (Date.parse(player.events[middle].time) <= ms) { found = middle; low = middle + 1; } else high = middle - 1;
  }
  return found;
}

/** "10:14:05" on the session's first day (UTC), or the next day's if the session ran past midnight. */
function jump(value) {
  $('jump-problem').textContent = '';
  if (!/^\d{2}:\d{2}(:\d{2})?$/.test(value) || !player.events.length) { $('jump-problem').textContent = 'Give a time as HH:MM:SS.'; return; }
  const day = player.events[0].time.slice(0, 10);
  let ms = Date.parse(`${day}T${value.length === 5 ? value + ':00' : value}Z`);
  if (ms < timeline.start - 1000) ms += 86400000;
  if (ms < timeline.start || ms > timeline.end + 1000) {
    $('jump-problem').textContent = `The session runs ${new Date(timeline.start).toISOString().slice(11, 19)}–${new Date(timeline.end).toISOString().slice(11, 19)} UTC.`;
    return;
  }
  setScrubber(indexAt(ms));
}

function renderWhere() {
  const event = player.events[player.index];
  if (!event) return;
  $('where').textContent = `position ${event.position} · event ${player.index + 1} / ${player.events.length} · ${event.time}`;
  movePlayhead();
}

/** The session and its batch as the API says they were at the event's position. One fetch at a
 *  time: scrubbing through twenty positions asks for the one it stops at, not all twenty (the state at
 *  a position never changes, so the one shown is never asked for again). */
async function showAt(index) {
  renderWhere();
  for (const row of $('events').querySelectorAll('tr.current')) row.classList.remove('current');
  const row = $('events').querySelector(`tr[data-index="${index}"]`);
  row?.classList.add('current');
  // The list follows the playhead inside its own panel (the page itself does not jump).
  if (row) { const box = $('events-scroll'); const top = row.offsetTop - box.clientHeight / 2; if (Math.abs(box.scrollTop - top) > box.clientHeight / 3) box.scrollTop = top; }
  player.wanted = index;
  if (player.fetching) return;  // the fetch under way looks at `wanted` again when it ends
  player.fetching = true;
  try {
    while (player.shown !== player.wanted) {
      const at = player.wanted;
      const position = player.events[at].position;
      const encoded = encodeURIComponent(player.sessionId);
      const session = await get(`/v1/sessions/${encoded}?at=${position}`);
      const groupId = session.currentGroupId || session.lastGroupId;
      const group = groupId ? await get(`/v1/calls/parallel/${encodeURIComponent(groupId)}?at=${position}`) : null;
      if (at !== player.wanted) continue;  // scrubbed on meanwhile: fetch where it stopped
      renderState(position, session, group);
      renderLanes(at, group);
      player.shown = at;
    }
  } catch (error) {
    toast(error.message);
  } finally {
    player.fetching = false;
  }
}

function renderState(position, session, group) {
  $('state-summary').replaceChildren(
    el('span', {}, 'Session ', el('b', {}, session.state)),
    el('span', {}, 'Agent ', el('b', {}, activityLabel(session))),
    el('span', {}, 'Mode ', el('b', {}, session.mode)),
    el('span', {}, 'Batch ', el('b', {}, group ? `${group.groupId} · ${group.status}` : 'none')),
    el('span', {}, 'Profile ', el('b', {}, group?.profile ?? '–')),
    el('span', {}, 'Batches ', el('b', {}, session.stats.batches)), el('span', {}, 'Connects ', el('b', {}, session.stats.connects)));
  $('batch-calls').tBodies[0].replaceChildren(...(group?.calls ?? []).map((call) => el('tr', { 'data-call-id': call.callId },
    el('td', {}, call.name || call.contactId), el('td', { class: 'tabular' }, phone(call.to)),
    el('td', {}, statusLabel(callIcons, call.status)),
    // An abandoned person reads as abandoned (with why), not as one more "terminated".
    el('td', {}, call.abandoned ? el('span', { class: 'status status-abandoned' }, el('span', { 'aria-hidden': 'true' }, '⚠'), ` abandoned (${call.abandonment?.cause ?? 'cause unknown'})`)
      : statusLabel(outcomeIcons, call.outcome)),
    el('td', {}, call.answeredBy ?? '–'))));
  const pre = $('state-json');
  pre.textContent = JSON.stringify({ position, session, batch: group }, null, 2);
  pre.dataset.position = String(position);
}

/** The batch's whole extent in the session's events (its first to its last event): one scale for
 *  every position, so stepping never stretches the lanes. */
function batchAxis(groupId) {
  let start = null, end = null;
  for (const e of player.events) {
    if (e.data?.groupId !== groupId) continue;
    const at = Date.parse(e.time);
    start ??= at;
    end = at;
  }
  return start === null ? null : { start, end: Math.max(start + 1000, end + (end - start) * 0.05) };
}

/** The batch as a picture and as swimlanes up to this position, on the batch's own fixed scale:
 *  dialled → ringing → answered → ended, an abandoned call in red with its safe-harbor message, and
 *  whether the message began within 2 s of the answer. */
function renderLanes(index, group) {
  const lanes = $('lanes');
  $('batch-figure').classList.toggle('hidden', !group?.calls.some((c) => c.dialedAt));
  if (!group) { lanes.replaceChildren(el('p', { class: 'muted' }, 'No batch yet at this position.')); return; }
  const now = Date.parse(player.events[index].time);
  const axis = batchAxis(group.groupId) ?? { start: now, end: now + 1000 };
  if (group.calls.some((c) => c.dialedAt)) {
    drawBatch(group, { picture: $('batch-picture'), caption: $('batch-caption'), now, ended, axis });
  }
  const calls = new Map(group.calls.map((c) => [c.callId, { call: c, marks: {} }]));
  for (const e of player.events.slice(0, index + 1)) {
    if (e.data?.groupId !== group.groupId) continue;
    const lane = calls.get(e.data.callId);
    if (!lane) continue;
    const at = Date.parse(e.time);
    const marks = lane.marks;
    if (e.type === 'call.dialed') marks.dialed = at;
    else if (e.type === 'call.ringing') marks.ringing = at;
    else if (e.type === 'call.answered') { marks.answered = at; marks.by = e.data.answeredBy; }
    else if (e.type === 'call.abandoned') {
      // A raced answer has no call.answered of its own (our hang-up was already on its way): the batch
      // state knows when the person picked up.
      marks.abandoned = e.data.cause;
      marks.by ??= e.data.answeredBy;
      marks.answered ??= lane.call.answeredAt ? Date.parse(lane.call.answeredAt) : at;
    }
    else if (e.type === 'call.safe-harbor-started') marks.harborFrom = at;
    else if (e.type === 'call.safe-harbor-ended') marks.harborTo = at;
    else if (endings.has(e.type)) { marks.ended = at; marks.end = e.type.slice(5) + (e.data.reason ? ` (${e.data.reason})` : ''); }
  }
  const span = Math.max(1, axis.end - axis.start);
  const ruler = el('div', { class: 'ruler', 'aria-hidden': 'true' }, ...[0, 0.25, 0.5, 0.75, 1].map((f) => {
    const mark = el('span', {}, `${((span * f) / 1000).toFixed(1)} s`);
    mark.style.left = `${f * 100}%`;
    return mark;
  }));
  const head = el('span', { class: 'lane-playhead' });
  head.style.left = `${Math.min(100, ((now - axis.start) / span) * 100)}%`;
  lanes.replaceChildren(el('div', { class: 'ruler-row' }, el('div', { class: 'muted' }, 'From the batch\'s start'), el('div', { class: 'track ruler-track' }, ruler, head)),
    ...[...calls.values()].map(({ call, marks }) => {
      const track = el('div', { class: 'track', 'aria-hidden': 'true' });
      const words = [];
      const segment = (kind, from, to, label) => {
        if (from === undefined) return;
        const end = Math.min(to ?? now, now);
        const node = el('span', { class: `seg seg-${kind}` }, label);
        node.style.left = `${((from - axis.start) / span) * 100}%`;
        node.style.width = `${Math.max(0.5, ((end - from) / span) * 100)}%`;
        track.append(node);
        words.push(`${label} ${((end - from) / 1000).toFixed(1)} s`);
      };
      segment('dialing', marks.dialed, marks.ringing ?? marks.answered ?? marks.ended, 'dialled');
      segment('ringing', marks.ringing, marks.answered ?? marks.ended, 'ringing');
      // The abandoned person's line lasts until the message ends (a raced answer outlives our hang-up).
      if (marks.abandoned) segment('abandoned', marks.answered, Math.max(marks.harborTo ?? marks.ended ?? now, marks.answered), `answered (${marks.by}), abandoned (${marks.abandoned})`);
      else segment('answered', marks.answered, marks.ended, `answered (${marks.by})`);
      if (marks.harborFrom !== undefined) {
        segment('harbor', marks.harborFrom, marks.harborTo, 'safe-harbor message');
        const after = marks.harborFrom - marks.answered;
        words.push(`message began ${(after / 1000).toFixed(1)} s after the answer ${after <= 2000 ? '✔ within 2 s' : '✖ over 2 s'}`);
      } else if (marks.abandoned) words.push('no safe-harbor message yet');
      if (marks.ended !== undefined) words.push(`ended: ${marks.end}`);
      const lane = el('div', { class: `lane${marks.abandoned ? ' abandoned' : ''}`, 'data-call-id': call.callId },
        el('div', {}, call.name || call.contactId, el('div', { class: 'muted' }, words.join(' → ') || 'not placed yet')), track);
      return lane;
    }));
}

// MARK: - Play

function stopPlaying() {
  clearTimeout(player.playing);
  player.playing = null;
  $('play').textContent = '▶ Play';
  $('play').setAttribute('aria-pressed', 'false');
}

/** Steps through the events at their own pace (the gap between two events' times ÷ the speed, at most 3 s). */
function play() {
  if (player.playing) { stopPlaying(); return; }
  $('play').textContent = '⏸ Pause';
  $('play').setAttribute('aria-pressed', 'true');
  const step = () => {
    if (player.index >= player.events.length - 1) { stopPlaying(); return; }
    const gap = Date.parse(player.events[player.index + 1].time) - Date.parse(player.events[player.index].time);
    const speed = Number($('speed').value);
    player.playing = setTimeout(() => { setScrubber(player.index + 1); step(); }, Math.min(3000, Math.max(0, gap / speed)));
  };
  step();
}

function wire() {
  let pending = null;
  $('scrub').addEventListener('input', () => {
    clearTimeout(pending);
    pending = setTimeout(() => setScrubber(Number($('scrub').value)), 60);
  });
  $('first').addEventListener('click', () => setScrubber(0));
  $('back').addEventListener('click', () => setScrubber(player.index - 1));
  $('next').addEventListener('click', () => setScrubber(player.index + 1));
  $('play').addEventListener('click', play);
  $('timeline').addEventListener('click', (event) => {
    if (!player.events.length) return;
    const box = $('timeline').getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * timeline.width;
    setScrubber(indexAt(timeline.start + ((x - 4) / (timeline.width - 8)) * (timeline.end - timeline.start)));
  });
  $('jump-form').addEventListener('submit', (event) => { event.preventDefault(); jump($('jump').value); });
  // J / K / L as in a video player; never while typing in a field.
  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || !player.sessionId) return;
    if (event.target.matches('input:not([type="range"]), select, textarea')) return;
    const key = event.key.toLowerCase();
    if (key === 'j') setScrubber(player.index - 1);
    else if (key === 'l') setScrubber(player.index + 1);
    else if (key === 'k') play();
    else return;
    event.preventDefault();
  });
  addEventListener('resize', () => { renderTimeline(); });
}

async function start() {
  wire();
  await whoAmI();
  const words = await vocabulary();
  endings = words.callEndingEvents;
  ended = (call) => words.endedStatuses.has(call.status);
  await setUpFinder();
  const id = query('session');
  if (id) await openSession(id);
  else badge.set('standby');
}

start().catch((error) => toast(error.message));
