// A receive that times out just as a sender arrives (recv_timeout or a
// select with a timeout) either gets the value or leaves it with the sender
// or in the buffer: over many rounds no value is lost and none is received
// twice, and the two sides always agree on whether the transfer happened.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// env: GORTMAXPROCS=4
// timeout: 120
#include "chan_test_util.h"

#define ROUNDS 20000

struct side {
    gort_chan *c;
    int64_t timeout;
    int64_t delay; /* ns to spin/sleep before acting */
    int use_select;
    int result;
    int64_t value;
};

static void pause_ns(int64_t ns) {
    if (ns <= 0) return;
    if (ns > 50000) {
        CHECK_EQ(gort_sleep(ns), 0);
    } else {
        int64_t end = gt_now_ns() + ns;
        while (gt_now_ns() < end) {
        }
    }
}

static void timed_receiver(void *arg) {
    struct side *s = arg;
    pause_ns(s->delay);
    s->value = -1;
    if (s->use_select) {
        gort_case cs[1] = {{.chan = s->c, .op = GORT_RECV, .elem = &s->value, .result = -1}};
        int i = gort_select(cs, 1, s->timeout);
        s->result = i == 0 ? cs[0].result : i == -ETIMEDOUT ? ETIMEDOUT : 1000 - i;
    } else {
        s->result = gort_chan_recv_timeout(s->c, &s->value, s->timeout);
    }
}

static void timed_sender(void *arg) {
    struct side *s = arg;
    pause_ns(s->delay);
    s->result = gort_chan_send_timeout(s->c, &s->value, s->timeout);
}

static void blocking_sender(void *arg) {
    struct side *s = arg;
    pause_ns(s->delay);
    s->result = gort_chan_send(s->c, &s->value);
}

int main(void) {
    gt_watchdog(110);
    uint64_t seed = 99;
    gort_chan *u = ct_chan(sizeof(int64_t), 0);
    gort_chan *b = ct_chan(sizeof(int64_t), 1);
    int transfers = 0, timeouts = 0;
    for (int i = 0; i < ROUNDS; i++) {
        int kind = i % 3;
        int64_t value = 1000 + i;
        struct side rx = {
            .timeout = 1 + (int64_t)(ct_rand(&seed) % 60000),
            .delay = (int64_t)(ct_rand(&seed) % 40000),
            .use_select = (int)(ct_rand(&seed) % 2),
            .result = -77,
        };
        struct side tx = {.value = value, .delay = (int64_t)(ct_rand(&seed) % 60000), .result = -77};
        gort_waitgroup wg = GORT_WAITGROUP_INIT;
        if (kind == 0) {
            /* unbuffered, both sides time out: transfer iff both say so */
            rx.c = tx.c = u;
            tx.timeout = 1 + (int64_t)(ct_rand(&seed) % 60000);
            ct_go_wg(&wg, timed_receiver, &rx);
            ct_go_wg(&wg, timed_sender, &tx);
            CHECK_EQ(gort_wg_wait(&wg), 0);
            CHECK(rx.result == 0 || rx.result == ETIMEDOUT);
            CHECK(tx.result == 0 || tx.result == ETIMEDOUT);
            if ((rx.result == 0) != (tx.result == 0)) {
                fprintf(stderr, "round %d: receiver %d, sender %d\n", i, rx.result, tx.result);
                abort();
            }
            if (rx.result == 0) CHECK_EQ(rx.value, value);
        } else if (kind == 1) {
            /* unbuffered, blocking sender: if the receiver timed out, the
             * value is still with the sender, to be received exactly once */
            rx.c = tx.c = u;
            ct_go_wg(&wg, timed_receiver, &rx);
            gort_waitgroup swg = GORT_WAITGROUP_INIT;
            ct_go_wg(&swg, blocking_sender, &tx);
            CHECK_EQ(gort_wg_wait(&wg), 0);
            CHECK(rx.result == 0 || rx.result == ETIMEDOUT);
            if (rx.result == 0) {
                CHECK_EQ(rx.value, value);
            } else {
                int64_t v = -1;
                CHECK_EQ(gort_chan_recv(u, &v), 0);
                CHECK_EQ(v, value);
            }
            CHECK_EQ(gort_wg_wait(&swg), 0);
            CHECK_EQ(tx.result, 0);
        } else {
            /* buffered: the send always succeeds; a timed-out receiver leaves
             * the value in the buffer */
            rx.c = tx.c = b;
            ct_go_wg(&wg, timed_receiver, &rx);
            ct_go_wg(&wg, blocking_sender, &tx);
            CHECK_EQ(gort_wg_wait(&wg), 0);
            CHECK_EQ(tx.result, 0);
            CHECK(rx.result == 0 || rx.result == ETIMEDOUT);
            if (rx.result == 0) {
                CHECK_EQ(rx.value, value);
                CHECK_EQ(gort_chan_len(b), 0);
            } else {
                CHECK_EQ(gort_chan_len(b), 1);
                int64_t v = -1;
                CHECK_EQ(gort_chan_try_recv(b, &v), 0);
                CHECK_EQ(v, value);
            }
        }
        transfers += rx.result == 0;
        timeouts += rx.result == ETIMEDOUT;
        /* nothing left anywhere */
        CHECK_EQ(gort_chan_try_recv(u, NULL), EAGAIN);
        CHECK_EQ(gort_chan_try_recv(b, NULL), EAGAIN);
    }
    printf("%d direct transfers, %d receive timeouts\n", transfers, timeouts);
    gort_chan_release(u);
    gort_chan_release(b);
    return 0;
}
