// A goroutine inside gort_blocking_begin/end (here a 1.5 s nanosleep) does
// not hold up a stop-the-world: the stop returns long before the sleep
// ends. Its C call may finish while the world is stopped, but it cannot
// return into the runtime (gort_blocking_end) until the world starts again.
// env: GORTMAXPROCS=2
// env: GORTMAXPROCS=1
// timeout: 60
#include "stw_test_util.h"

#define SLEEP_MS 1500

static atomic_int phase; /* 1: about to sleep, 2: sleep returned, 3: back in Go land */
static _Atomic int64_t sleep_began;

static void blocker(void *arg) {
    (void)arg;
    gort_blocking_begin();
    atomic_store(&sleep_began, gt_now_ns());
    atomic_store(&phase, 1);
    struct timespec ts = {SLEEP_MS / 1000, (SLEEP_MS % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) CHECK_EQ(errno, EINTR);
    atomic_store(&phase, 2);
    gort_blocking_end();
    atomic_store(&phase, 3);
}

int main(void) {
    gt_watchdog(50);
    stw_start_hogs(2);
    for (int round = 0; round < 3; round++) {
        atomic_store(&phase, 0);
        CHECK_EQ(gort_go(blocker, NULL), 0);
        int64_t spawned = gt_now_ns();
        while (atomic_load(&phase) != 1) {
            if (gt_now_ns() - spawned > 2000000000LL) {
                fprintf(stderr, "round %d: the new goroutine did not start within 2 s\n", round);
                fflush(stderr);
                exit(1); /* not abort: with GORTTRACE set, the trace gets written */
            }
            usleep(1000);
        }
        usleep(20000); /* well inside its nanosleep now */
        int64_t t0 = gt_now_ns();
        CHECK_EQ(gort_stop_the_world(), 0);
        int64_t stopped = gt_now_ns(), took_ms = (stopped - t0) / 1000000;
        /* Had the stop waited for the marked call, it would take about the
         * rest of the sleep; half of it proves it did not, without making
         * this a latency benchmark (stw_stats_* and bench/ measure that). */
        if (took_ms > SLEEP_MS / 2) {
            gort_stats st = stw_stats();
            fprintf(stderr,
                    "round %d: stopping the world took %lld ms (the goroutine in the marked call sleeps %d ms); "
                    "preempt signals=%llu async=%llu unsafe=%llu handoffs=%llu\n",
                    round, (long long)took_ms, SLEEP_MS, (unsigned long long)st.preempt_signals,
                    (unsigned long long)st.preempt_async, (unsigned long long)st.preempt_unsafe,
                    (unsigned long long)st.handoffs);
            fflush(stderr);
            exit(1); /* not abort: with GORTTRACE set, the trace gets written */
        }
        /* Still in its C call, unless this thread was itself descheduled for
         * most of the sleep before it could stop the world (loaded machine). */
        if (stopped - atomic_load(&sleep_began) < (int64_t)(SLEEP_MS - 100) * 1000000) CHECK_EQ(atomic_load(&phase), 1);
        /* Its C call ends while we keep the world stopped... */
        CHECK_WITHIN_MS(5000, atomic_load(&phase) == 2);
        /* ...but it may not come back into the runtime. */
        usleep(100000);
        CHECK_EQ(atomic_load(&phase), 2);
        CHECK_EQ(gort_start_the_world(), 0);
        CHECK_WITHIN_MS(5000, atomic_load(&phase) == 3);
        printf("round %d: stopped in %lld ms while a goroutine slept %d ms in a marked call\n", round,
               (long long)took_ms, SLEEP_MS);
    }
    stw_stop_hogs();
    return 0;
}
