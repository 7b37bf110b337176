// GORTDEBUG=asyncpreemptoff=1 really turns asynchronous preemption off: the
// same 8 call-free hogs on 2 Ps as in preempt_call_free_hogs_share_fairly
// starve each other (the two that got a P first keep it, the others never
// run), and the runtime sends no preemption signal at all. This is the
// control experiment for the fairness test: it shows the hogs can only be
// stopped by a signal.
// env: GORTMAXPROCS=2 GORTDEBUG=asyncpreemptoff=1
// env: GORTMAXPROCS=2 GORTDEBUG=asyncpreemptoff=1,preemptms=1
// timeout: 60
#include "preempt_test_util.h"

#define HOGS 8
#define RUN_MS 1000

static struct pt_counter counters[HOGS];
static struct pt_hog hogs[HOGS];
static atomic_int stop_hogs;

int main(void) {
    gt_watchdog(40);
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep what was printed if a check aborts */
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    for (int i = 0; i < HOGS; i++) {
        hogs[i] = (struct pt_hog){.counter = &counters[i], .stop = &stop_hogs};
        ct_go_wg(&wg, pt_hog_main, &hogs[i]);
    }
    CHECK_EQ(pt_stats().maxprocs, 2);
    pt_thread_sleep_ms(RUN_MS);
    uint64_t n[HOGS];
    int started = 0, zero = 0;
    for (int i = 0; i < HOGS; i++) {
        n[i] = pt_count(&counters[i]);
        started += atomic_load(&hogs[i].started);
        zero += n[i] == 0;
    }
    gort_stats s = pt_stats();
    atomic_store(&stop_hogs, 1); /* only a plain thread can do this */
    CHECK_EQ(gort_wg_wait(&wg), 0);

    double jain = pt_jain(n, HOGS);
    printf("after %d ms: %d hogs started, %d never counted; Jain %.4f\n", RUN_MS, started, zero, jain);
    for (int i = 0; i < HOGS; i++) printf("  hog %d: %" PRIu64 "\n", i, n[i]);
    pt_print_stats("stats", &s);

    CHECK(zero > 0 || jain < 0.5); /* starvation */
    CHECK_EQ(s.preempt_signals, 0); /* and the toggle is real */
    CHECK_EQ(s.preempt_async, 0);
    CHECK_EQ(s.preempt_unsafe, 0);
    return 0;
}
