// gort_stop_the_world called again by the goroutine or plain thread that
// already holds the world stopped returns EDEADLK at once and changes
// nothing: the world stays stopped (hogs do not move) until the holder's one
// gort_start_the_world, after which a second start is EPERM and the hogs
// run again. Another thread's stop meanwhile still waits its turn.
// env: GORTMAXPROCS=2
// timeout: 60
#include "stw_test_util.h"

static atomic_int waiter_go;    /* set by the holder once it holds the world */
static atomic_int waiter_state; /* 0 not started, 1 calling stop, 2 stopped */

static void *other_stopper(void *arg) {
    (void)arg;
    while (!atomic_load(&waiter_go)) usleep(1000);
    atomic_store(&waiter_state, 1);
    CHECK_EQ(gort_stop_the_world(), 0);
    atomic_store(&waiter_state, 2);
    CHECK_EQ(gort_start_the_world(), 0);
    return NULL;
}

/* Runs on the holder (a goroutine or the main thread). While it holds the
 * world it makes no runtime call and no libc call that may take a lock (a
 * stopped goroutine may hold it): it spins. */
static void nested_stops(void *arg) {
    (void)arg;
    for (int round = 0; round < 20; round++) {
        CHECK_EQ(gort_stop_the_world(), 0);
        uint64_t a[2], b[2];
        stw_snapshot(2, a);
        for (int i = 0; i < 3; i++) CHECK_EQ(gort_stop_the_world(), EDEADLK);
        stw_spin_ns(2000000);
        stw_snapshot(2, b);
        CHECK(a[0] == b[0] && a[1] == b[1]); /* still stopped */
        CHECK_EQ(gort_start_the_world(), 0);
        CHECK_EQ(gort_start_the_world(), EPERM); /* one stop, one start */
    }

    /* A different thread is not the holder: it waits for the start. */
    pthread_t t = ct_thread(other_stopper, NULL);
    CHECK_EQ(gort_stop_the_world(), 0);
    atomic_store(&waiter_go, 1);
    GT_POLL_WITHIN_MS(5000, atomic_load(&waiter_state) == 1, (void)0);
    stw_spin_ns(20000000);
    CHECK_EQ(atomic_load(&waiter_state), 1);
    CHECK_EQ(gort_stop_the_world(), EDEADLK);
    CHECK_EQ(gort_start_the_world(), 0);
    ct_join(t);
    CHECK_EQ(atomic_load(&waiter_state), 2);
    atomic_store(&waiter_go, 0);
    atomic_store(&waiter_state, 0);
}

int main(void) {
    gt_watchdog(50);
    stw_start_hogs(2);
    nested_stops(NULL);                          /* the holder is a plain thread */
    CHECK_EQ(gort_main(nested_stops, NULL), 0); /* the holder is a goroutine */
    uint64_t base[2];
    stw_snapshot(2, base);
    CHECK_EQ(stw_wait_all_moved(2, base, 5000), 0);
    stw_stop_hogs();
    return 0;
}
