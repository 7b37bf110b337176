// gort_self() is 0 on plain threads (main and others) and, in goroutines,
// greater than 0, stable for the goroutine's life (across yields, sleeps
// and moves between threads) and distinct among live goroutines.
// env: GORTMAXPROCS=2
// timeout: 30
#include "chan_test_util.h"

#define N 2000

static uint64_t ids[N];
static gort_waitgroup alive, gate;

static int cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void g(void *arg) {
    intptr_t i = (intptr_t)arg;
    uint64_t me = gort_self();
    ids[i] = me;
    CHECK_EQ(gort_wg_done(&alive), 0);
    CHECK_EQ(gort_wg_wait(&gate), 0); /* all alive at once */
    gort_yield();
    CHECK_EQ(gort_self(), me);
    CHECK_EQ(gort_sleep(1000), 0);
    CHECK_EQ(gort_self(), me);
}

static void *plain(void *arg) {
    (void)arg;
    CHECK_EQ(gort_self(), 0);
    return NULL;
}

int main(void) {
    gt_watchdog(25);
    CHECK_EQ(gort_self(), 0);
    ct_join(ct_thread(plain, NULL));
    gort_waitgroup done = GORT_WAITGROUP_INIT;
    CHECK_EQ(gort_wg_add(&alive, N), 0);
    CHECK_EQ(gort_wg_add(&gate, 1), 0);
    for (intptr_t i = 0; i < N; i++) ct_go_wg(&done, g, (void *)i);
    CHECK_EQ(gort_wg_wait(&alive), 0);
    uint64_t sorted[N];
    memcpy(sorted, ids, sizeof sorted);
    qsort(sorted, N, sizeof sorted[0], cmp);
    CHECK(sorted[0] > 0);
    for (int i = 1; i < N; i++) CHECK(sorted[i] != sorted[i - 1]);
    CHECK_EQ(gort_wg_done(&gate), 0);
    CHECK_EQ(gort_wg_wait(&done), 0);
    CHECK_EQ(gort_self(), 0); /* still a plain thread after all that */
    ct_join(ct_thread(plain, NULL));
    return 0;
}
