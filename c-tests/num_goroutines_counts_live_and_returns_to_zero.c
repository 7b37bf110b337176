// gort_num_goroutines (and gort_stats.goroutines) count live goroutines: 0
// before any is spawned, exactly the parked ones while they wait, and back
// to 0 shortly after every goroutine has returned.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// timeout: 30
#include "chan_test_util.h"

#define N 1000

static gort_waitgroup alive, gate;

static void parked(void *arg) {
    (void)arg;
    CHECK_EQ(gort_wg_done(&alive), 0);
    CHECK_EQ(gort_wg_wait(&gate), 0);
}

static void inside(void *arg) {
    (void)arg;
    CHECK(gort_num_goroutines() >= 1); /* counts itself */
}

int main(void) {
    gt_watchdog(25);
    CHECK_EQ(gort_num_goroutines(), 0);
    for (int round = 0; round < 3; round++) {
        CHECK_EQ(gort_wg_add(&alive, N), 0);
        CHECK_EQ(gort_wg_add(&gate, 1), 0);
        for (int i = 0; i < N; i++) ct_go(parked, NULL);
        CHECK_EQ(gort_wg_wait(&alive), 0);
        ct_sleep_ms(10);
        CHECK_EQ(gort_num_goroutines(), N);
        gort_stats st;
        CHECK_EQ(gort_read_stats(&st), 0);
        CHECK_EQ(st.goroutines, N);
        CHECK_EQ(gort_wg_done(&gate), 0);
        CHECK_EQ(ct_wait_goroutines_at_most(0, 5000), 0);
        CHECK_EQ(gort_read_stats(&st), 0);
        CHECK_EQ(st.goroutines, 0);
    }
    CHECK_EQ(gort_main(inside, NULL), 0);
    CHECK_EQ(ct_wait_goroutines_at_most(0, 5000), 0);
    return 0;
}
