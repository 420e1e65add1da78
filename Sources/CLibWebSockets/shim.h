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

// The lwsl_* logging macros are variadic; the server only needs to set the level and the emitter.
static inline void cswitchboard_lws_quiet_logs(void) { lws_set_log_level(LLL_ERR, cswitchboard_lws_emit); }
#endif
