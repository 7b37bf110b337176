// A goroutine sleeping while nothing else runs (every P idle, sysmon backed
// off to its longest sleep) still wakes, and not much late: with the whole
// runtime idle, sysmon is what fires the timers. Also after a stop-the-world,
// which changes how sysmon sleeps.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// timeout: 60
#include "chan_test_util.h"

#define ROUNDS 20
#define NAP_NS 20000000 /* 20 ms: long enough for sysmon to back off */

static int64_t worst_late;

static void naps(void) {
    for (int i = 0; i < ROUNDS; i++) {
        int64_t t0 = gort_now();
        CHECK_EQ(gort_sleep(NAP_NS), 0);
        int64_t late = gort_now() - t0 - NAP_NS;
        CHECK(late >= 0);
        if (late > worst_late) worst_late = late;
    }
}

static void sleeper(void *arg) {
    (void)arg;
    naps();
    CHECK_EQ(gort_stop_the_world(), 0);
    CHECK_EQ(gort_start_the_world(), 0);
    naps();
}

int main(void) {
    gt_watchdog(50);
    CHECK_EQ(gort_main(sleeper, NULL), 0);
    /* Generous: a loaded CI machine may be late by a few ms, never by 20 ms
     * naps' worth of missed wake-ups (a lost timer hangs until the watchdog). */
    CHECK(worst_late < 200000000);
    printf("%d naps of 20 ms with every P idle: worst lateness %.2f ms\n", 2 * ROUNDS, worst_late / 1e6);
    return 0;
}
