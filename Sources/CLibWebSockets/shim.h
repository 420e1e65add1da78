#ifndef SWITCHBOARD_CLIBWEBSOCKETS_SHIM_H
#define SWITCHBOARD_CLIBWEBSOCKETS_SHIM_H
#include <libwebsockets.h>

// LWS_PRE is a macro expression Swift cannot import: the headroom lws_write needs before a payload.
static inline size_t cswitchboard_lws_pre(void) { return LWS_PRE; }

#include <stdio.h>
#include <time.h>

// lws's errors, at most one line a second: when descriptors run out its accept fails thousands of
// times a second, and each failure logged would fill the disk (the count of those left out follows).
// Called on the service thread only.
static inline void cswitchboard_lws_emit(int level, const char *line) {
    static time_t last = 0;
    static unsigned long dropped = 0;
    time_t now = time(NULL);
    if (now == last) {
        dropped++;
        return;
    }
    if (dropped > 0) fprintf(stderr, "lws: %lu more errors in the last second\n", dropped);
    dropped = 0;
    last = now;
    fputs(line, stderr);
}

#include <ev.h>

// The service loop's event loop: libev on epoll, given to lws as a foreign loop (lws's own loop polls
// every descriptor on each wake-up — O(sockets) per commit, a third of the server's CPU with 1 000
// feed sockets). Foreign, so lws installs no SIGINT handler of its own. Wrapped here so ev.h's macros
// stay in C.
static inline void *cswitchboard_ev_loop_new(void) { return ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV); }
static inline int cswitchboard_ev_run_once(void *loop) { return ev_run((struct ev_loop *)loop, EVRUN_ONCE); }
static inline void cswitchboard_ev_loop_destroy(void *loop) { ev_loop_destroy((struct ev_loop *)loop); }

#include <stdlib.h>

// lws 4.1's libev plugin re-arms its one timer with ev_timer_start on a timer already running, which
// libev ignores: a deadline nearer than the armed one (a ping due in 1 s while a 30 s timeout is
// armed) waits for the armed one, or for traffic. lws services its due timers after any wake-up of
// its own, so a tick that wakes it (lws_cancel_service) bounds how late a ping, a hang-up or a
// timeout can be on a quiet server. The tick costs one wake-up per period.
struct cswitchboard_ticker { ev_timer timer; struct lws_context *context; };
static void cswitchboard_tick(struct ev_loop *loop, ev_timer *timer, int revents) {
    (void)loop; (void)revents;
    lws_cancel_service(((struct cswitchboard_ticker *)timer)->context);
}
static inline void *cswitchboard_ev_ticker_start(void *loop, struct lws_context *context, double seconds) {
    struct cswitchboard_ticker *ticker = malloc(sizeof *ticker);
    if (ticker == NULL) return NULL;
    ev_timer_init(&ticker->timer, cswitchboard_tick, seconds, seconds);
    ticker->context = context;
    ev_timer_start((struct ev_loop *)loop, &ticker->timer);
    return ticker;
}
static inline void cswitchboard_ev_ticker_stop(void *loop, void *ticker) {
    if (ticker == NULL) return;
    ev_timer_stop((struct ev_loop *)loop, &((struct cswitchboard_ticker *)ticker)->timer);
    free(ticker);
}

// The lwsl_* logging macros are variadic; the server only needs to set the level and the emitter.
static inline void cswitchboard_lws_quiet_logs(void) { lws_set_log_level(LLL_ERR, cswitchboard_lws_emit); }
#endif
