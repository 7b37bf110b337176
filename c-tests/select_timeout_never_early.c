// select with a positive timeout and no case becoming ready returns
// -ETIMEDOUT, never before the timeout (CLOCK_MONOTONIC), with no case
// left registered; also with no cases at all; in goroutines and plain
// threads.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// timeout: 60
#include "chan_test_util.h"

static const int64_t timeouts[] = {1, 1000, 100000, CT_MS(1), CT_MS(3) + 7, CT_MS(10), CT_MS(25), CT_MS(50)};
#define NT (sizeof timeouts / sizeof timeouts[0])

static void check_elapsed(int64_t t, int64_t elapsed) {
    if (elapsed < t || elapsed > t + CT_MS(5000)) {
        fprintf(stderr, "select timed out after %" PRId64 " ns for a %" PRId64 " ns timeout\n", elapsed, t);
        abort();
    }
}

static void worker(void *arg) {
    (void)arg;
    gort_chan *u = ct_chan(sizeof(int), 0);
    gort_chan *full = ct_chan(sizeof(int), 1);
    int v = 1, out = -1;
    CHECK_EQ(gort_chan_send(full, &v), 0);
    for (int rep = 0; rep < 3; rep++) {
        for (size_t i = 0; i < NT; i++) {
            int64_t t = timeouts[i];
            gort_case cs[4] = {
                {.chan = u, .op = GORT_RECV, .elem = &out, .result = -1},
                {.chan = NULL, .op = GORT_RECV, .elem = &out, .result = -1},
                {.chan = full, .op = GORT_SEND, .elem = &v, .result = -1},
                {.chan = u, .op = GORT_SEND, .elem = &v, .result = -1},
            };
            int64_t t0 = gt_now_ns();
            CHECK_EQ(gort_select(cs, 4, t), -ETIMEDOUT);
            check_elapsed(t, gt_now_ns() - t0);
            CHECK_EQ(out, -1);
            /* no stale waiters on u: neither a sender nor a receiver is there */
            CHECK_EQ(gort_chan_try_send(u, &v), EAGAIN);
            CHECK_EQ(gort_chan_try_recv(u, &out), EAGAIN);
            CHECK_EQ(gort_chan_len(full), 1);

            t0 = gt_now_ns();
            CHECK_EQ(gort_select(cs, 0, t), -ETIMEDOUT);
            check_elapsed(t, gt_now_ns() - t0);
        }
    }
    gort_chan_release(u);
    gort_chan_release(full);
}

static void *thread_worker(void *arg) {
    worker(arg);
    return NULL;
}

int main(void) {
    gt_watchdog(50);
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    for (int i = 0; i < 3; i++) ct_go_wg(&wg, worker, NULL);
    pthread_t t = ct_thread(thread_worker, NULL);
    worker(NULL);
    ct_join(t);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    return 0;
}
