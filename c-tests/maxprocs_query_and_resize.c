// gort_maxprocs(n <= 0) returns the current number of Ps without changing
// it (GORTMAXPROCS, or the CPUs this process may use when unset); n > 0
// sets it and returns the previous value, and goroutines keep running
// across resizes; gort_stats.maxprocs follows.
// env: GORTMAXPROCS=2
// env: GORT_TEST_NO_MAXPROCS=1
// timeout: 60
#include "chan_test_util.h"

#include <sched.h>

static atomic_int ran;
static void work(void *arg) {
    (void)arg;
    gort_yield();
    atomic_fetch_add(&ran, 1);
}

static void run_some(void) {
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    int before = atomic_load(&ran);
    for (int i = 0; i < 200; i++) ct_go_wg(&wg, work, NULL);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    CHECK_EQ(atomic_load(&ran), before + 200);
}

static int stats_procs(void) {
    gort_stats st;
    CHECK_EQ(gort_read_stats(&st), 0);
    return (int)st.maxprocs;
}

static void resize_from_goroutine(void *arg) {
    (void)arg;
    CHECK_EQ(gort_maxprocs(2), 1);
    run_some();
}

int main(void) {
    gt_watchdog(50);
    const char *env = getenv("GORTMAXPROCS");
    int start = gort_maxprocs(0);
    if (env) {
        CHECK_EQ(start, atoi(env));
    } else {
        cpu_set_t set;
        CHECK_EQ(sched_getaffinity(0, sizeof set, &set), 0);
        CHECK(start >= 1 && start <= CPU_COUNT(&set)); /* a CPU quota may lower it */
    }
    CHECK_EQ(gort_maxprocs(-5), start);
    CHECK_EQ(stats_procs(), start);
    run_some();

    CHECK_EQ(gort_maxprocs(3), start);
    CHECK_EQ(gort_maxprocs(0), 3);
    CHECK_EQ(stats_procs(), 3);
    run_some();
    CHECK_EQ(gort_maxprocs(1), 3);
    CHECK_EQ(gort_maxprocs(0), 1);
    run_some();
    CHECK_EQ(gort_main(resize_from_goroutine, NULL), 0);
    CHECK_EQ(gort_maxprocs(0), 2);
    CHECK_EQ(stats_procs(), 2);
    CHECK_EQ(gort_maxprocs(start), 2);
    run_some();
    return 0;
}
