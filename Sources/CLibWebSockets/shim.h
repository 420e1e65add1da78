#ifndef SWITCHBOARD_CLIBWEBSOCKETS_SHIM_H
#define SWITCHBOARD_CLIBWEBSOCKETS_SHIM_H
#include <libwebsockets.h>

// LWS_PRE is a macro expression Swift cannot import: the headroom lws_write needs before a payload.
static inline size_t cswitchboard_lws_pre(void) { return LWS_PRE; }

// The lwsl_* logging macros are variadic; the server only needs to set the level.
static inline void cswitchboard_lws_quiet_logs(void) { lws_set_log_level(LLL_ERR, NULL); }
#endif
