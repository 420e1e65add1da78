// The audit player: find a session, scrub its events, and see at each position the session and its
// batch exactly as the API's `?at=` answers them, the calls as swimlanes, and the chain's check.
import { get, download, el, whoAmI, vocabulary, callIcons, outcomeIcons, activityLabel, statusLabel, phone, announce, toast, query } from './ui.js';
import { LiveFeed, ConnectionBadge, ServerClock } from './live.js';

const $ = (id) => document.getElementById(id);
const clock = new ServerClock();
const badge = new ConnectionBadge($('badge'));
/** The events that end a call, as the server's domain says (`/v1/meta`); set at start. */
let endings = new Set();

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
    el('td', { class: 'tabular' }, event.time), el('td', {}, event.type), el('td', { class: 'optional' }, event.stream),
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
}

function renderWhere() {
  const event = player.events[player.index];
  if (!event) return;
  $('where').textContent = `position ${event.position} · event ${player.index + 1} / ${player.events.length} · ${event.time}`;
}

/** The session and its batch as the API says they were at the event's position. One fetch at a
 *  time: scrubbing through twenty positions asks for the one it stops at, not all twenty (the state at
 *  a position never changes, so the one shown is never asked for again). */
async function showAt(index) {
  renderWhere();
  for (const row of $('events').querySelectorAll('tr.current')) row.classList.remove('current');
  $('events').querySelector(`tr[data-index="${index}"]`)?.classList.add('current');
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
    el('td', {}, statusLabel(callIcons, call.status)), el('td', {}, statusLabel(outcomeIcons, call.outcome)),
    el('td', {}, call.answeredBy ?? '–'))));
  const pre = $('state-json');
  pre.textContent = JSON.stringify({ position, session, batch: group }, null, 2);
  pre.dataset.position = String(position);
}

/** Swimlanes from the events up to this position: dialled → ringing → answered → ended, with durations. */
function renderLanes(index, group) {
  const lanes = $('lanes');
  if (!group) { lanes.replaceChildren(el('p', { class: 'muted' }, 'No batch yet at this position.')); return; }
  const upTo = player.events.slice(0, index + 1).filter((e) => e.data?.groupId === group.groupId);
  const started = upTo.find((e) => e.type === 'batch.started');
  const now = Date.parse(player.events[index].time);
  const base = started ? Date.parse(started.time) : now;
  const calls = new Map(group.calls.map((c) => [c.callId, { call: c, marks: {} }]));
  for (const e of upTo) {
    const lane = calls.get(e.data.callId);
    if (!lane) continue;
    const at = Date.parse(e.time);
    if (e.type === 'call.dialed') lane.marks.dialed = at;
    else if (e.type === 'call.ringing') lane.marks.ringing = at;
    else if (e.type === 'call.answered') { lane.marks.answered = at; lane.marks.by = e.data.answeredBy; }
    else if (endings.has(e.type)) { lane.marks.ended = at; lane.marks.end = e.type.slice(5) + (e.data.reason ? ` (${e.data.reason})` : ''); }
  }
  const span = Math.max(1, now - base);
  lanes.replaceChildren(...[...calls.values()].map(({ call, marks }) => {
    const track = el('div', { class: 'track', 'aria-hidden': 'true' });
    const words = [];
    const segment = (kind, from, to, label) => {
      if (from === undefined) return;
      const end = to ?? now;
      const node = el('span', { class: `seg seg-${kind}` }, label);
      node.style.left = `${((from - base) / span) * 100}%`;
      node.style.width = `${Math.max(0.5, ((end - from) / span) * 100)}%`;
      track.append(node);
      words.push(`${label} ${((end - from) / 1000).toFixed(1)} s`);
    };
    segment('dialing', marks.dialed, marks.ringing ?? marks.answered ?? marks.ended, 'dialled');
    segment('ringing', marks.ringing, marks.answered ?? marks.ended, 'ringing');
    segment('answered', marks.answered, marks.ended, `answered (${marks.by})`);
    if (marks.ended !== undefined) words.push(`ended: ${marks.end}`);
    return el('div', { class: 'lane', 'data-call-id': call.callId },
      el('div', {}, call.name || call.contactId, el('div', { class: 'muted' }, words.join(' → ') || 'not placed yet')), track);
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
}

async function start() {
  wire();
  await whoAmI();
  endings = (await vocabulary()).callEndingEvents;
  await setUpFinder();
  const id = query('session');
  if (id) await openSession(id);
  else badge.set('standby');
}

start().catch((error) => toast(error.message));
