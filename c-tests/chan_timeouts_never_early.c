// send_timeout / recv_timeout give up with ETIMEDOUT, never before the
// timeout has passed (CLOCK_MONOTONIC), from goroutines and plain threads;
// a timed-out operation leaves nothing behind (no stale waiter, no value).
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// timeout: 90
#include "chan_test_util.h"

static const int64_t timeouts[] = {1, 1000, 50000, 100000, 999999, CT_MS(1), CT_MS(2) + 1, CT_MS(5), CT_MS(13), CT_MS(30), CT_MS(50)};
#define NT (sizeof timeouts / sizeof timeouts[0])
#define WORKERS 4
#define REPEAT 3

static void check_elapsed(int64_t t, int64_t elapsed) {
    if (elapsed < t) {
        fprintf(stderr, "timed out after %" PRId64 " ns, before the %" PRId64 " ns timeout\n", elapsed, t);
        abort();
    }
    if (elapsed > t + CT_MS(5000)) {
        fprintf(stderr, "timed out after %" PRId64 " ns for a %" PRId64 " ns timeout\n", elapsed, t);
        abort();
    }
}

static void worker(void *arg) {
    (void)arg;
    gort_chan *u = ct_chan(sizeof(int), 0);
    gort_chan *full = ct_chan(sizeof(int), 1);
    int v = 9, out = -1;
    CHECK_EQ(gort_chan_send(full, &v), 0);
    for (int rep = 0; rep < REPEAT; rep++) {
        for (size_t i = 0; i < NT; i++) {
            int64_t t = timeouts[i];
            int64_t t0 = gt_now_ns();
            CHECK_EQ(gort_chan_recv_timeout(u, &out, t), ETIMEDOUT);
            check_elapsed(t, gt_now_ns() - t0);
            CHECK_EQ(out, -1);
            /* the timed-out receiver is gone: nobody takes a value now */
            CHECK_EQ(gort_chan_try_send(u, &v), EAGAIN);

            t0 = gt_now_ns();
            CHECK_EQ(gort_chan_send_timeout(u, &v, t), ETIMEDOUT);
            check_elapsed(t, gt_now_ns() - t0);
            /* the timed-out sender is gone: nothing to receive */
            CHECK_EQ(gort_chan_try_recv(u, &out), EAGAIN);

            t0 = gt_now_ns();
            CHECK_EQ(gort_chan_send_timeout(full, &v, t), ETIMEDOUT);
            check_elapsed(t, gt_now_ns() - t0);
            CHECK_EQ(gort_chan_len(full), 1);
        }
    }
    CHECK_EQ(gort_chan_try_recv(full, &out), 0);
    CHECK_EQ(out, 9);
    CHECK_EQ(gort_chan_try_recv(full, &out), EAGAIN);
    gort_chan_release(u);
    gort_chan_release(full);
}

static void *thread_worker(void *arg) {
    worker(arg);
    return NULL;
}

int main(void) {
    gt_watchdog(80);
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    for (int i = 0; i < WORKERS; i++) ct_go_wg(&wg, worker, NULL);
    pthread_t t = ct_thread(thread_worker, NULL);
    worker(NULL); /* the main thread too */
    ct_join(t);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    return 0;
}
