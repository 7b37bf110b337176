// gort_read_stats fills its fields sensibly: spawned grows by at least the
// number of goroutines started, maxprocs and gort_maxprocs(0) match
// GORTMAXPROCS, goroutines is the live count, the runtime owns at least one
// thread; NULL gives EINVAL; gort_version is a non-empty string.
// env: GORTMAXPROCS=3
// env: GORTMAXPROCS=1
// timeout: 30
#include "chan_test_util.h"

static void nothing(void *arg) { (void)arg; }

int main(void) {
    gt_watchdog(25);
    int want = atoi(getenv("GORTMAXPROCS"));
    const char *v = gort_version();
    CHECK(v != NULL && v[0] != 0);
    printf("gort version %s\n", v);

    CHECK_EQ(gort_maxprocs(0), want);
    CHECK_EQ(gort_maxprocs(-1), want);
    CHECK_EQ(gort_maxprocs(0), want); /* querying changed nothing */

    gort_stats a, b;
    CHECK_EQ(gort_read_stats(&a), 0);
    CHECK_EQ(a.maxprocs, (uint32_t)want);
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    for (int i = 0; i < 500; i++) ct_go_wg(&wg, nothing, NULL);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    CHECK_EQ(ct_wait_goroutines_at_most(0, 5000), 0);
    CHECK_EQ(gort_read_stats(&b), 0);
    CHECK(b.spawned >= a.spawned + 500);
    CHECK_EQ(b.goroutines, 0);
    CHECK_EQ(b.maxprocs, (uint32_t)want);
    CHECK(b.threads >= 1);
    CHECK(b.stw_max_ns >= b.stw_last_ns);
    CHECK_EQ(gort_read_stats(NULL), EINVAL);
    return 0;
}
