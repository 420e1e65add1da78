// The batch as a picture, shared by the console (live) and the audit player (at a position): one bar
// per line, offset by the stagger, from its dial to its end; the answer as a dot, each loser's hang-up
// as a stroke, an abandoned person's bar red with the safe-harbor message under it, and the race
// window — from the winner's answer to the last loser's hang-up — marked and said in milliseconds.

const svgNS = 'http://www.w3.org/2000/svg';

/** An SVG element: attributes (null ones left out), then its text. */
export function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(svgNS, tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Draws `group` into `picture` (an `<svg>`) and says it in `caption`.
 * - `now`: ms — where a line still going ends (the server's clock live, the event's time in a replay);
 * - `ended(call)`: whether a call's status is an ended one (the server's vocabulary);
 * - `axis`: `{start, end}` in ms to keep one scale across positions (the player); by default the axis
 *   covers the race with room after it.
 * Answers the race window in ms, or null.
 */
export function drawBatch(group, { picture, caption, now, ended, axis = null }) {
  const placed = group.calls.filter((c) => c.dialedAt);
  const t = (time) => (time ? Math.min(Date.parse(time), now) : now);
  const start = axis?.start ?? Math.min(...placed.map((c) => t(c.dialedAt)));
  const marks = placed.flatMap((c) => [c.dialedAt, c.answeredAt, c.endedAt].filter(Boolean).map(t));
  const end = axis?.end ?? Math.max(start + 1000, start + (Math.max(...marks) - start) * 1.25);
  const width = Math.max(320, Math.round(picture.clientWidth || 600)), row = 16, left = 24, height = placed.length * row + 18;
  const x = (time) => left + ((Math.max(start, Math.min(t(time), end)) - start) / Math.max(1, end - start)) * (width - left - 8);
  picture.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const parts = [];
  const winner = group.winner && placed.find((c) => c.callId === group.winner.callId);
  placed.forEach((call, index) => {
    const y = index * row + 3;
    const kind = call.abandoned ? 'abandoned' : call.callId === winner?.callId ? 'winner' : call.status === 'voicemail' ? 'voicemail'
      : ended(call) ? 'ended' : 'ringing';
    parts.push(svg('text', { x: 2, y: y + 10 }, String(group.calls.indexOf(call) + 1)));
    parts.push(svg('rect', { class: `bar ${kind}`, x: x(call.dialedAt), y, height: row - 5,
      width: Math.max(2, x(call.endedAt) - x(call.dialedAt)), 'data-call-id': call.callId }));
    const harbor = call.abandonment;
    if (harbor?.safeHarborStartedAt) {
      parts.push(svg('rect', { class: 'safe-harbor', x: x(harbor.safeHarborStartedAt), y: y + row - 7, height: 3,
        width: Math.max(2, x(harbor.safeHarborEndedAt) - x(harbor.safeHarborStartedAt)), 'data-call-id': call.callId }));
    }
    if (call.answeredAt) parts.push(svg('circle', { class: 'answer', cx: x(call.answeredAt), cy: y + (row - 5) / 2, r: 3 }));
    if (call.endedAt && call.outcome === 'terminated') {
      parts.push(svg('line', { class: 'hangup', x1: x(call.endedAt), x2: x(call.endedAt), y1: y - 1, y2: y + row - 4 }));
    }
  });
  let words = `${placed.length} line${placed.length === 1 ? '' : 's'}, ${group.staggerMs} ms apart`;
  let race = null;
  const losers = placed.filter((c) => c.callId !== winner?.callId && c.endedAt && c.outcome === 'terminated');
  if (winner?.answeredAt && losers.length) {
    const last = Math.max(...losers.map((c) => t(c.endedAt)));
    race = Math.max(0, last - t(winner.answeredAt));
    parts.push(svg('rect', { class: 'race', x: x(winner.answeredAt), y: 1, height: height - 16,
      width: Math.max(2, x(new Date(last).toISOString()) - x(winner.answeredAt)) }));
    words += `; race window ${race} ms (the answer to the last loser's hang-up)`;
  }
  const abandoned = placed.filter((c) => c.abandoned).length;
  if (abandoned) words += `; ${abandoned} abandoned (red), the safe-harbor message under it`;
  parts.push(svg('text', { x: left, y: height - 3 }, '0 s'));
  parts.push(svg('text', { x: width - 40, y: height - 3 }, `${((end - start) / 1000).toFixed(1)} s`));
  picture.replaceChildren(...parts);
  caption.textContent = words;
  picture.setAttribute('data-race-ms', race ?? '');
  return race;
}
