// Closing an already closed channel returns EPIPE; when many goroutines and
// threads close the same channel at once, exactly one close succeeds.
// env: GORTMAXPROCS=2
// timeout: 60
#include "chan_test_util.h"

#define GOROUTINES 16
#define THREADS 4
#define ROUNDS 200

static gort_chan *c;
static atomic_int go_flag, ok_count, epipe_count, other_count;

static void closer(void) {
    while (!atomic_load(&go_flag)) gort_yield();
    int r = gort_chan_close(c);
    if (r == 0)
        atomic_fetch_add(&ok_count, 1);
    else if (r == EPIPE)
        atomic_fetch_add(&epipe_count, 1);
    else
        atomic_fetch_add(&other_count, 1);
}
static void g_closer(void *arg) {
    (void)arg;
    closer();
}
static void *t_closer(void *arg) {
    (void)arg;
    closer();
    return NULL;
}

int main(void) {
    gt_watchdog(50);
    gort_chan *s = ct_chan(4, 2);
    CHECK_EQ(gort_chan_close(s), 0);
    CHECK_EQ(gort_chan_close(s), EPIPE);
    CHECK_EQ(gort_chan_close(s), EPIPE);
    gort_chan_release(s);

    for (int round = 0; round < ROUNDS; round++) {
        c = ct_chan(4, (size_t)(round % 3));
        atomic_store(&go_flag, 0);
        atomic_store(&ok_count, 0);
        atomic_store(&epipe_count, 0);
        atomic_store(&other_count, 0);
        gort_waitgroup wg = GORT_WAITGROUP_INIT;
        pthread_t ts[THREADS];
        for (int i = 0; i < GOROUTINES; i++) ct_go_wg(&wg, g_closer, NULL);
        for (int i = 0; i < THREADS; i++) ts[i] = ct_thread(t_closer, NULL);
        atomic_store(&go_flag, 1);
        CHECK_EQ(gort_wg_wait(&wg), 0);
        for (int i = 0; i < THREADS; i++) ct_join(ts[i]);
        CHECK_EQ(atomic_load(&ok_count), 1);
        CHECK_EQ(atomic_load(&epipe_count), GOROUTINES + THREADS - 1);
        CHECK_EQ(atomic_load(&other_count), 0);
        gort_chan_release(c);
    }
    return 0;
}
