// gort_sleep never returns before the requested time has passed
// (CLOCK_MONOTONIC), for many goroutines sleeping varied lengths at once and
// for plain threads; it returns 0, and gort_now is monotonic nanoseconds
// consistent with CLOCK_MONOTONIC.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// timeout: 90
#include "chan_test_util.h"

#define SLEEPERS 64
#define REPS 40

static atomic_int early;

static void sleeper(void *arg) {
    uint64_t seed = (uint64_t)(uintptr_t)arg * 7919 + 1;
    for (int i = 0; i < REPS; i++) {
        int64_t ns;
        switch (ct_rand(&seed) % 4) {
        case 0: ns = 1 + (int64_t)(ct_rand(&seed) % 1000); break;             /* < 1 µs */
        case 1: ns = (int64_t)(ct_rand(&seed) % 1000000); break;              /* < 1 ms */
        case 2: ns = CT_MS(1) + (int64_t)(ct_rand(&seed) % CT_MS(9)); break;  /* 1-10 ms */
        default: ns = CT_MS(10) + (int64_t)(ct_rand(&seed) % CT_MS(20)); break; /* 10-30 ms */
        }
        int64_t t0 = gt_now_ns();
        CHECK_EQ(gort_sleep(ns), 0);
        int64_t el = gt_now_ns() - t0;
        if (el < ns) {
            fprintf(stderr, "gort_sleep(%" PRId64 ") returned after %" PRId64 " ns\n", ns, el);
            atomic_fetch_add(&early, 1);
        }
        CHECK(el < ns + CT_MS(5000));
    }
}
static void long_sleeper(void *arg) {
    (void)arg;
    int64_t t0 = gt_now_ns();
    CHECK_EQ(gort_sleep(CT_MS(100)), 0);
    int64_t el = gt_now_ns() - t0;
    if (el < CT_MS(100)) atomic_fetch_add(&early, 1);
    CHECK(el < CT_MS(5100));
}

static void *t_sleeper(void *arg) {
    sleeper(arg);
    return NULL;
}

int main(void) {
    gt_watchdog(80);
    /* gort_now is CLOCK_MONOTONIC nanoseconds */
    int64_t a = gt_now_ns(), n = gort_now(), b = gt_now_ns();
    CHECK(n >= a && n <= b);
    CHECK_EQ(gort_sleep(0), 0);

    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    for (intptr_t i = 0; i < SLEEPERS; i++) ct_go_wg(&wg, sleeper, (void *)i);
    pthread_t t1 = ct_thread(t_sleeper, (void *)1000), t2 = ct_thread(t_sleeper, (void *)1001);
    sleeper((void *)1002); /* the main thread too */
    ct_join(t1);
    ct_join(t2);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    CHECK_EQ(atomic_load(&early), 0);

    /* 1000 goroutines sleeping 100 ms at the same time */
    for (int i = 0; i < 1000; i++) ct_go_wg(&wg, long_sleeper, NULL);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    CHECK_EQ(atomic_load(&early), 0);
    return 0;
}
