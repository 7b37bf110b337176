// try_send / try_recv never block: EAGAIN when the operation would block
// (unbuffered with nobody waiting, full or empty buffer), success when a
// partner is already waiting or the buffer allows it.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// timeout: 60
#include "chan_test_util.h"

static atomic_int partner_state; /* 1: about to block, 2: done */
static int64_t partner_value;

static void blocked_receiver(void *arg) {
    gort_chan *c = arg;
    atomic_store(&partner_state, 1);
    CHECK_EQ(gort_chan_recv(c, &partner_value), 0);
    atomic_store(&partner_state, 2);
}

static void blocked_sender(void *arg) {
    gort_chan *c = arg;
    int64_t v = 4242;
    atomic_store(&partner_state, 1);
    CHECK_EQ(gort_chan_send(c, &v), 0);
    atomic_store(&partner_state, 2);
}

static void *thread_blocked_receiver(void *arg) {
    blocked_receiver(arg);
    return NULL;
}

static void body(void *arg) {
    (void)arg;
    int64_t v = 1, out = -1;
    int64_t t0 = gt_now_ns();

    /* Unbuffered, nobody there: both directions would block. */
    gort_chan *u = ct_chan(sizeof(int64_t), 0);
    for (int i = 0; i < 1000; i++) {
        CHECK_EQ(gort_chan_try_send(u, &v), EAGAIN);
        CHECK_EQ(gort_chan_try_recv(u, &out), EAGAIN);
    }
    CHECK_EQ(out, -1);
    CHECK_EQ(gort_chan_len(u), 0);

    /* Buffered: empty refuses try_recv, full refuses try_send. */
    gort_chan *b = ct_chan(sizeof(int64_t), 2);
    CHECK_EQ(gort_chan_try_recv(b, &out), EAGAIN);
    CHECK_EQ(gort_chan_try_send(b, &v), 0);
    v = 2;
    CHECK_EQ(gort_chan_try_send(b, &v), 0);
    v = 3;
    CHECK_EQ(gort_chan_try_send(b, &v), EAGAIN);
    CHECK_EQ(gort_chan_len(b), 2);
    CHECK_EQ(gort_chan_try_recv(b, &out), 0);
    CHECK_EQ(out, 1);
    CHECK_EQ(gort_chan_try_recv(b, &out), 0);
    CHECK_EQ(out, 2);
    CHECK_EQ(gort_chan_try_recv(b, &out), EAGAIN);
    CHECK(gt_now_ns() - t0 < CT_MS(5000)); /* nothing above waited */

    /* Unbuffered with a receiver already blocked (goroutine, then plain
     * thread): try_send hands the value over. Retry until the partner is
     * really waiting: EAGAIN is allowed only before it got there. */
    for (int kind = 0; kind < 2; kind++) {
        atomic_store(&partner_state, 0);
        partner_value = 0;
        pthread_t t = (pthread_t)0;
        if (kind == 0)
            ct_go(blocked_receiver, u);
        else
            t = ct_thread(thread_blocked_receiver, u);
        v = 777 + kind;
        int r;
        int64_t deadline = gt_now_ns() + CT_MS(10000);
        while ((r = gort_chan_try_send(u, &v)) == EAGAIN) {
            CHECK(gt_now_ns() < deadline);
            CHECK_EQ(gort_sleep(100000), 0);
        }
        CHECK_EQ(r, 0);
        CT_WITHIN_MS(10000, atomic_load(&partner_state) == 2);
        CHECK_EQ(partner_value, 777 + kind);
        if (kind == 1) ct_join(t);
    }

    /* Unbuffered with a sender already blocked: try_recv takes its value. */
    atomic_store(&partner_state, 0);
    ct_go(blocked_sender, u);
    int r;
    out = 0;
    int64_t deadline = gt_now_ns() + CT_MS(10000);
    while ((r = gort_chan_try_recv(u, &out)) == EAGAIN) {
        CHECK(gt_now_ns() < deadline);
        CHECK_EQ(gort_sleep(100000), 0);
    }
    CHECK_EQ(r, 0);
    CHECK_EQ(out, 4242);
    CT_WITHIN_MS(10000, atomic_load(&partner_state) == 2);
    CHECK_EQ(gort_chan_try_recv(u, &out), EAGAIN);

    /* Full buffer with a blocked sender: try_recv takes the oldest value and
     * the sender's value moves into the buffer. */
    v = 10;
    CHECK_EQ(gort_chan_send(b, &v), 0);
    v = 11;
    CHECK_EQ(gort_chan_send(b, &v), 0);
    atomic_store(&partner_state, 0);
    ct_go(blocked_sender, b);
    CT_WITHIN_MS(10000, atomic_load(&partner_state) == 1);
    ct_sleep_ms(20);
    CHECK_EQ(gort_chan_try_recv(b, &out), 0);
    CHECK_EQ(out, 10);
    CT_WITHIN_MS(10000, atomic_load(&partner_state) == 2);
    CHECK_EQ(gort_chan_len(b), 2);
    CHECK_EQ(gort_chan_try_recv(b, &out), 0);
    CHECK_EQ(out, 11);
    CHECK_EQ(gort_chan_try_recv(b, &out), 0);
    CHECK_EQ(out, 4242);
    CHECK_EQ(gort_chan_try_recv(b, &out), EAGAIN);

    gort_chan_release(u);
    gort_chan_release(b);
}

int main(void) {
    gt_watchdog(50);
    CHECK_EQ(gort_main(body, NULL), 0);
    body(NULL);
    return 0;
}
