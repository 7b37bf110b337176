/* Goroutine bodies and probes for the Python binding's tests.
 *
 * Built into a shared library linked against libgort.so (tests/python.rs
 * does it; tests/gort_testlib.py does it by hand when run directly) and
 * loaded by the tests with ctypes.CDLL from $GORT_TEST_HELPER.
 *
 * Conventions: every `helper_*` goroutine takes `void *arg`. A gort_chan*
 * reaching a goroutine -- as the arg itself (gort.go(fn, channel)) or inside
 * an args struct (channel.retained_ptr()) -- is a reference the goroutine
 * owns and releases when it is done, so the leak tests can tell.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gort.h"

#define EXPORT __attribute__((visibility("default")))

/* ---- layout probes: the Python side declares these structs with ctypes ---- */

EXPORT size_t helper_layout(const char *what) {
#define PROBE(name, expr) if (strcmp(what, name) == 0) return (expr)
    PROBE("sizeof gort_waitgroup", sizeof(gort_waitgroup));
    PROBE("alignof gort_waitgroup", alignof(gort_waitgroup));
    PROBE("sizeof gort_mutex", sizeof(gort_mutex));
    PROBE("sizeof gort_case", sizeof(gort_case));
    PROBE("offsetof gort_case.chan", offsetof(gort_case, chan));
    PROBE("offsetof gort_case.op", offsetof(gort_case, op));
    PROBE("offsetof gort_case.elem", offsetof(gort_case, elem));
    PROBE("offsetof gort_case.result", offsetof(gort_case, result));
    PROBE("sizeof gort_attr", sizeof(gort_attr));
    PROBE("offsetof gort_attr.stack_size", offsetof(gort_attr, stack_size));
    PROBE("offsetof gort_attr.name", offsetof(gort_attr, name));
    PROBE("sizeof gort_stats", sizeof(gort_stats));
    PROBE("offsetof gort_stats.goroutines", offsetof(gort_stats, goroutines));
    PROBE("offsetof gort_stats.spawned", offsetof(gort_stats, spawned));
    PROBE("offsetof gort_stats.maxprocs", offsetof(gort_stats, maxprocs));
    PROBE("offsetof gort_stats.threads", offsetof(gort_stats, threads));
    PROBE("offsetof gort_stats.preempt_async", offsetof(gort_stats, preempt_async));
    PROBE("offsetof gort_stats.preempt_coop", offsetof(gort_stats, preempt_coop));
    PROBE("offsetof gort_stats.preempt_signals", offsetof(gort_stats, preempt_signals));
    PROBE("offsetof gort_stats.preempt_unsafe", offsetof(gort_stats, preempt_unsafe));
    PROBE("offsetof gort_stats.handoffs", offsetof(gort_stats, handoffs));
    PROBE("offsetof gort_stats.stw_count", offsetof(gort_stats, stw_count));
    PROBE("offsetof gort_stats.stw_last_ns", offsetof(gort_stats, stw_last_ns));
    PROBE("offsetof gort_stats.stw_max_ns", offsetof(gort_stats, stw_max_ns));
    PROBE("GORT_SEND", GORT_SEND);
    PROBE("GORT_RECV", GORT_RECV);
#undef PROBE
    fprintf(stderr, "helper_layout: unknown probe '%s'\n", what);
    return (size_t)-1;
}

/* ---- producers and consumers ---- */

/* arg: the channel itself (int64 elements, owned). Sends 0..99, closes, releases. */
EXPORT void helper_produce_100(void *arg) {
    gort_chan *ch = arg;
    for (int64_t i = 0; i < 100; i++) {
        if (gort_chan_send(ch, &i) != 0) break;
    }
    gort_chan_close(ch);
    gort_chan_release(ch);
}

struct produce_args {
    gort_chan *ch;       /* int64 elements; owned */
    int64_t start, count;
    int32_t close_when_done;
    gort_waitgroup *wg;  /* gort_wg_done when finished, if not NULL */
    int64_t sent;        /* out: how many sends succeeded */
    int32_t last_error;  /* out: the error that stopped the producer, or 0 */
};

/* Sends start, start+1, ... (count values), optionally closes, releases. */
EXPORT void helper_produce(void *arg) {
    struct produce_args *a = arg;
    int err = 0;
    int64_t sent = 0;
    for (int64_t i = 0; i < a->count; i++) {
        int64_t v = a->start + i;
        if ((err = gort_chan_send(a->ch, &v)) != 0) break;
        sent++;
    }
    a->sent = sent;
    a->last_error = err;
    if (a->close_when_done) gort_chan_close(a->ch);
    gort_chan_release(a->ch);
    if (a->wg) gort_wg_done(a->wg);
}

struct pipe_args {
    gort_chan *in;   /* owned */
    gort_chan *out;  /* owned */
};

/* Sums the int64 values received on `in` until it is closed, sends the sum on `out`. */
EXPORT void helper_sum(void *arg) {
    struct pipe_args *a = arg;
    int64_t sum = 0, v;
    while (gort_chan_recv(a->in, &v) == 0) sum += v;
    gort_chan_send(a->out, &sum);
    gort_chan_release(a->in);
    gort_chan_release(a->out);
}

struct point {
    int64_t id;
    double x;
    char name[16];
};

/* Receives points on `in`; sends {id*2, x+0.5, NAME} on `out`; closes `out` when `in` is closed. */
EXPORT void helper_transform(void *arg) {
    struct pipe_args *a = arg;
    struct point p;
    while (gort_chan_recv(a->in, &p) == 0) {
        p.id *= 2;
        p.x += 0.5;
        for (size_t i = 0; i < sizeof p.name && p.name[i]; i++) p.name[i] = (char)toupper((unsigned char)p.name[i]);
        if (gort_chan_send(a->out, &p) != 0) break;
    }
    gort_chan_close(a->out);
    gort_chan_release(a->in);
    gort_chan_release(a->out);
}

struct send_after_args {
    gort_chan *ch;  /* int64 elements; owned */
    int64_t delay_ns;
    int64_t value;
};

/* Sleeps, then sends one value. */
EXPORT void helper_send_after(void *arg) {
    struct send_after_args *a = arg;
    gort_sleep(a->delay_ns);
    gort_chan_send(a->ch, &a->value);
    gort_chan_release(a->ch);
}

/* arg: the channel itself (owned), elements of at most 4096 bytes. Fills the
 * buffer with zeroed elements until a send would block, closes, releases. */
EXPORT void helper_fill_close(void *arg) {
    static const char zeros[4096];
    gort_chan *ch = arg;
    while (gort_chan_try_send(ch, zeros) == 0) {
    }
    gort_chan_close(ch);
    gort_chan_release(ch);
}

/* ---- counters and wait groups ---- */

struct count_args {
    _Atomic int64_t value;
    gort_waitgroup *wg;
};

/* Adds one to value, then gort_wg_done(wg) if wg is not NULL. */
EXPORT void helper_increment(void *arg) {
    struct count_args *a = arg;
    atomic_fetch_add(&a->value, 1);
    if (a->wg) gort_wg_done(a->wg);
}

/* arg: the wait group itself. */
EXPORT void helper_wg_done(void *arg) {
    gort_wg_done(arg);
}

struct sleep_done_args {
    gort_waitgroup *wg;
    int64_t delay_ns;
};

EXPORT void helper_sleep_done(void *arg) {
    struct sleep_done_args *a = arg;
    gort_sleep(a->delay_ns);
    gort_wg_done(a->wg);
}

struct spin_args {
    _Atomic int64_t counter;
    _Atomic int32_t stop;
    gort_waitgroup *wg;
};

/* Counts in a tight loop that makes no runtime call (so only asynchronous
 * preemption or a stopped world can pause it) until stop is set. */
EXPORT void helper_spin(void *arg) {
    struct spin_args *a = arg;
    while (!atomic_load_explicit(&a->stop, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&a->counter, 1, memory_order_relaxed);
    }
    gort_wg_done(a->wg);
}

/* arg: a uint64_t to store gort_self() into (nonzero on a goroutine). */
EXPORT void helper_store_self(void *arg) {
    *(_Atomic uint64_t *)arg = gort_self();
}
