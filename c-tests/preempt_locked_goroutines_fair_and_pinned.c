// Goroutines locked to their threads (gort_lock_os_thread) in call-free
// loops are still preempted, fairly, and never leave their thread: 8 locked
// goroutines on 2 Ps share the CPU equally (Jain's index >= 0.99, by CPU
// time, see preempt_call_free_hogs_share_fairly), and each checks, with an
// inline gettid system call (no function call) every few thousand
// iterations, that it is still on the thread it locked; afterwards (after
// a runtime call too) the same. The window runs until ~4 s of CPU has been
// burnt (2 s on 2 idle CPUs).
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=1
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=2
// timeout: 90
#include "preempt_test_util.h"

#define LOCKED 8
#define TARGET_CPU_MS 4000
#define MAX_WALL_MS 30000

static struct pt_counter counters[LOCKED];
static struct pt_hog hogs[LOCKED];
static atomic_int stop_all;
static atomic_ullong tid_checks, moved;

static void locked_hog(void *arg) {
    struct pt_hog *h = arg;
    CHECK_EQ(gort_lock_os_thread(), 0);
    CHECK_EQ(pthread_getcpuclockid(pthread_self(), &h->clock), 0);
    long tid = pt_gettid_inline();
    h->tid = tid;
    atomic_store(&h->started, 1);
    uint64_t n = 0, checks = 0, bad = 0;
    while (!atomic_load_explicit(h->stop, memory_order_relaxed)) {
        n++;
        atomic_store_explicit(&h->counter->n, n, memory_order_relaxed);
        if ((n & 0xffff) == 0) { /* every 65536 iterations, ~50 µs */
            checks++;
            if (pt_gettid_inline() != tid) bad++;
        }
    }
    atomic_fetch_add(&tid_checks, checks);
    atomic_fetch_add(&moved, bad);
    gort_yield(); /* a runtime call: still pinned */
    CHECK_EQ(pt_gettid_inline(), tid);
    CHECK_EQ(gort_unlock_os_thread(), 0);
}

int main(void) {
    gt_watchdog(80);
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep what was printed if a check aborts */
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    for (int i = 0; i < LOCKED; i++) {
        hogs[i] = (struct pt_hog){.counter = &counters[i], .stop = &stop_all};
        ct_go_wg(&wg, locked_hog, &hogs[i]);
    }
    CHECK_EQ(pt_stats().maxprocs, 2);
    pt_thread_sleep_ms(200);
    gort_stats s0 = pt_stats();
    uint64_t iters[LOCKED], cpu[LOCKED];
    int64_t wall = pt_measure_hogs(hogs, LOCKED, TARGET_CPU_MS, MAX_WALL_MS, iters, cpu);
    gort_stats s1 = pt_stats();
    atomic_store(&stop_all, 1);
    CHECK_EQ(gort_wg_wait(&wg), 0);

    double jain_iters;
    double jain = pt_report_hogs(iters, cpu, LOCKED, wall, &jain_iters);
    /* all 8 threads are distinct */
    for (int i = 0; i < LOCKED; i++)
        for (int j = i + 1; j < LOCKED; j++) CHECK(hogs[i].tid != hogs[j].tid);
    printf("%llu thread checks inside the loops, %llu on a different thread; preempt_async +%" PRIu64
           " in the window\n",
           (unsigned long long)atomic_load(&tid_checks), (unsigned long long)atomic_load(&moved),
           s1.preempt_async - s0.preempt_async);
    CHECK_EQ(atomic_load(&moved), 0);
    CHECK(atomic_load(&tid_checks) > 1000);
    for (int i = 0; i < LOCKED; i++) CHECK(iters[i] > 0 && cpu[i] > 0);
    CHECK(jain >= 0.99);
    CHECK(jain_iters >= 0.95);
    CHECK(s1.preempt_async - s0.preempt_async >= 100);
    return 0;
}
