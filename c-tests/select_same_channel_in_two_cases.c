// One channel may appear in several cases of a select: two receives take
// one value once (never twice), a send and a receive on the same unbuffered
// channel never pair with each other (the select waits for a partner), and
// on a buffered channel the case that can proceed is chosen.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// timeout: 60
#include "chan_test_util.h"

static int64_t got;
static void taker(void *arg) { CHECK_EQ(gort_chan_recv(arg, &got), 0); }
static void giver(void *arg) {
    int64_t v = 555;
    CHECK_EQ(gort_chan_send(arg, &v), 0);
}

static void body(void *arg) {
    (void)arg;
    /* Two receive cases on one buffered channel holding one value. */
    gort_chan *b = ct_chan(sizeof(int64_t), 1);
    for (int i = 0; i < 200; i++) {
        int64_t v = i, o1 = -1, o2 = -1;
        CHECK_EQ(gort_chan_send(b, &v), 0);
        gort_case cs[2] = {
            {.chan = b, .op = GORT_RECV, .elem = &o1, .result = -1},
            {.chan = b, .op = GORT_RECV, .elem = &o2, .result = -1},
        };
        int k = gort_select(cs, 2, -1);
        CHECK(k == 0 || k == 1);
        CHECK_EQ(k == 0 ? o1 : o2, i);
        CHECK_EQ(k == 0 ? o2 : o1, -1);
        CHECK_EQ(gort_select(cs, 2, 0), -EAGAIN); /* and it is gone */
    }

    /* Send and receive on the same unbuffered channel: no self-pairing. */
    gort_chan *u = ct_chan(sizeof(int64_t), 0);
    int64_t sv = 42, rv = -1;
    gort_case sr[2] = {
        {.chan = u, .op = GORT_SEND, .elem = &sv, .result = -1},
        {.chan = u, .op = GORT_RECV, .elem = &rv, .result = -1},
    };
    CHECK_EQ(gort_select(sr, 2, 0), -EAGAIN);
    int64_t t0 = gt_now_ns();
    CHECK_EQ(gort_select(sr, 2, CT_MS(50)), -ETIMEDOUT);
    CHECK(gt_now_ns() - t0 >= CT_MS(50));
    CHECK_EQ(rv, -1);
    /* ... until a partner comes: a receiver picks the send case, a sender
     * the receive case. */
    for (int i = 0; i < 100; i++) {
        gort_waitgroup wg = GORT_WAITGROUP_INIT;
        got = -1;
        rv = -1;
        ct_go_wg(&wg, i % 2 ? giver : taker, u);
        int k = gort_select(sr, 2, -1);
        CHECK_EQ(gort_wg_wait(&wg), 0);
        if (i % 2) {
            CHECK_EQ(k, 1);
            CHECK_EQ(rv, 555);
        } else {
            CHECK_EQ(k, 0);
            CHECK_EQ(got, 42);
        }
        CHECK_EQ(sr[k].result, 0);
    }

    /* Buffered, capacity 1: empty -> only the send can go; full -> only the
     * receive. */
    int64_t x = 9, y = -1;
    gort_case bsr[2] = {
        {.chan = b, .op = GORT_SEND, .elem = &x, .result = -1},
        {.chan = b, .op = GORT_RECV, .elem = &y, .result = -1},
    };
    for (int i = 0; i < 100; i++) {
        CHECK_EQ(gort_select(bsr, 2, -1), 0);
        CHECK_EQ(gort_chan_len(b), 1);
        CHECK_EQ(gort_select(bsr, 2, -1), 1);
        CHECK_EQ(y, 9);
        CHECK_EQ(gort_chan_len(b), 0);
        y = -1;
    }
    gort_chan_release(u);
    gort_chan_release(b);
}

int main(void) {
    gt_watchdog(50);
    CHECK_EQ(gort_main(body, NULL), 0);
    body(NULL);
    return 0;
}
