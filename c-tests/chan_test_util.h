/* Small helpers shared by the channel, select, goroutine and sync C tests.
 *
 * Included after (or instead of) gort_test.h. Everything here is built on
 * the public API only; nothing depends on the runtime's internals.
 */
#ifndef CHAN_TEST_UTIL_H
#define CHAN_TEST_UTIL_H

#include "gort_test.h"

#include <stdatomic.h>

#define CT_MS(n) ((int64_t)(n) * 1000000)

/* Spawns fn(arg) as a goroutine; fails the test if that fails. */
static inline void ct_go(gort_func fn, void *arg) { CHECK_EQ(gort_go(fn, arg), 0); }

/* Spawns fn(arg) as a goroutine counted by wg (wg_add before, wg_done after). */
struct ct_tracked {
    gort_func fn;
    void *arg;
    gort_waitgroup *wg;
};

static void ct_tracked_main(void *p) {
    struct ct_tracked t = *(struct ct_tracked *)p;
    free(p);
    t.fn(t.arg);
    CHECK_EQ(gort_wg_done(t.wg), 0);
}

static inline void ct_go_wg(gort_waitgroup *wg, gort_func fn, void *arg) {
    struct ct_tracked *t = malloc(sizeof *t);
    CHECK(t != NULL);
    t->fn = fn;
    t->arg = arg;
    t->wg = wg;
    CHECK_EQ(gort_wg_add(wg, 1), 0);
    CHECK_EQ(gort_go(ct_tracked_main, t), 0);
}

/* Starts a plain (joinable) OS thread. */
static inline pthread_t ct_thread(void *(*fn)(void *), void *arg) {
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, fn, arg), 0);
    return t;
}

static inline void ct_join(pthread_t t) { CHECK_EQ(pthread_join(t, NULL), 0); }

/* Sleeps at least ms milliseconds (a goroutine parks, a plain thread blocks). */
static inline void ct_sleep_ms(int ms) { CHECK_EQ(gort_sleep(CT_MS(ms)), 0); }

/* xorshift64*: deterministic per seed, good enough for jitter. */
static inline uint64_t ct_rand(uint64_t *s) {
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Like CHECK_WITHIN_MS, but polls with gort_sleep, so a goroutine waiting
 * here parks and frees its P instead of blocking its thread in usleep
 * (which would lean on the runtime's handoff of blocked Ps). Works on
 * plain threads too. */
#define CT_WITHIN_MS(ms, cond) GT_POLL_WITHIN_MS(ms, cond, gort_sleep(100000))

/* errno read and written through a fresh __errno_location() each time. A
 * goroutine may move to another thread at any runtime call, and the
 * compiler may keep errno's (thread-local) address across calls, so plain
 * `errno` in a goroutine can read the old thread's (see the README); the
 * runtime only promises that the goroutine's errno value moves with it. */
#if defined(__has_attribute) && __has_attribute(noipa)
#define CT_OPAQUE __attribute__((noinline, noipa, unused))
#else
#define CT_OPAQUE __attribute__((noinline, unused))
#endif
static CT_OPAQUE int ct_errno(void) { return errno; }
static CT_OPAQUE void ct_set_errno(int e) { errno = e; }

/* Makes a channel; fails the test if that fails. */
static inline gort_chan *ct_chan(size_t elem_size, size_t cap) {
    gort_chan *c = gort_chan_make(elem_size, cap);
    CHECK(c != NULL);
    return c;
}

/* Waits (briefly polling) until gort_num_goroutines() drops to at most n. */
static inline size_t ct_wait_goroutines_at_most(size_t n, int ms) {
    int64_t deadline = gt_now_ns() + CT_MS(ms);
    size_t live;
    while ((live = gort_num_goroutines()) > n && gt_now_ns() < deadline) usleep(1000);
    return live;
}

#endif
