// Goroutines that lock one pthread mutex, increment a shared counter (with a
// short call-free stretch inside the critical section, so preemption signals
// land there) and unlock, in a loop, are preempted thousands of times beside
// call-free hogs on 2 Ps, many of them while holding the mutex. The others
// then block on it in the kernel while holding a P: the runtime must take
// those Ps back (no CPU burnt, so no timer fires) and let the holder run
// again. No deadlock (a stalled worker fails the test), mutual exclusion
// holds (owner check), the total is exact, and preemptions really happened.
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=1
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=2
// env: GORTMAXPROCS=1 GORTDEBUG=preemptms=1
// timeout: 60
#include "preempt_test_util.h"

#define WORKERS 8
#define HOGS 2
#define RUN_MS 2500

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t shared_count;   /* protected by mu */
static volatile int owner = -1; /* protected by mu */
static uint64_t mine[WORKERS];
static atomic_ullong long_holds; /* critical sections that took > 1 ms */

static void work(int id, struct pt_counter *progress, const atomic_int *stop) {
    uint64_t n = 0;
    while (!atomic_load_explicit(stop, memory_order_relaxed)) {
        CHECK_EQ(pthread_mutex_lock(&mu), 0);
        int64_t t0 = gt_now_ns();
        CHECK_EQ(owner, -1);
        owner = id;
        uint64_t v = shared_count;
        /* call-free stretch inside the lock: a few microseconds */
        for (volatile int i = 0; i < 2000; i++) {
        }
        shared_count = v + 1;
        CHECK_EQ(owner, id);
        owner = -1;
        if (gt_now_ns() - t0 > CT_MS(1)) atomic_fetch_add_explicit(&long_holds, 1, memory_order_relaxed);
        CHECK_EQ(pthread_mutex_unlock(&mu), 0);
        atomic_store_explicit(&progress->n, ++n, memory_order_relaxed);
    }
    mine[id] = n;
}

int main(void) {
    gt_watchdog(50);
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep what was printed if a check aborts */
    gort_stats d;
    pt_run_workers("pthread mutex", work, WORKERS, HOGS, RUN_MS, 5000, &d);
    uint64_t total = 0;
    for (int i = 0; i < WORKERS; i++) total += mine[i];
    printf("%" PRIu64 " increments, %llu critical sections held > 1 ms (preempted or waited inside)\n", total,
           (unsigned long long)atomic_load(&long_holds));
    CHECK_EQ(shared_count, total);
    CHECK(d.preempt_async > 0);
    return 0;
}
