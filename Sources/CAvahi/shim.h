#ifndef EDGENODE_CAVAHI_SHIM_H
#define EDGENODE_CAVAHI_SHIM_H
#include <net/if.h>
#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/strlst.h>
#include <avahi-common/thread-watch.h>
#include <avahi-common/timeval.h>

/* The poll API is a table of function pointers; these call through it from Swift. */
static inline AvahiTimeout *edgenode_avahi_timeout_new(const AvahiPoll *poll, unsigned milliseconds, AvahiTimeoutCallback callback, void *userdata) {
    struct timeval when;
    avahi_elapse_time(&when, milliseconds, 0);
    return poll->timeout_new(poll, &when, callback, userdata);
}

static inline void edgenode_avahi_timeout_free(const AvahiPoll *poll, AvahiTimeout *timeout) {
    poll->timeout_free(timeout);
}
#endif
