// Plain OS threads can select: a thread blocks in select over receives
// from goroutine producers and a send to goroutine consumers (and a select
// in one thread pairs with a select in another), and every value is
// delivered exactly once.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// timeout: 90
#include "chan_test_util.h"

#define PER_PRODUCER 20000
#define PRODUCERS 2
#define CONSUMERS 2
#define TOTAL (PER_PRODUCER * PRODUCERS)

static gort_chan *src[PRODUCERS], *dst;
static atomic_llong consumed_sum, consumed_count;

static void producer(void *arg) {
    int p = (int)(intptr_t)arg;
    for (int64_t i = 0; i < PER_PRODUCER; i++) {
        int64_t v = p * PER_PRODUCER + i;
        CHECK_EQ(gort_chan_send(src[p], &v), 0);
    }
    CHECK_EQ(gort_chan_close(src[p]), 0);
}

static void consumer(void *arg) {
    (void)arg;
    int64_t v;
    while (gort_chan_recv(dst, &v) == 0) {
        atomic_fetch_add(&consumed_sum, v);
        atomic_fetch_add(&consumed_count, 1);
    }
}

/* A plain thread forwarding src[*] -> dst with one select, holding at most
 * one value: while it holds one, the receive cases are disabled (NULL). */
static void *forwarder(void *arg) {
    (void)arg;
    int open = PRODUCERS;
    int holding = 0;
    int64_t held = 0, in[PRODUCERS];
    int64_t next[PRODUCERS] = {0};
    while (open > 0 || holding) {
        gort_case cs[PRODUCERS + 1];
        for (int p = 0; p < PRODUCERS; p++)
            cs[p] = (gort_case){.chan = holding ? NULL : src[p], .op = GORT_RECV, .elem = &in[p], .result = -1};
        cs[PRODUCERS] = (gort_case){.chan = holding ? dst : NULL, .op = GORT_SEND, .elem = &held, .result = -1};
        int k = gort_select(cs, PRODUCERS + 1, -1);
        CHECK(k >= 0 && k <= PRODUCERS);
        if (k == PRODUCERS) {
            CHECK_EQ(cs[k].result, 0);
            holding = 0;
        } else if (cs[k].result == EPIPE) {
            src[k] = NULL; /* a closed source: never ready again */
            open--;
        } else {
            CHECK_EQ(cs[k].result, 0);
            CHECK_EQ(in[k], k * PER_PRODUCER + next[k]); /* in order per producer */
            next[k]++;
            held = in[k];
            holding = 1;
        }
    }
    CHECK_EQ(gort_chan_close(dst), 0);
    return NULL;
}

/* Two threads, each in a select, pair up with each other. */
static gort_chan *tt;
static void *select_sender(void *arg) {
    (void)arg;
    gort_chan *never = ct_chan(sizeof(int64_t), 0);
    for (int64_t i = 0; i < 5000; i++) {
        int64_t junk = -1;
        gort_case cs[2] = {
            {.chan = never, .op = GORT_RECV, .elem = &junk, .result = -1},
            {.chan = tt, .op = GORT_SEND, .elem = &i, .result = -1},
        };
        CHECK_EQ(gort_select(cs, 2, -1), 1);
        CHECK_EQ(cs[1].result, 0);
    }
    gort_chan_release(never);
    return NULL;
}
static void *select_receiver(void *arg) {
    (void)arg;
    gort_chan *never = ct_chan(sizeof(int64_t), 0);
    for (int64_t i = 0; i < 5000; i++) {
        int64_t v = -1, junk = 3;
        gort_case cs[2] = {
            {.chan = tt, .op = GORT_RECV, .elem = &v, .result = -1},
            {.chan = never, .op = GORT_SEND, .elem = &junk, .result = -1},
        };
        CHECK_EQ(gort_select(cs, 2, -1), 0);
        CHECK_EQ(v, i);
    }
    gort_chan_release(never);
    return NULL;
}

int main(void) {
    gt_watchdog(80);
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    for (int p = 0; p < PRODUCERS; p++) src[p] = ct_chan(sizeof(int64_t), 0);
    gort_chan *srcs[PRODUCERS];
    memcpy(srcs, src, sizeof srcs);
    dst = ct_chan(sizeof(int64_t), 0);
    for (int i = 0; i < CONSUMERS; i++) ct_go_wg(&wg, consumer, NULL);
    for (int p = 0; p < PRODUCERS; p++) ct_go_wg(&wg, producer, (void *)(intptr_t)p);
    pthread_t f = ct_thread(forwarder, NULL);
    tt = ct_chan(sizeof(int64_t), 0);
    pthread_t a = ct_thread(select_sender, NULL), b = ct_thread(select_receiver, NULL);
    ct_join(f);
    ct_join(a);
    ct_join(b);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    CHECK_EQ(atomic_load(&consumed_count), TOTAL);
    CHECK_EQ(atomic_load(&consumed_sum), (long long)TOTAL * (TOTAL - 1) / 2);
    for (int p = 0; p < PRODUCERS; p++) gort_chan_release(srcs[p]);
    gort_chan_release(dst);
    gort_chan_release(tt);
    return 0;
}
