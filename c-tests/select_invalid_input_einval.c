// gort_select returns -EINVAL for invalid input (NULL cases with n > 0, an
// unknown op, a send case without a value on a channel with elements) at
// once, even with an infinite timeout, and changes nothing: ready cases are
// not taken, no value moves.
// timeout: 30
#include "chan_test_util.h"

static void body(void *arg) {
    (void)arg;
    gort_chan *c = ct_chan(sizeof(int64_t), 2);
    int64_t v = 5, out = -1;
    CHECK_EQ(gort_chan_send(c, &v), 0); /* a ready receive case */

    CHECK_EQ(gort_select(NULL, 1, 0), -EINVAL);
    CHECK_EQ(gort_select(NULL, 3, -1), -EINVAL);
    CHECK_EQ(gort_select(NULL, 1, CT_MS(10)), -EINVAL);

    const int bad_ops[] = {0, 3, -1, 4, 0x7fffffff, GORT_SEND | GORT_RECV};
    for (size_t i = 0; i < sizeof bad_ops / sizeof bad_ops[0]; i++) {
        for (int64_t t = -1; t <= 1; t++) {
            gort_case cs[3] = {
                {.chan = c, .op = GORT_RECV, .elem = &out, .result = -1},
                {.chan = c, .op = bad_ops[i], .elem = &v, .result = -1},
                {.chan = c, .op = GORT_SEND, .elem = &v, .result = -1},
            };
            CHECK_EQ(gort_select(cs, 3, t), -EINVAL);
            /* a bad op on a NULL channel is still a bad op */
            gort_case nc[2] = {
                {.chan = c, .op = GORT_RECV, .elem = &out, .result = -1},
                {.chan = NULL, .op = bad_ops[i], .elem = &v, .result = -1},
            };
            CHECK_EQ(gort_select(nc, 2, t), -EINVAL);
            CHECK_EQ(out, -1);
            CHECK_EQ(gort_chan_len(c), 1);
        }
    }

    /* Send case without a value on a channel of 8-byte elements. */
    gort_case ns[2] = {
        {.chan = c, .op = GORT_RECV, .elem = &out, .result = -1},
        {.chan = c, .op = GORT_SEND, .elem = NULL, .result = -1},
    };
    CHECK_EQ(gort_select(ns, 2, 0), -EINVAL);
    CHECK_EQ(gort_select(ns, 2, -1), -EINVAL);
    CHECK_EQ(out, -1);
    CHECK_EQ(gort_chan_len(c), 1);

    /* Still works. */
    gort_case ok[1] = {{.chan = c, .op = GORT_RECV, .elem = &out, .result = -1}};
    CHECK_EQ(gort_select(ok, 1, -1), 0);
    CHECK_EQ(out, 5);
    gort_chan_release(c);
}

int main(void) {
    gt_watchdog(25);
    CHECK_EQ(gort_main(body, NULL), 0);
    body(NULL);
    return 0;
}
