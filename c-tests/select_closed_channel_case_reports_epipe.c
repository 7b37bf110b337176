// A select case on a closed channel is ready: a receive case completes with
// result EPIPE and its buffer zero-filled (after the buffered values are
// drained), a send case with result EPIPE; a select blocked on a channel is
// woken by its close in the same way.
// env: GORTMAXPROCS=2
// timeout: 60
#include "chan_test_util.h"

struct blocked {
    gort_chan *c;
    int op;
    int64_t buf;
    int index, result;
};

static void blocked_select(void *arg) {
    struct blocked *b = arg;
    gort_case cs[3] = {
        {.chan = NULL, .op = GORT_RECV, .elem = NULL, .result = -1},
        {.chan = b->c, .op = b->op, .elem = &b->buf, .result = -1},
        {.chan = NULL, .op = GORT_SEND, .elem = &b->buf, .result = -1},
    };
    b->index = gort_select(cs, 3, -1);
    b->result = cs[1].result;
}

static void body(void *arg) {
    (void)arg;
    /* Closed, buffered values first. */
    gort_chan *c = ct_chan(sizeof(int64_t), 2);
    gort_chan *never = ct_chan(sizeof(int64_t), 0);
    int64_t v = 8, out = -1, other = -1;
    CHECK_EQ(gort_chan_send(c, &v), 0);
    CHECK_EQ(gort_chan_close(c), 0);
    gort_case rc[2] = {
        {.chan = never, .op = GORT_RECV, .elem = &other, .result = -1},
        {.chan = c, .op = GORT_RECV, .elem = &out, .result = -1},
    };
    CHECK_EQ(gort_select(rc, 2, -1), 1);
    CHECK_EQ(rc[1].result, 0);
    CHECK_EQ(out, 8);
    for (int i = 0; i < 3; i++) {
        rc[1].result = -1;
        out = -1;
        CHECK_EQ(gort_select(rc, 2, i == 0 ? 0 : -1), 1);
        CHECK_EQ(rc[1].result, EPIPE);
        CHECK_EQ(out, 0);
        CHECK_EQ(other, -1);
    }
    /* Send case on a closed channel. */
    gort_case sc[2] = {
        {.chan = never, .op = GORT_RECV, .elem = &other, .result = -1},
        {.chan = c, .op = GORT_SEND, .elem = &v, .result = -1},
    };
    CHECK_EQ(gort_select(sc, 2, -1), 1);
    CHECK_EQ(sc[1].result, EPIPE);
    CHECK_EQ(gort_chan_len(c), 0);
    gort_chan_release(c);

    /* Blocked selects woken by close. */
    for (int op = GORT_SEND; op <= GORT_RECV; op++) {
        for (size_t cap = 0; cap <= 1; cap++) {
            c = ct_chan(sizeof(int64_t), cap);
            if (cap && op == GORT_SEND) CHECK_EQ(gort_chan_send(c, &v), 0); /* full */
            struct blocked b = {.c = c, .op = op, .buf = 77, .index = -100, .result = -100};
            gort_waitgroup wg = GORT_WAITGROUP_INIT;
            ct_go_wg(&wg, blocked_select, &b);
            ct_sleep_ms(50);
            CHECK_EQ(*(volatile int *)&b.index, -100); /* still blocked */
            CHECK_EQ(gort_chan_close(c), 0);
            CHECK_EQ(gort_wg_wait(&wg), 0);
            CHECK_EQ(b.index, 1);
            CHECK_EQ(b.result, EPIPE);
            if (op == GORT_RECV) CHECK_EQ(b.buf, 0);
            gort_chan_release(c);
        }
    }
    gort_chan_release(never);
}

int main(void) {
    gt_watchdog(50);
    CHECK_EQ(gort_main(body, NULL), 0);
    body(NULL);
    return 0;
}
