// select send cases deliver their value: into a buffer with room, to a
// receiver already waiting, and, when the select blocked on several send
// cases, to whichever receiver comes: exactly that case is reported, and
// no other case's value is delivered.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// timeout: 60
#include "chan_test_util.h"

#define ROUNDS 500

struct rx {
    gort_chan *c;
    int64_t got;
    int delay_ms;
};

static void receiver(void *arg) {
    struct rx *r = arg;
    if (r->delay_ms) ct_sleep_ms(r->delay_ms);
    CHECK_EQ(gort_chan_recv(r->c, &r->got), 0);
}

static void body(void *arg) {
    (void)arg;
    /* Buffer with room. */
    gort_chan *b = ct_chan(sizeof(int64_t), 2);
    int64_t v = 71;
    gort_case one[1] = {{.chan = b, .op = GORT_SEND, .elem = &v, .result = -1}};
    CHECK_EQ(gort_select(one, 1, -1), 0);
    CHECK_EQ(one[0].result, 0);
    v = 0; /* copied at select time */
    int64_t out = -1;
    CHECK_EQ(gort_chan_recv(b, &out), 0);
    CHECK_EQ(out, 71);

    /* Receiver already waiting on an unbuffered channel. */
    gort_chan *a = ct_chan(sizeof(int64_t), 0);
    gort_chan *z = ct_chan(sizeof(int64_t), 0);
    struct rx r = {.c = a, .got = -1};
    ct_go(receiver, &r);
    int64_t va = 1000, vz = 2000;
    gort_case two[2] = {
        {.chan = a, .op = GORT_SEND, .elem = &va, .result = -1},
        {.chan = z, .op = GORT_SEND, .elem = &vz, .result = -1},
    };
    CHECK_EQ(gort_select(two, 2, -1), 0);
    CHECK_EQ(two[0].result, 0);
    CT_WITHIN_MS(5000, *(volatile int64_t *)&r.got == 1000);

    /* Blocked on two send cases; a receiver shows up on one of them. */
    uint64_t seed = 12345;
    for (int i = 0; i < ROUNDS; i++) {
        int pick = (int)(ct_rand(&seed) % 2);
        struct rx rr = {.c = pick ? z : a, .got = -1, .delay_ms = i % 50 == 0 ? 5 : 0};
        gort_waitgroup wg = GORT_WAITGROUP_INIT;
        ct_go_wg(&wg, receiver, &rr);
        va = 1000 + i;
        vz = 2000 + i;
        two[0] = (gort_case){.chan = a, .op = GORT_SEND, .elem = &va, .result = -1};
        two[1] = (gort_case){.chan = z, .op = GORT_SEND, .elem = &vz, .result = -1};
        int k = gort_select(two, 2, -1);
        CHECK_EQ(k, pick);
        CHECK_EQ(two[k].result, 0);
        CHECK_EQ(gort_wg_wait(&wg), 0);
        CHECK_EQ(rr.got, pick ? 2000 + i : 1000 + i);
        /* the other case sent nothing and is no longer offered */
        CHECK_EQ(gort_chan_try_recv(pick ? a : z, &out), EAGAIN);
    }
    gort_chan_release(a);
    gort_chan_release(z);
    gort_chan_release(b);
}

int main(void) {
    gt_watchdog(50);
    CHECK_EQ(gort_main(body, NULL), 0);
    body(NULL);
    return 0;
}
