// An unbuffered channel is a rendezvous: a send completes only after a
// receiver has taken the value (and the value is copied before the send
// returns), whether the sender is a goroutine or a plain thread.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// timeout: 60
#include "chan_test_util.h"

#define ROUNDS 5000
#define LATE_MS 100

static gort_chan *c;
static atomic_int entered;  /* receiver: "about to receive value i" = i + 1 */
static int64_t t_start;     /* before the receiver was started */

static void receiver(void *arg) {
    int late = (int)(intptr_t)arg;
    if (late) ct_sleep_ms(LATE_MS);
    for (int i = 0; i < ROUNDS; i++) {
        if (i % 500 == 1) ct_sleep_ms(2); /* let the sender block first now and then */
        atomic_store(&entered, i + 1);
        int v = -7;
        CHECK_EQ(gort_chan_recv(c, &v), 0);
        CHECK_EQ(v, i);
    }
}

/* Sends 0..ROUNDS-1; each send may only complete once the receiver entered
 * its receive of that value. Returns when the first send completed,
 * relative to t_start. */
static int64_t send_all(void) {
    int64_t first = 0;
    for (int i = 0; i < ROUNDS; i++) {
        int x = i;
        CHECK_EQ(gort_chan_send(c, &x), 0);
        if (i == 0) first = gt_now_ns() - t_start;
        x = -1; /* the value was copied: the receiver must still see i */
        CHECK(atomic_load(&entered) >= i + 1);
        CHECK_EQ(gort_chan_len(c), 0);
    }
    return first;
}

static void *thread_sender(void *arg) {
    (void)arg;
    int64_t first = send_all();
    return (void *)(intptr_t)(first >= CT_MS(LATE_MS));
}

static void run(int sender_is_thread) {
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    c = ct_chan(sizeof(int), 0);
    CHECK_EQ(gort_chan_cap(c), 0);
    atomic_store(&entered, 0);
    /* The receiver only shows up LATE_MS after the sender started sending:
     * the first send must have blocked at least that long. */
    t_start = gt_now_ns();
    ct_go_wg(&wg, receiver, (void *)(intptr_t)1);
    if (sender_is_thread) {
        pthread_t t = ct_thread(thread_sender, NULL);
        void *ok;
        CHECK_EQ(pthread_join(t, &ok), 0);
        CHECK(ok == (void *)1);
    } else {
        /* main is a goroutine here (gort_main) */
        int64_t first = send_all();
        CHECK(first >= CT_MS(LATE_MS));
    }
    CHECK_EQ(gort_wg_wait(&wg), 0);
    CHECK_EQ(gort_chan_try_recv(c, NULL), EAGAIN);
    gort_chan_release(c);
}

static void goroutine_main(void *arg) {
    (void)arg;
    run(0);
}

int main(void) {
    gt_watchdog(50);
    CHECK_EQ(gort_main(goroutine_main, NULL), 0); /* goroutine sender */
    run(1);                                        /* plain-thread sender */
    return 0;
}
