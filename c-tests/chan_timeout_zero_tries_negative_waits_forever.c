// A timeout of 0 makes send_timeout / recv_timeout a try (EAGAIN instead of
// blocking, success when possible at once); a negative timeout waits as
// long as it takes, like plain send / recv.
// env: GORTMAXPROCS=2
// timeout: 60
#include "chan_test_util.h"

#define LATE_MS 300

struct late {
    gort_chan *c;
    int64_t value;
    int send; /* 1: send value after LATE_MS; 0: receive into value */
};

static void late_partner(void *arg) {
    struct late *l = arg;
    ct_sleep_ms(LATE_MS);
    if (l->send)
        CHECK_EQ(gort_chan_send(l->c, &l->value), 0);
    else
        CHECK_EQ(gort_chan_recv(l->c, &l->value), 0);
}

static void body(void *arg) {
    (void)arg;
    gort_chan *u = ct_chan(sizeof(int64_t), 0);
    gort_chan *b = ct_chan(sizeof(int64_t), 1);
    int64_t v = 5, out = -1;

    /* 0: never blocks. */
    int64_t t0 = gt_now_ns();
    CHECK_EQ(gort_chan_recv_timeout(u, &out, 0), EAGAIN);
    CHECK_EQ(gort_chan_send_timeout(u, &v, 0), EAGAIN);
    CHECK_EQ(gort_chan_recv_timeout(b, &out, 0), EAGAIN);
    CHECK_EQ(gort_chan_send_timeout(b, &v, 0), 0);
    CHECK_EQ(gort_chan_send_timeout(b, &v, 0), EAGAIN);
    CHECK_EQ(gort_chan_recv_timeout(b, &out, 0), 0);
    CHECK_EQ(out, 5);
    CHECK(gt_now_ns() - t0 < CT_MS(5000));

    /* 0 with a partner already waiting succeeds. */
    struct late l = {.c = u, .value = 0, .send = 0};
    ct_go(late_partner, &l); /* receives after LATE_MS */
    v = 6;
    int r;
    int64_t deadline = gt_now_ns() + CT_MS(10000);
    while ((r = gort_chan_send_timeout(u, &v, 0)) == EAGAIN) {
        CHECK(gt_now_ns() < deadline);
        CHECK_EQ(gort_sleep(200000), 0);
    }
    CHECK_EQ(r, 0);
    CT_WITHIN_MS(5000, l.value == 6);

    /* Negative: waits for a partner that comes LATE_MS later, however
     * negative the value. */
    const int64_t negs[] = {-1, -1000000000, INT64_MIN};
    for (int i = 0; i < 3; i++) {
        struct late s = {.c = u, .value = 100 + i, .send = 1};
        t0 = gt_now_ns();
        ct_go(late_partner, &s);
        out = -1;
        CHECK_EQ(gort_chan_recv_timeout(u, &out, negs[i]), 0);
        CHECK(gt_now_ns() - t0 >= CT_MS(LATE_MS));
        CHECK_EQ(out, 100 + i);

        struct late rcv = {.c = u, .value = 0, .send = 0};
        t0 = gt_now_ns();
        ct_go(late_partner, &rcv);
        v = 200 + i;
        CHECK_EQ(gort_chan_send_timeout(u, &v, negs[i]), 0);
        CHECK(gt_now_ns() - t0 >= CT_MS(LATE_MS));
        CT_WITHIN_MS(5000, rcv.value == 200 + i);
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
