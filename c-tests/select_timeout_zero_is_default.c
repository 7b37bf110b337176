// select with timeout 0 is Go's `default`: -EAGAIN at once when no case is
// ready (including no cases, only NULL channels, or an unbuffered send with
// nobody waiting), with nothing sent, received or written; the ready case
// when there is one.
// timeout: 30
#include "chan_test_util.h"

static void body(void *arg) {
    (void)arg;
    gort_chan *u = ct_chan(sizeof(int64_t), 0);
    gort_chan *empty = ct_chan(sizeof(int64_t), 2);
    gort_chan *full = ct_chan(sizeof(int64_t), 1);
    int64_t v = 33, out1 = -1, out2 = -1;
    CHECK_EQ(gort_chan_send(full, &v), 0);
    int64_t t0 = gt_now_ns();

    gort_case none[1];
    CHECK_EQ(gort_select(none, 0, 0), -EAGAIN);

    gort_case nils[2] = {
        {.chan = NULL, .op = GORT_RECV, .elem = &out1, .result = -1},
        {.chan = NULL, .op = GORT_SEND, .elem = &v, .result = -1},
    };
    CHECK_EQ(gort_select(nils, 2, 0), -EAGAIN);
    CHECK_EQ(out1, -1);

    for (int i = 0; i < 100; i++) {
        gort_case cs[4] = {
            {.chan = u, .op = GORT_RECV, .elem = &out1, .result = -1},
            {.chan = u, .op = GORT_SEND, .elem = &v, .result = -1},
            {.chan = empty, .op = GORT_RECV, .elem = &out2, .result = -1},
            {.chan = full, .op = GORT_SEND, .elem = &v, .result = -1},
        };
        CHECK_EQ(gort_select(cs, 4, 0), -EAGAIN);
        CHECK_EQ(out1, -1);
        CHECK_EQ(out2, -1);
    }
    CHECK(gt_now_ns() - t0 < CT_MS(5000));
    /* Nothing moved, and no case stayed registered on a channel. */
    CHECK_EQ(gort_chan_len(u), 0);
    CHECK_EQ(gort_chan_len(empty), 0);
    CHECK_EQ(gort_chan_len(full), 1);
    CHECK_EQ(gort_chan_try_send(u, &v), EAGAIN);
    CHECK_EQ(gort_chan_try_recv(u, &out1), EAGAIN);

    /* One ready case among unready ones: chosen, every time. */
    for (int i = 0; i < 100; i++) {
        gort_case cs[3] = {
            {.chan = u, .op = GORT_RECV, .elem = &out1, .result = -1},
            {.chan = full, .op = GORT_RECV, .elem = &out2, .result = -1},
            {.chan = NULL, .op = GORT_RECV, .elem = &out1, .result = -1},
        };
        CHECK_EQ(gort_select(cs, 3, 0), 1);
        CHECK_EQ(cs[1].result, 0);
        CHECK_EQ(out2, 33 + i);
        v = 34 + i;
        CHECK_EQ(gort_chan_send(full, &v), 0);
    }
    gort_chan_release(u);
    gort_chan_release(empty);
    gort_chan_release(full);
}

int main(void) {
    gt_watchdog(25);
    CHECK_EQ(gort_main(body, NULL), 0);
    body(NULL);
    return 0;
}
