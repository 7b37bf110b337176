// Every channel function given a NULL channel (or a send given no value for
// a channel with elements) returns EINVAL at once and changes nothing,
// not even errno; retain/release/len/cap of NULL do not crash.
// timeout: 30
#include "chan_test_util.h"

static void body(void *arg) {
    (void)arg;
    int64_t v = 1, out = -1;
    ct_set_errno(4321);
    int64_t t0 = gt_now_ns();
    CHECK_EQ(gort_chan_send(NULL, &v), EINVAL);
    CHECK_EQ(gort_chan_recv(NULL, &out), EINVAL);
    CHECK_EQ(gort_chan_recv(NULL, NULL), EINVAL);
    CHECK_EQ(gort_chan_try_send(NULL, &v), EINVAL);
    CHECK_EQ(gort_chan_try_recv(NULL, &out), EINVAL);
    CHECK_EQ(gort_chan_send_timeout(NULL, &v, -1), EINVAL);
    CHECK_EQ(gort_chan_send_timeout(NULL, &v, 0), EINVAL);
    CHECK_EQ(gort_chan_send_timeout(NULL, &v, CT_MS(10)), EINVAL);
    CHECK_EQ(gort_chan_recv_timeout(NULL, &out, -1), EINVAL);
    CHECK_EQ(gort_chan_recv_timeout(NULL, &out, 0), EINVAL);
    CHECK_EQ(gort_chan_recv_timeout(NULL, &out, CT_MS(10)), EINVAL);
    CHECK_EQ(gort_chan_close(NULL), EINVAL);
    gort_chan_retain(NULL);
    gort_chan_release(NULL);
    (void)gort_chan_len(NULL); /* value unspecified; must not crash */
    (void)gort_chan_cap(NULL);
    CHECK_EQ(out, -1);
    CHECK_EQ(ct_errno(), 4321);

    /* A send needs a value when elements have a size. */
    for (size_t cap = 0; cap <= 2; cap += 2) {
        gort_chan *c = ct_chan(sizeof(int64_t), cap);
        CHECK_EQ(gort_chan_send(c, NULL), EINVAL);
        CHECK_EQ(gort_chan_try_send(c, NULL), EINVAL);
        CHECK_EQ(gort_chan_send_timeout(c, NULL, -1), EINVAL);
        CHECK_EQ(gort_chan_send_timeout(c, NULL, 0), EINVAL);
        CHECK_EQ(gort_chan_send_timeout(c, NULL, CT_MS(10)), EINVAL);
        CHECK_EQ(gort_chan_len(c), 0);
        CHECK_EQ(gort_chan_try_recv(c, &out), EAGAIN);
        CHECK_EQ(ct_errno(), 4321);
        /* still a working, open channel */
        if (cap) {
            CHECK_EQ(gort_chan_send(c, &v), 0);
            CHECK_EQ(gort_chan_recv(c, &out), 0);
            CHECK_EQ(out, 1);
        }
        CHECK_EQ(gort_chan_close(c), 0);
        gort_chan_release(c);
    }
    CHECK(gt_now_ns() - t0 < CT_MS(5000)); /* nothing blocked */
    CHECK_EQ(ct_errno(), 4321);
}

int main(void) {
    gt_watchdog(25);
    CHECK_EQ(gort_main(body, NULL), 0);
    body(NULL);
    return 0;
}
