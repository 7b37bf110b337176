// Every way of sending on a closed channel returns EPIPE at once (never
// blocks, never times out) and stores nothing, buffered or not.
// timeout: 30
#include "chan_test_util.h"

static void check_closed_sends(size_t elem_size, size_t cap, size_t buffered) {
    gort_chan *c = ct_chan(elem_size, cap);
    uint64_t v = 5;
    for (size_t i = 0; i < buffered; i++) CHECK_EQ(gort_chan_send(c, &v), 0);
    CHECK_EQ(gort_chan_close(c), 0);
    int64_t t0 = gt_now_ns();
    CHECK_EQ(gort_chan_send(c, &v), EPIPE);
    CHECK_EQ(gort_chan_try_send(c, &v), EPIPE);
    CHECK_EQ(gort_chan_send_timeout(c, &v, 0), EPIPE);
    CHECK_EQ(gort_chan_send_timeout(c, &v, -1), EPIPE);
    CHECK_EQ(gort_chan_send_timeout(c, &v, CT_MS(20000)), EPIPE);
    CHECK(gt_now_ns() - t0 < CT_MS(5000)); /* none of them waited */
    CHECK_EQ(gort_chan_len(c), buffered);
    for (size_t i = 0; i < buffered; i++) CHECK_EQ(gort_chan_recv(c, NULL), 0);
    CHECK_EQ(gort_chan_recv(c, NULL), EPIPE);
    gort_chan_release(c);
}

static void body(void *arg) {
    (void)arg;
    check_closed_sends(8, 0, 0); /* unbuffered */
    check_closed_sends(8, 4, 0); /* buffered with room */
    check_closed_sends(8, 4, 2); /* buffered, partly full */
    check_closed_sends(8, 2, 2); /* buffered, full */
    check_closed_sends(0, 0, 0); /* zero-sized elements */
    check_closed_sends(0, 3, 1);
}

int main(void) {
    gt_watchdog(25);
    CHECK_EQ(gort_main(body, NULL), 0);
    body(NULL);
    return 0;
}
