/* Shared by the stop-the-world tests: call-free hogs with progress
 * counters, and waiting without entering the runtime. */
#ifndef STW_TEST_UTIL_H
#define STW_TEST_UTIL_H

#include "chan_test_util.h"

#define STW_MAX_HOGS 16

/* One counter per cache line so hogs do not slow each other down. */
static struct {
    _Alignas(64) atomic_uint_fast64_t n;
} stw_count[STW_MAX_HOGS];
static atomic_int stw_hogs_stop;
static gort_waitgroup stw_hogs_wg;

/* A call-free loop: it never enters the runtime, so only asynchronous
 * preemption can stop it. */
static void stw_hog(void *arg) {
    int i = (int)(intptr_t)arg;
    while (!atomic_load_explicit(&stw_hogs_stop, memory_order_relaxed))
        atomic_fetch_add_explicit(&stw_count[i].n, 1, memory_order_relaxed);
    CHECK_EQ(gort_wg_done(&stw_hogs_wg), 0);
}

static inline void stw_start_hogs(int n) {
    CHECK(n <= STW_MAX_HOGS);
    CHECK_EQ(gort_wg_add(&stw_hogs_wg, n), 0);
    for (int i = 0; i < n; i++) CHECK_EQ(gort_go(stw_hog, (void *)(intptr_t)i), 0);
}

static inline void stw_stop_hogs(void) {
    atomic_store(&stw_hogs_stop, 1);
    CHECK_EQ(gort_wg_wait(&stw_hogs_wg), 0);
}

static inline void stw_snapshot(int n, uint64_t *out) {
    for (int i = 0; i < n; i++) out[i] = atomic_load(&stw_count[i].n);
}

/* Spins for `ns` without any runtime call or blocking system call (safe
 * for the goroutine that stopped the world). */
static inline void stw_spin_ns(int64_t ns) {
    int64_t end = gt_now_ns() + ns;
    while (gt_now_ns() < end) {
    }
}

/* Waits until every hog's counter passed `base`, at most `ms`; returns how
 * many did not. Sleeps with gort_sleep (parks a goroutine, blocks a thread). */
static inline int stw_wait_all_moved(int n, const uint64_t *base, int ms) {
    int64_t deadline = gt_now_ns() + (int64_t)ms * 1000000;
    for (;;) {
        int stuck = 0;
        for (int i = 0; i < n; i++) stuck += atomic_load(&stw_count[i].n) <= base[i];
        if (stuck == 0 || gt_now_ns() > deadline) return stuck;
        CHECK_EQ(gort_sleep(1000000), 0);
    }
}

static inline gort_stats stw_stats(void) {
    gort_stats s;
    CHECK_EQ(gort_read_stats(&s), 0);
    return s;
}

#endif
