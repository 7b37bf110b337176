// gort_read_stats follows stops of the world: stw_count grows by one per
// stop; stw_last_ns is the time the last stop took to reach a stopped
// world (positive, and no longer than the gort_stop_the_world call);
// stw_max_ns is the largest stw_last_ns so far. Checked from a plain thread
// and from a goroutine, with call-free hogs to stop.
// env: GORTMAXPROCS=2
// timeout: 60
#include "stw_test_util.h"

static uint64_t seen_max;

static void stops(void *arg) {
    int n = (int)(intptr_t)arg;
    for (int i = 0; i < n; i++) {
        gort_stats before = stw_stats();
        int64_t t0 = gt_now_ns();
        CHECK_EQ(gort_stop_the_world(), 0);
        int64_t took = gt_now_ns() - t0;
        gort_stats during = stw_stats(); /* readable while stopped */
        CHECK_EQ(gort_start_the_world(), 0);
        gort_stats after = stw_stats();
        CHECK_EQ(during.stw_count, before.stw_count + 1);
        CHECK_EQ(after.stw_count, during.stw_count);
        CHECK(during.stw_last_ns > 0);
        if ((int64_t)during.stw_last_ns > took) {
            fprintf(stderr, "stw_last_ns=%llu but the call took %lld ns\n", (unsigned long long)during.stw_last_ns,
                    (long long)took);
            abort();
        }
        if (during.stw_last_ns > seen_max) seen_max = during.stw_last_ns;
        CHECK_EQ(during.stw_max_ns, seen_max);
        CHECK(during.stw_max_ns >= before.stw_max_ns);
        CHECK_EQ(after.stw_last_ns, during.stw_last_ns);
        if (i % 10 == 0) CHECK_EQ(gort_sleep(1000000), 0);
    }
}

int main(void) {
    gt_watchdog(50);
    gort_stats s0 = stw_stats();
    CHECK_EQ(s0.stw_count, 0);
    CHECK_EQ(s0.stw_last_ns, 0);
    CHECK_EQ(s0.stw_max_ns, 0);
    stw_start_hogs(4);
    stops((void *)(intptr_t)50);
    CHECK_EQ(gort_main(stops, (void *)(intptr_t)50), 0);
    gort_stats s = stw_stats();
    CHECK_EQ(s.stw_count, 100);
    stw_stop_hogs();
    printf("100 stops: last %llu us, max %llu us\n", (unsigned long long)s.stw_last_ns / 1000,
           (unsigned long long)s.stw_max_ns / 1000);
    return 0;
}
