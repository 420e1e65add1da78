import { token } from './ui.js';

// The one feed client every page uses: one WebSocket per page, resumed from the last applied position,
// events applied once and in order, a visible connection badge, and 500 ms polling when no WebSocket
// can be opened while the server answers. The badge is honest: "updated N s ago" is the last contact
// with the server (heartbeats count), and a server that does not answer is "offline" — clocks dim and
// pages hold their controls — until it answers again, when the feed reconnects at once.
// Clocks come from server timestamps corrected by the server's clock offset.

/** The server's clock as this page sees it: `/healthz` `time`, corrected by half the round trip. */
export class ServerClock {
  constructor() { this.offsetMs = 0; }

  /** Measures the offset; answers `/healthz` (which also carries the projections' log position). */
  async sync() {
    const sent = Date.now();
    const response = await fetch('/healthz', { cache: 'no-store' });
    const received = Date.now();
    const health = await response.json();
    if (health.time) this.offsetMs = Date.parse(health.time) - (sent + received) / 2;
    return health;
  }

  now() { return Date.now() + this.offsetMs; }

  /** Milliseconds since a server timestamp, in server time. */
  since(time) { return time ? Math.max(0, this.now() - Date.parse(time)) : 0; }
}

const words = {
  standby: ['○', 'no session open'], connecting: ['◌', 'connecting'], live: ['●', 'live'], reconnecting: ['↻', 'reconnecting'],
  polling: ['⇅', 'polling (no WebSocket)'], offline: ['✕', 'offline'], behind: ['⇣', 'catching up'],
};

/** The badge: live / reconnecting / polling / offline and "updated N s ago"; mirrored on `body[data-feed]`;
 *  `onChange(listener)` for pages that hold their controls while offline. */
export class ConnectionBadge {
  constructor(node) {
    this.node = node;
    this.state = 'connecting';
    this.updatedAt = null;
    this.detail = '';
    this.listeners = [];
    // What offline means, said once under the header while it lasts.
    this.note = document.createElement('p');
    this.note.className = 'offline-note hidden';
    this.note.setAttribute('role', 'status');
    document.querySelector('header.bar')?.after(this.note);
    setInterval(() => this.render(), 1000);
    this.render();
  }

  onChange(listener) { this.listeners.push(listener); }

  get offline() { return this.state === 'offline'; }

  set(state, detail = '') {
    if (state === this.state && detail === this.detail) return;
    const changed = state !== this.state;
    this.state = state;
    this.detail = detail;
    // Why, in the words of the cause (the server not answering, no network, a revoked token).
    this.note.textContent = `Offline${detail ? ': ' + detail : ''}. What you see is as of the last update; `
      + 'actions are held until the server answers again.';
    document.body.dataset.feed = state;
    this.render();
    if (changed) {
      const region = document.getElementById('announcer');
      if (region) region.textContent = `Connection ${words[state][1]}${detail ? ': ' + detail : ''}`;
      // Going offline, the pages re-render first and then everything is held; coming back, the held
      // controls are given back first and the pages then set each as it should be.
      if (state !== 'offline') this.holdControls(false);
      for (const listener of this.listeners) listener(state);
      if (state === 'offline') this.holdControls(true);
    }
  }

  /** Offline, every `button.needs-server` is disabled (and given back when the server answers). */
  holdControls(hold) {
    this.note.classList.toggle('hidden', !hold);
    for (const button of document.querySelectorAll('button.needs-server')) {
      if (hold && !button.disabled) {
        button.disabled = true;
        button.dataset.held = '';
      } else if (!hold && 'held' in button.dataset) {
        delete button.dataset.held;
        button.disabled = false;
      }
    }
  }

  touch() { this.updatedAt = Date.now(); this.render(); }

  render() {
    if (!this.node) return;
    const [icon, word] = words[this.state];
    const age = this.updatedAt === null ? '' : ` · updated ${Math.floor((Date.now() - this.updatedAt) / 1000)} s ago`;
    this.node.dataset.state = this.state;
    this.node.textContent = `${icon} ${word}${this.detail ? ' · ' + this.detail : ''}${age}`;
  }
}

/**
 * Follows the feed for `topics` from position `after`.
 *
 * - `onEvent(envelope)` for each stored event, once, in log order; `onState(topic, state, position)` for
 *   each projection the server pushes after a change.
 * - `contiguous`: every position is expected (topics `all`); a gap makes the page `resync()` (reload
 *   from REST, answer the position reached) and go on from there.
 * - `poll()`: what to do every `pollEveryMs` when no WebSocket can be opened (two attempts in a row
 *   failed before opening); the feed keeps trying the WebSocket with backoff and stops polling once
 *   it is back.
 */
export class LiveFeed {
  constructor({ topics, after = 0, contiguous = false, onEvent = () => {}, onState = () => {}, resync, poll,
    pollEveryMs = 500, badge }) {
    Object.assign(this, { topics, contiguous, onEvent, onState, resync, poll, pollEveryMs, badge });
    this.last = after;
    this.attempt = 0;
    this.failedOpens = 0;
    this.socket = null;
    this.retryTimer = null;
    this.pollTimer = null;
    this.probeTimer = null;
    this.probing = false;
    this.watchdog = null;
    /** When the server last said anything on the socket, and how often it promised a heartbeat. */
    this.heardAt = 0;
    this.heartbeatMs = null;
    this.stopped = false;
    /** Messages that came in while a gap was being reloaded. */
    this.held = null;
    this.onOnline = () => this.reconnectNow();
    this.onOffline = () => this.badge?.set('offline', 'no network');
    this.onVisible = () => { if (document.visibilityState === 'visible') this.reconnectNow(); };
  }

  start() {
    addEventListener('online', this.onOnline);
    addEventListener('offline', this.onOffline);
    document.addEventListener('visibilitychange', this.onVisible);
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    removeEventListener('online', this.onOnline);
    removeEventListener('offline', this.onOffline);
    document.removeEventListener('visibilitychange', this.onVisible);
    clearTimeout(this.retryTimer);
    this.stopPolling();
    this.stopProbing();
    clearInterval(this.watchdog);
    if (this.socket) this.socket.close(1000, 'page done');
  }

  /** A reconnect that should not wait out the backoff (the network or the tab came back). */
  reconnectNow() {
    if (this.stopped || (this.socket && this.socket.readyState <= WebSocket.OPEN)) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let opened = false;
    let socket;
    try {
      // Browsers cannot set headers on a WebSocket: the token rides as a subprotocol, never in the URL.
      const bearer = token();
      socket = new WebSocket(`${scheme}//${location.host}/v1/stream`, bearer ? ['switchboard', `bearer.${bearer}`] : []);
    } catch {
      this.failed(false);
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      opened = true;
      socket.send(JSON.stringify({ subscribe: { after: this.last, topics: this.topics, heartbeat: true } }));
      this.failedOpens = 0;
      this.stopPolling();
      this.stopProbing();
      this.heard();
      this.badge?.set('live');
      this.watch(socket);
    };
    socket.onmessage = (message) => {
      this.attempt = 0;  // the backoff starts over once the server has really served this socket
      this.heard();
      this.receive(message.data);
    };
    socket.onclose = (close) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (close.code === 4001) {  // the token stopped working (revoked, expired)
        this.badge?.set('offline', close.reason || 'signed out');
        return;
      }
      if (close.code === 1008 || close.code === 1003 || close.code === 4003) {  // a subscription the server will never accept
        this.badge?.set('offline', close.reason || 'refused');
        return;
      }
      this.failed(opened);
    };
    if (this.badge && !['polling', 'offline'].includes(this.badge.state)) this.badge.set(this.attempt === 0 ? 'connecting' : 'reconnecting');
  }

  heard() {
    this.heardAt = Date.now();
    this.badge?.touch();
  }

  /** A socket that stays open but silent past three promised heartbeats is dead (a lost network, a
   *  frozen server): it is closed, and the feed reconnects as after any close. */
  watch(socket) {
    clearInterval(this.watchdog);
    this.watchdog = setInterval(() => {
      if (this.socket !== socket) { clearInterval(this.watchdog); return; }
      if (this.heartbeatMs && Date.now() - this.heardAt > 3 * this.heartbeatMs) {
        clearInterval(this.watchdog);
        this.socket = null;
        socket.onclose = null;
        socket.close();
        this.failed(true);
      }
    }, 1000);
  }

  /** While the socket is down: ask `/healthz` every second. No answer: offline (said at once, not after
   *  the backoff); an answer: reconnect now instead of waiting out the backoff. */
  startProbing() {
    if (this.probing || this.stopped) return;
    this.probing = true;
    const probe = async () => {
      let answered = false;
      try {
        const response = await fetch('/healthz', { cache: 'no-store', signal: AbortSignal.timeout(2000) });
        answered = response.status > 0;
      } catch {
        answered = false;
      }
      if (!this.probing) return;
      if (!answered) {
        this.badge?.set('offline', 'server not answering');
      } else if (!this.pollTimer) {
        if (this.badge?.offline) this.badge.set('reconnecting');
        this.reconnectNow();
      }
      this.probeTimer = setTimeout(probe, 1000);
    };
    this.probeTimer = setTimeout(probe, 0);
  }

  stopProbing() {
    clearTimeout(this.probeTimer);
    this.probeTimer = null;
    this.probing = false;
  }

  /** Full-jitter exponential backoff, 0.5 s → 20 s; polling once opening has failed twice in a row
   *  while the server answers; `/healthz` probed meanwhile (see `startProbing`). */
  failed(hadOpened) {
    if (this.stopped) return;
    this.startProbing();
    this.failedOpens = hadOpened ? 0 : this.failedOpens + 1;
    if (!hadOpened && this.failedOpens >= 2 && this.poll) this.startPolling();
    const ceiling = Math.min(20000, 500 * 2 ** this.attempt);
    this.attempt += 1;
    const delay = Math.random() * ceiling;
    if (!this.pollTimer && !this.badge?.offline) {
      this.badge?.set(navigator.onLine === false ? 'offline' : 'reconnecting', `retry in ${(delay / 1000).toFixed(1)} s`);
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  receive(text) {
    if (this.held) { this.held.push(text); return; }  // a reload is under way: after it, in order
    let message;
    try { message = JSON.parse(text); } catch { return; }
    if (message.type === 'event') {
      const position = message.position;
      if (position <= this.last) return;  // already applied
      if (this.contiguous && position !== this.last + 1 && this.resync) {
        this.resyncFrom(position);
        return;
      }
      this.last = position;
      this.onEvent(message.event);
    } else if (message.type === 'state') {
      this.onState(message.topic, message.state, message.position);
    } else if (message.type === 'heartbeat') {
      this.heartbeatMs = message.everyMs;
    } else if (message.type === 'behind') {
      // The server is more than a page ahead of what this page has seen (a reconnect after a while, a
      // server under load): said on the badge until the server says it has caught up (distance 0).
      if (message.distance > 0) this.badge?.set('behind', `${message.distance} events behind`);
      else if (this.badge?.state === 'behind') this.badge.set('live');
    }
  }

  /**
   * A gap: reload the state from REST (it covers everything up to at least `position`), then apply
   * what arrived meanwhile that the reload does not already cover.
   */
  async resyncFrom(position) {
    this.last = Math.max(this.last, position);
    this.held = [];
    try {
      const reached = await this.resync();
      if (Number.isFinite(reached)) this.last = Math.max(this.last, reached);
    } catch {
      /* the next gap or reconnect tries again */
    }
    const held = this.held;
    this.held = null;
    for (const text of held) this.receive(text);
  }

  startPolling() {
    if (this.pollTimer) return;
    this.badge?.set('polling');
    const tick = async () => {
      try {
        await this.poll();
        this.badge?.set('polling');
        this.badge?.touch();
      } catch {
        this.badge?.set('offline', 'server not answering');
      }
      if (this.pollTimer) this.pollTimer = setTimeout(tick, this.pollEveryMs);
    };
    this.pollTimer = setTimeout(tick, 0);
  }

  stopPolling() {
    if (!this.pollTimer) return;
    clearTimeout(this.pollTimer);
    this.pollTimer = null;
    // Back on the feed: whatever changed while polling comes after `last`, which polling did not move,
    // so a page that polled reloads once to be sure its REST view and the feed agree.
    if (this.resync) this.resync().catch(() => {});
  }
}
