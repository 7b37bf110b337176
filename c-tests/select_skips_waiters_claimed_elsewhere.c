// A select blocked on two channels and woken through one leaves a stale
// waiter on the other until it runs again. Another select must treat that
// channel as not ready: a send case on it neither delivers to the stale
// waiter nor wins over a case that is really ready, and with nothing else
// ready the select reports EAGAIN. On one P the woken select cannot run
// (and unlink itself) until main blocks, so the stale waiter is there for
// every check.
// env: GORTMAXPROCS=1
// timeout: 60
#include "chan_test_util.h"

struct two {
    gort_chan *x, *y;
    int64_t got;
    int fired;
};

static void waiter(void *arg) {
    struct two *t = arg;
    int64_t v = -1;
    gort_case cs[2] = {
        {.chan = t->x, .op = GORT_RECV, .elem = &v, .result = -1},
        {.chan = t->y, .op = GORT_RECV, .elem = &v, .result = -1},
    };
    t->fired = gort_select(cs, 2, -1);
    t->got = v;
}

static void body(void *arg) {
    (void)arg;
    gort_chan *z = ct_chan(sizeof(int64_t), 1);
    for (int round = 0; round < 200; round++) {
        struct two t = {.x = ct_chan(sizeof(int64_t), 0), .y = ct_chan(sizeof(int64_t), 0), .got = -1, .fired = -9};
        gort_waitgroup wg = GORT_WAITGROUP_INIT;
        ct_go_wg(&wg, waiter, &t);
        gort_yield(); /* the waiter blocks in its select */
        int64_t yv = 1000 + round;
        CHECK_EQ(gort_chan_send(t.y, &yv), 0); /* claims it through y */

        /* x's receive queue now holds only the stale waiter (until a send
         * on x finds and drops it: each check below comes first in some
         * rounds). */
        int64_t xv = 7, zv = round, out = -1;
        CHECK_EQ(gort_chan_send(z, &zv), 0);
        gort_case x_or_z[2] = {
            {.chan = t.x, .op = GORT_SEND, .elem = &xv, .result = -1},
            {.chan = z, .op = GORT_RECV, .elem = &out, .result = -1},
        };
        gort_case only_x[1] = {{.chan = t.x, .op = GORT_SEND, .elem = &xv, .result = -1}};
        switch (round % 3) {
        case 0:
            CHECK_EQ(gort_select(x_or_z, 2, 0), 1);
            CHECK_EQ(gort_select(only_x, 1, 0), -EAGAIN);
            break;
        case 1:
            CHECK_EQ(gort_select(only_x, 1, 0), -EAGAIN);
            CHECK_EQ(gort_select(x_or_z, 2, 0), 1);
            break;
        default:
            CHECK_EQ(gort_chan_try_send(t.x, &xv), EAGAIN);
            CHECK_EQ(gort_select(x_or_z, 2, 0), 1);
        }
        CHECK_EQ(out, round);

        CHECK_EQ(gort_wg_wait(&wg), 0);
        CHECK_EQ(t.fired, 1);
        CHECK_EQ(t.got, yv);
        gort_chan_release(t.x);
        gort_chan_release(t.y);
    }
    gort_chan_release(z);
}

int main(void) {
    gt_watchdog(50);
    CHECK_EQ(gort_main(body, NULL), 0);
    return 0;
}
