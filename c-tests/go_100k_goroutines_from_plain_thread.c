// A plain thread (main) can spawn 100,000 goroutines that are all alive at
// once (parked on a wait group), each runs exactly once with its own
// argument, and all of them finish.
// env: GORTMAXPROCS=2
// timeout: 120
#include "chan_test_util.h"

#define N 100000

static gort_waitgroup alive, gate, finished;
static atomic_llong arg_sum;
static atomic_int ran;

static void parked(void *arg) {
    atomic_fetch_add(&arg_sum, (long long)(intptr_t)arg);
    atomic_fetch_add(&ran, 1);
    CHECK_EQ(gort_wg_done(&alive), 0);
    CHECK_EQ(gort_wg_wait(&gate), 0);
    CHECK_EQ(gort_wg_done(&finished), 0);
}

int main(void) {
    gt_watchdog(110);
    CHECK_EQ(gort_wg_add(&alive, N), 0);
    CHECK_EQ(gort_wg_add(&finished, N), 0);
    CHECK_EQ(gort_wg_add(&gate, 1), 0);
    int64_t t0 = gt_now_ns();
    for (intptr_t i = 0; i < N; i++) {
        int r = gort_go(parked, (void *)i);
        if (r != 0) {
            fprintf(stderr, "gort_go failed with %d (%s) after %ld goroutines\n", r, strerror(r), (long)i);
            abort();
        }
    }
    CHECK_EQ(gort_wg_wait(&alive), 0); /* every one of them is running or parked now */
    CHECK_EQ(atomic_load(&ran), N);
    CHECK(gort_num_goroutines() >= N);
    gort_stats st;
    CHECK_EQ(gort_read_stats(&st), 0);
    CHECK(st.goroutines >= N);
    CHECK(st.spawned >= N);
    CHECK_EQ(gort_wg_done(&gate), 0);
    CHECK_EQ(gort_wg_wait(&finished), 0);
    CHECK_EQ(atomic_load(&arg_sum), (long long)N * (N - 1) / 2);
    printf("%d goroutines alive at once, all done in %.2f s\n", N, (gt_now_ns() - t0) / 1e9);
    size_t left = ct_wait_goroutines_at_most(0, 10000);
    CHECK_EQ(left, 0);
    return 0;
}
