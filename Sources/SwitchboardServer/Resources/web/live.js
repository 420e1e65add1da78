import { token } from './ui.js';

// The one feed client every page uses: one WebSocket per page, resumed from the last applied position,
// events applied once and in order, a visible connection badge, and 500 ms polling when no WebSocket
// can be opened at all. Clocks come from server timestamps corrected by the server's clock offset.

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
  connecting: ['◌', 'connecting'], live: ['●', 'live'], reconnecting: ['↻', 'reconnecting'],
  polling: ['⇅', 'polling (no WebSocket)'], offline: ['✕', 'offline'],
};

/** The badge: live / reconnecting / polling / offline and "updated N s ago"; mirrored on `body[data-feed]`. */
export class ConnectionBadge {
  constructor(node) {
    this.node = node;
    this.state = 'connecting';
    this.updatedAt = null;
    this.detail = '';
    setInterval(() => this.render(), 1000);
    this.render();
  }

  set(state, detail = '') {
    if (state === this.state && detail === this.detail) return;
    const changed = state !== this.state;
    this.state = state;
    this.detail = detail;
    document.body.dataset.feed = state;
    this.render();
    if (changed) {
      const region = document.getElementById('announcer');
      if (region) region.textContent = `Connection ${words[state][1]}${detail ? ': ' + detail : ''}`;
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
      socket.send(JSON.stringify({ subscribe: { after: this.last, topics: this.topics } }));
      this.failedOpens = 0;
      this.stopPolling();
      this.badge?.set('live');
    };
    socket.onmessage = (message) => {
      this.attempt = 0;  // the backoff starts over once the server has really served this socket
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
    if (this.badge && this.badge.state !== 'polling') this.badge.set(this.attempt === 0 ? 'connecting' : 'reconnecting');
  }

  /** Full-jitter exponential backoff, 0.5 s → 20 s; polling once opening has failed twice in a row. */
  failed(hadOpened) {
    if (this.stopped) return;
    this.failedOpens = hadOpened ? 0 : this.failedOpens + 1;
    if (!hadOpened && this.failedOpens >= 2 && this.poll) this.startPolling();
    const ceiling = Math.min(20000, 500 * 2 ** this.attempt);
    this.attempt += 1;
    const delay = Math.random() * ceiling;
    if (!this.pollTimer) {
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
      this.badge?.touch();
    } else if (message.type === 'state') {
      this.onState(message.topic, message.state, message.position);
      this.badge?.touch();
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
        this.badge?.set('polling', 'server not answering');
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
