// Goroutines can spawn goroutines at scale: 100 spawner goroutines each
// start 1,000 more (100,100 in all), every leaf alive at once, each runs
// exactly once, and all of them finish.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// timeout: 120
#include "chan_test_util.h"

#define SPAWNERS 100
#define PER 1000
#define LEAVES (SPAWNERS * PER)

static gort_waitgroup alive, gate, finished;
static atomic_llong arg_sum;

static void leaf(void *arg) {
    atomic_fetch_add(&arg_sum, (long long)(intptr_t)arg);
    CHECK_EQ(gort_wg_done(&alive), 0);
    CHECK_EQ(gort_wg_wait(&gate), 0);
    CHECK_EQ(gort_wg_done(&finished), 0);
}

static void spawner(void *arg) {
    intptr_t base = (intptr_t)arg * PER;
    for (intptr_t i = 0; i < PER; i++) {
        int r = gort_go(leaf, (void *)(base + i));
        if (r != 0) {
            fprintf(stderr, "gort_go failed with %d (%s)\n", r, strerror(r));
            abort();
        }
    }
}

static void root(void *arg) {
    (void)arg;
    CHECK_EQ(gort_wg_add(&alive, LEAVES), 0);
    CHECK_EQ(gort_wg_add(&finished, LEAVES), 0);
    CHECK_EQ(gort_wg_add(&gate, 1), 0);
    for (intptr_t s = 0; s < SPAWNERS; s++) ct_go(spawner, (void *)s);
    CHECK_EQ(gort_wg_wait(&alive), 0);
    CHECK(gort_num_goroutines() >= LEAVES + 1);
    CHECK_EQ(gort_wg_done(&gate), 0);
    CHECK_EQ(gort_wg_wait(&finished), 0);
    CHECK_EQ(atomic_load(&arg_sum), (long long)LEAVES * (LEAVES - 1) / 2);
}

int main(void) {
    gt_watchdog(110);
    CHECK_EQ(gort_main(root, NULL), 0);
    gort_stats st;
    CHECK_EQ(gort_read_stats(&st), 0);
    CHECK(st.spawned >= LEAVES + SPAWNERS + 1);
    CHECK_EQ(ct_wait_goroutines_at_most(0, 10000), 0);
    return 0;
}
