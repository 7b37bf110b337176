// While the world is stopped, no other goroutine runs user code: the
// counters of 6 call-free hogs on 2 Ps do not move (checked over many
// rounds, with the world stopped from a plain thread and from a goroutine),
// and after gort_start_the_world every hog runs again.
// env: GORTMAXPROCS=2 STW_FROM=thread
// env: GORTMAXPROCS=2 STW_FROM=goroutine
// env: GORTMAXPROCS=4 STW_FROM=goroutine
// timeout: 120
#include "stw_test_util.h"

#define HOGS 6
#define ROUNDS 60

static void rounds(void *arg) {
    (void)arg;
    uint64_t a[HOGS], b[HOGS];
    for (int r = 0; r < ROUNDS; r++) {
        CHECK_EQ(gort_stop_the_world(), 0);
        stw_snapshot(HOGS, a);
        stw_spin_ns(2000000 + (r % 5) * 1000000); /* 2-6 ms stopped */
        stw_snapshot(HOGS, b);
        CHECK_EQ(gort_start_the_world(), 0);
        for (int i = 0; i < HOGS; i++) {
            if (a[i] != b[i]) {
                fprintf(stderr, "round %d: hog %d moved by %llu while the world was stopped\n", r, i,
                        (unsigned long long)(b[i] - a[i]));
                abort();
            }
        }
        int stuck = stw_wait_all_moved(HOGS, b, 5000);
        if (stuck) {
            gort_stats s = stw_stats();
            fprintf(stderr, "round %d: %d hogs did not run within 5 s of the restart (async=%llu unsafe=%llu)\n",
                    r, stuck, (unsigned long long)s.preempt_async, (unsigned long long)s.preempt_unsafe);
            abort();
        }
    }
}

int main(void) {
    gt_watchdog(110);
    stw_start_hogs(HOGS);
    uint64_t zero[HOGS] = {0};
    CHECK_EQ(stw_wait_all_moved(HOGS, zero, 5000), 0); /* every hog got going */
    const char *from = getenv("STW_FROM");
    if (from && strcmp(from, "goroutine") == 0)
        CHECK_EQ(gort_main(rounds, NULL), 0);
    else
        rounds(NULL);
    stw_stop_hogs();
    gort_stats s = stw_stats();
    printf("%d rounds from a %s: stw_count=%llu max=%llu us\n", ROUNDS, from ? from : "thread",
           (unsigned long long)s.stw_count, (unsigned long long)s.stw_max_ns / 1000);
    return 0;
}
