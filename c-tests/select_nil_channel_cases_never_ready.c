// A select case whose channel is NULL (Go's nil channel) is never ready: it
// is never chosen, whatever its op, while other cases are ready, and a select
// of only such cases times out (or returns -EAGAIN at timeout 0).
// timeout: 30
#include "chan_test_util.h"

static void body(void *arg) {
    (void)arg;
    gort_chan *c = ct_chan(sizeof(int64_t), 1);
    int64_t v = 3, out = -1, junk = -1;
    for (int i = 0; i < 1000; i++) {
        gort_case cs[5] = {
            {.chan = NULL, .op = GORT_RECV, .elem = &junk, .result = -1},
            {.chan = NULL, .op = GORT_SEND, .elem = &v, .result = -1},
            {.chan = c, .op = i % 2 ? GORT_RECV : GORT_SEND, .elem = i % 2 ? (void *)&out : (void *)&v, .result = -1},
            {.chan = NULL, .op = GORT_RECV, .elem = NULL, .result = -1},
            {.chan = NULL, .op = GORT_SEND, .elem = &v, .result = -1},
        };
        /* even rounds send into the empty channel, odd ones take it back */
        CHECK_EQ(gort_select(cs, 5, i % 3 ? -1 : 0), 2);
        CHECK_EQ(cs[2].result, 0);
        CHECK_EQ(junk, -1);
    }
    CHECK_EQ(gort_chan_len(c), 0);

    gort_case nils[3] = {
        {.chan = NULL, .op = GORT_RECV, .elem = &junk, .result = -1},
        {.chan = NULL, .op = GORT_SEND, .elem = &v, .result = -1},
        {.chan = NULL, .op = GORT_RECV, .elem = NULL, .result = -1},
    };
    CHECK_EQ(gort_select(nils, 3, 0), -EAGAIN);
    int64_t t0 = gt_now_ns();
    CHECK_EQ(gort_select(nils, 3, CT_MS(30)), -ETIMEDOUT);
    CHECK(gt_now_ns() - t0 >= CT_MS(30));
    CHECK_EQ(junk, -1);
    gort_chan_release(c);
}

int main(void) {
    gt_watchdog(25);
    CHECK_EQ(gort_main(body, NULL), 0);
    body(NULL);
    return 0;
}
