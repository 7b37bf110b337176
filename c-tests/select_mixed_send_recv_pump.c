// A select loop mixing a receive and a send case (Go's queue "pump", with a
// NULL channel disabling the send case while nothing is pending) moves every
// value from producer to consumer exactly once and in order, both cases
// blocking in turn.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// env: GORTMAXPROCS=4
// timeout: 90
#include "chan_test_util.h"

#define N 200000
#define PENDING 64

static gort_chan *in, *out;

static void producer(void *arg) {
    (void)arg;
    for (int64_t i = 0; i < N; i++) {
        CHECK_EQ(gort_chan_send(in, &i), 0);
        if (i % 5000 == 0) ct_sleep_ms(1); /* let the pump block on receive */
    }
    CHECK_EQ(gort_chan_close(in), 0);
}

/* Buffers up to PENDING values between in and out. */
static void pump(void *arg) {
    (void)arg;
    int64_t ring[PENDING];
    size_t head = 0, len = 0;
    int in_open = 1;
    int64_t incoming;
    while (in_open || len > 0) {
        gort_case cs[2] = {
            {.chan = in_open && len < PENDING ? in : NULL, .op = GORT_RECV, .elem = &incoming, .result = -1},
            {.chan = len > 0 ? out : NULL, .op = GORT_SEND, .elem = &ring[head], .result = -1},
        };
        int k = gort_select(cs, 2, -1);
        CHECK(k == 0 || k == 1);
        if (k == 0) {
            if (cs[0].result == EPIPE) {
                in_open = 0;
                continue;
            }
            CHECK_EQ(cs[0].result, 0);
            ring[(head + len) % PENDING] = incoming;
            len++;
        } else {
            CHECK_EQ(cs[1].result, 0);
            head = (head + 1) % PENDING;
            len--;
        }
    }
    CHECK_EQ(gort_chan_close(out), 0);
}

static void body(void *arg) {
    (void)arg;
    in = ct_chan(sizeof(int64_t), 0);
    out = ct_chan(sizeof(int64_t), 0);
    ct_go(producer, NULL);
    ct_go(pump, NULL);
    int64_t v, expect = 0;
    int r;
    while ((r = gort_chan_recv(out, &v)) == 0) {
        CHECK_EQ(v, expect);
        expect++;
        if (expect % 7000 == 0) ct_sleep_ms(1); /* let the pump block on send */
    }
    CHECK_EQ(r, EPIPE);
    CHECK_EQ(expect, N);
    gort_chan_release(in);
    gort_chan_release(out);
}

int main(void) {
    gt_watchdog(80);
    CHECK_EQ(gort_main(body, NULL), 0);
    return 0;
}
