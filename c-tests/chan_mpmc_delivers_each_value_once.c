// 8 producers and 8 consumers sharing one channel, buffered (CHAN_CAP=64)
// or unbuffered (CHAN_CAP=0), deliver each of 1,000,000 values exactly once
// (count, sum and a per-value tally checked), and each producer's values
// arrive in the order it sent them.
// env: GORTMAXPROCS=1 CHAN_CAP=64
// env: GORTMAXPROCS=2 CHAN_CAP=64
// env: GORTMAXPROCS=4 CHAN_CAP=64
// env: GORTMAXPROCS=1 CHAN_CAP=0
// env: GORTMAXPROCS=2 CHAN_CAP=0
// env: GORTMAXPROCS=4 CHAN_CAP=0
// timeout: 120
#include "chan_test_util.h"

#define PRODUCERS 8
#define CONSUMERS 8
#define TOTAL 1000000
#define PER (TOTAL / PRODUCERS)

static gort_chan *c;
static unsigned char *seen;
static atomic_ullong got_count, got_sum;
static gort_waitgroup producers_wg;

static void producer(void *arg) {
    uint64_t p = (uint64_t)(uintptr_t)arg;
    for (uint64_t i = 0; i < PER; i++) {
        uint64_t v = p * PER + i;
        CHECK_EQ(gort_chan_send(c, &v), 0);
    }
}

static void consumer(void *arg) {
    (void)arg;
    uint64_t last[PRODUCERS];
    for (int p = 0; p < PRODUCERS; p++) last[p] = UINT64_MAX;
    uint64_t v, n = 0, sum = 0;
    int r;
    while ((r = gort_chan_recv(c, &v)) == 0) {
        CHECK(v < TOTAL);
        uint64_t p = v / PER;
        CHECK(last[p] == UINT64_MAX || v > last[p]); /* per-producer order */
        last[p] = v;
        /* each slot is written by exactly one consumer if nothing is duplicated */
        CHECK_EQ(__atomic_fetch_add(&seen[v], 1, __ATOMIC_RELAXED), 0);
        n++;
        sum += v;
    }
    CHECK_EQ(r, EPIPE);
    atomic_fetch_add(&got_count, n);
    atomic_fetch_add(&got_sum, sum);
}

static void closer(void *arg) {
    (void)arg;
    CHECK_EQ(gort_wg_wait(&producers_wg), 0);
    CHECK_EQ(gort_chan_close(c), 0);
}

int main(void) {
    gt_watchdog(110);
    seen = calloc(TOTAL, 1);
    CHECK(seen != NULL);
    const char *cap = getenv("CHAN_CAP");
    CHECK(cap != NULL); /* set by every env line above */
    c = ct_chan(sizeof(uint64_t), (size_t)atoi(cap));
    gort_waitgroup consumers_wg = GORT_WAITGROUP_INIT;
    for (int i = 0; i < CONSUMERS; i++) ct_go_wg(&consumers_wg, consumer, NULL);
    for (int i = 0; i < PRODUCERS; i++) ct_go_wg(&producers_wg, producer, (void *)(uintptr_t)i);
    ct_go(closer, NULL);
    CHECK_EQ(gort_wg_wait(&consumers_wg), 0);
    CHECK_EQ(atomic_load(&got_count), TOTAL);
    CHECK_EQ(atomic_load(&got_sum), (unsigned long long)TOTAL * (TOTAL - 1) / 2);
    for (size_t i = 0; i < TOTAL; i++) CHECK_EQ(seen[i], 1);
    CHECK_EQ(gort_chan_len(c), 0);
    gort_chan_release(c);
    free(seen);
    return 0;
}
