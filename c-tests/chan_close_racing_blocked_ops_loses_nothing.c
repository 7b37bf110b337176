// close racing with blocked and timing-out senders and receivers (goroutines
// and a plain thread) loses and duplicates nothing: over many rounds, every
// value whose send returned 0 is received exactly once, no value whose send
// failed is ever received, and every operation ends with 0, EPIPE or
// ETIMEDOUT.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// env: GORTMAXPROCS=4
// timeout: 120
#include "chan_test_util.h"

#define ROUNDS 1500
#define SENDERS 4
#define RECEIVERS 4
#define MAXV 64 /* values per sender per round at most */

struct round {
    gort_chan *c;
    atomic_int start;
    /* value = sender * MAXV + k; state: 1 sent ok, 2 send failed, 0 not attempted */
    unsigned char sent[SENDERS + 1][MAXV];
    atomic_uchar received[(SENDERS + 1) * MAXV];
    atomic_int bad_result;
};

static struct round R;

static void sender(int id, uint64_t seed) {
    while (!atomic_load(&R.start)) gort_yield();
    for (int k = 0; k < MAXV; k++) {
        int64_t v = id * MAXV + k;
        int r;
        switch (ct_rand(&seed) % 3) {
        case 0: r = gort_chan_send(R.c, &v); break;
        case 1: r = gort_chan_send_timeout(R.c, &v, 1 + (int64_t)(ct_rand(&seed) % 20000)); break;
        default: {
            gort_case cs[1] = {{.chan = R.c, .op = GORT_SEND, .elem = &v, .result = -1}};
            int i = gort_select(cs, 1, 1 + (int64_t)(ct_rand(&seed) % 20000));
            r = i == 0 ? cs[0].result : i == -ETIMEDOUT ? ETIMEDOUT : -1000 + i;
        }
        }
        if (r == 0) {
            R.sent[id][k] = 1;
        } else if (r == ETIMEDOUT) {
            R.sent[id][k] = 2;
        } else if (r == EPIPE) {
            R.sent[id][k] = 2;
            return; /* closed: stays closed */
        } else {
            atomic_store(&R.bad_result, r);
            return;
        }
    }
}

static void receiver(uint64_t seed) {
    while (!atomic_load(&R.start)) gort_yield();
    for (;;) {
        int64_t v = -1;
        int r;
        switch (ct_rand(&seed) % 3) {
        case 0: r = gort_chan_recv(R.c, &v); break;
        case 1: r = gort_chan_recv_timeout(R.c, &v, 1 + (int64_t)(ct_rand(&seed) % 20000)); break;
        default: {
            gort_case cs[2] = {
                {.chan = NULL, .op = GORT_RECV, .elem = NULL, .result = -1},
                {.chan = R.c, .op = GORT_RECV, .elem = &v, .result = -1},
            };
            int i = gort_select(cs, 2, 1 + (int64_t)(ct_rand(&seed) % 20000));
            r = i == 1 ? cs[1].result : i == -ETIMEDOUT ? ETIMEDOUT : -1000 + i;
        }
        }
        if (r == 0) {
            if (v < 0 || v >= (SENDERS + 1) * MAXV) {
                atomic_store(&R.bad_result, 999);
                return;
            }
            atomic_fetch_add(&R.received[v], 1);
        } else if (r == EPIPE) {
            if (v != 0) atomic_store(&R.bad_result, 998); /* not zero-filled */
            return;
        } else if (r != ETIMEDOUT) {
            atomic_store(&R.bad_result, r);
            return;
        }
    }
}

struct arg {
    int id;
    uint64_t seed;
};
static void g_sender(void *p) {
    struct arg *a = p;
    sender(a->id, a->seed);
}
static void g_receiver(void *p) {
    struct arg *a = p;
    receiver(a->seed);
}
static void *t_sender(void *p) {
    g_sender(p);
    return NULL;
}

int main(void) {
    gt_watchdog(110);
    uint64_t seed = 0x1234567;
    for (int round = 0; round < ROUNDS; round++) {
        memset(&R, 0, sizeof R);
        R.c = ct_chan(sizeof(int64_t), (size_t)(round % 3 == 0 ? 0 : round % 3 == 1 ? 1 : 8));
        struct arg sa[SENDERS + 1], ra[RECEIVERS];
        gort_waitgroup wg = GORT_WAITGROUP_INIT;
        for (int i = 0; i < SENDERS; i++) {
            sa[i] = (struct arg){.id = i, .seed = ct_rand(&seed)};
            ct_go_wg(&wg, g_sender, &sa[i]);
        }
        for (int i = 0; i < RECEIVERS; i++) {
            ra[i] = (struct arg){.id = i, .seed = ct_rand(&seed)};
            ct_go_wg(&wg, g_receiver, &ra[i]);
        }
        int with_thread = round % 10 == 0; /* a plain-thread sender now and then */
        pthread_t t = (pthread_t)0;
        if (with_thread) {
            sa[SENDERS] = (struct arg){.id = SENDERS, .seed = ct_rand(&seed)};
            t = ct_thread(t_sender, &sa[SENDERS]);
        }
        atomic_store(&R.start, 1);
        /* close at a random moment: at once, after some yields, or after a
         * short sleep */
        uint64_t how = ct_rand(&seed) % 4;
        if (how == 1)
            for (int i = 0; i < (int)(ct_rand(&seed) % 50); i++) gort_yield();
        else if (how >= 2)
            CHECK_EQ(gort_sleep((int64_t)(ct_rand(&seed) % 300000)), 0);
        CHECK_EQ(gort_chan_close(R.c), 0);
        CHECK_EQ(gort_wg_wait(&wg), 0);
        if (with_thread) ct_join(t);
        CHECK_EQ(atomic_load(&R.bad_result), 0);
        for (int s = 0; s <= SENDERS; s++) {
            for (int k = 0; k < MAXV; k++) {
                int got = atomic_load(&R.received[s * MAXV + k]);
                if (got != (R.sent[s][k] == 1)) {
                    fprintf(stderr, "round %d: value %d: send state %d, received %d times\n", round, s * MAXV + k,
                            R.sent[s][k], got);
                    abort();
                }
            }
        }
        CHECK_EQ(gort_chan_len(R.c), 0);
        gort_chan_release(R.c);
    }
    return 0;
}
