// Stopping the world is exclusive: plain threads and goroutines that stop
// it concurrently take turns (never two inside a stopped world at once),
// every stop returns 0 and is paired with its own start, and stw_count
// counts each stop exactly once.
// env: GORTMAXPROCS=2
// env: GORTMAXPROCS=4
// timeout: 120
#include "stw_test_util.h"

#define THREADS 3
#define GOROUTINES 3
#define ROUNDS 150

static atomic_int inside, max_inside;
static atomic_long total;

static void one_stopper(void) {
    for (int r = 0; r < ROUNDS; r++) {
        CHECK_EQ(gort_stop_the_world(), 0);
        int now = atomic_fetch_add(&inside, 1) + 1;
        int m = atomic_load(&max_inside);
        while (now > m && !atomic_compare_exchange_weak(&max_inside, &m, now)) {
        }
        stw_spin_ns(20000 + (r % 7) * 10000);
        atomic_fetch_sub(&inside, 1);
        atomic_fetch_add(&total, 1);
        CHECK_EQ(gort_start_the_world(), 0);
    }
}

static void *thread_stopper(void *arg) {
    (void)arg;
    one_stopper();
    return NULL;
}

static void goroutine_stopper(void *arg) {
    (void)arg;
    one_stopper();
}

int main(void) {
    gt_watchdog(110);
    stw_start_hogs(2);
    gort_stats before = stw_stats();
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    for (int i = 0; i < GOROUTINES; i++) ct_go_wg(&wg, goroutine_stopper, NULL);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) t[i] = ct_thread(thread_stopper, NULL);
    for (int i = 0; i < THREADS; i++) ct_join(t[i]);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    gort_stats after = stw_stats();
    CHECK_EQ(atomic_load(&max_inside), 1);
    CHECK_EQ(atomic_load(&total), (THREADS + GOROUTINES) * ROUNDS);
    CHECK_EQ(after.stw_count - before.stw_count, (THREADS + GOROUTINES) * ROUNDS);
    /* The world runs again. */
    uint64_t base[2];
    stw_snapshot(2, base);
    CHECK_EQ(stw_wait_all_moved(2, base, 5000), 0);
    stw_stop_hogs();
    printf("%d stops, never two at once; stw_max=%llu us\n", (THREADS + GOROUTINES) * ROUNDS,
           (unsigned long long)after.stw_max_ns / 1000);
    return 0;
}
