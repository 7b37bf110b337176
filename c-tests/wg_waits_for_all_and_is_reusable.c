// A wait group's wait returns only once the counter is back to zero, for
// every waiter (goroutines and plain threads); a zero wait group does not
// block; adds may come from many goroutines at once; the same wait group
// can be reused round after round.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// env: GORTMAXPROCS=4
// timeout: 90
#include "chan_test_util.h"

#define ROUNDS 20
#define WORKERS 500
#define WAITERS_G 4
#define WAITERS_T 2

static gort_waitgroup wg; /* the one under test: zero value */
static atomic_int work_done;
static atomic_int early; /* waiters that woke before all work was done */
static gort_waitgroup waiters;
static int round_target;

static void worker(void *arg) {
    if ((intptr_t)arg % 50 == 0) ct_sleep_ms(2);
    if ((intptr_t)arg % 7 == 0) gort_yield();
    atomic_fetch_add(&work_done, 1);
    CHECK_EQ(gort_wg_done(&wg), 0);
}

static void slow_worker(void *arg) {
    (void)arg;
    ct_sleep_ms(100);
    atomic_fetch_add(&work_done, 1);
    CHECK_EQ(gort_wg_done(&wg), 0);
}

static void waiter(void) {
    CHECK_EQ(gort_wg_wait(&wg), 0);
    if (atomic_load(&work_done) < round_target) atomic_fetch_add(&early, 1);
}
static void g_waiter(void *arg) {
    (void)arg;
    waiter();
}
static void *t_waiter(void *arg) {
    (void)arg;
    waiter();
    return NULL;
}

/* Many goroutines add to one wait group concurrently, each for children it
 * spawns; the root holds one count until every spawner has added. */
static gort_waitgroup tree, spawners;
static atomic_int children_done;
static void child(void *arg) {
    (void)arg;
    atomic_fetch_add(&children_done, 1);
    CHECK_EQ(gort_wg_done(&tree), 0);
}
static void spawner(void *arg) {
    (void)arg;
    for (int i = 0; i < 100; i++) {
        CHECK_EQ(gort_wg_add(&tree, 1), 0);
        ct_go(child, NULL);
        /* churn: +3 then -3 from many goroutines at once */
        CHECK_EQ(gort_wg_add(&tree, 3), 0);
        CHECK_EQ(gort_wg_add(&tree, -3), 0);
    }
}

int main(void) {
    gt_watchdog(80);
    /* Zero value: wait returns at once, on a thread and in a goroutine. */
    CHECK_EQ(gort_wg_wait(&wg), 0);

    for (int r = 0; r < ROUNDS; r++) {
        round_target = (r + 1) * WORKERS;
        CHECK_EQ(gort_wg_add(&wg, WORKERS), 0);
        pthread_t ts[WAITERS_T];
        for (int i = 0; i < WAITERS_G; i++) ct_go_wg(&waiters, g_waiter, NULL);
        for (int i = 0; i < WAITERS_T; i++) ts[i] = ct_thread(t_waiter, NULL);
        for (intptr_t i = 0; i < WORKERS; i++) ct_go(worker, (void *)i);
        waiter(); /* main waits too */
        CHECK_EQ(gort_wg_wait(&waiters), 0);
        for (int i = 0; i < WAITERS_T; i++) ct_join(ts[i]);
        CHECK_EQ(atomic_load(&early), 0);
        CHECK_EQ(atomic_load(&work_done), round_target);
    }

    /* A waiter really waits: the last done comes 100 ms later. */
    CHECK_EQ(gort_wg_add(&wg, 1), 0);
    int64_t t0 = gt_now_ns();
    round_target = atomic_load(&work_done) + 1;
    ct_go(slow_worker, NULL);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    CHECK_EQ(atomic_load(&work_done), round_target);
    CHECK(gt_now_ns() - t0 >= CT_MS(100));

    /* Adds from 64 goroutines at once. */
    CHECK_EQ(gort_wg_add(&tree, 1), 0);
    for (int i = 0; i < 64; i++) ct_go_wg(&spawners, spawner, NULL);
    CHECK_EQ(gort_wg_wait(&spawners), 0);
    CHECK_EQ(gort_wg_done(&tree), 0);
    CHECK_EQ(gort_wg_wait(&tree), 0);
    CHECK_EQ(atomic_load(&children_done), 64 * 100);
    CHECK_EQ(gort_wg_add(&tree, -1), EINVAL); /* back at exactly zero */
    return 0;
}
