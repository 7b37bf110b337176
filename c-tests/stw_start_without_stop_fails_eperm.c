// gort_start_the_world fails with EPERM when the caller did not stop the
// world: with no stop at all (from a plain thread and from a goroutine),
// from another thread than the stopper, twice in a row; the world stays
// stopped until its stopper starts it, and stop/start keep working after.
// env: GORTMAXPROCS=2
// timeout: 60
#include "stw_test_util.h"

static atomic_int step;
static int other_rc = -1;

static void start_from_goroutine(void *arg) {
    (void)arg;
    CHECK_EQ(gort_start_the_world(), EPERM);
}

static void *start_from_thread(void *arg) {
    (void)arg;
    other_rc = gort_start_the_world();
    return NULL;
}

/* A goroutine stops the world and waits (spinning, no runtime call) while
 * the main thread tries to start it. */
static void stopper_goroutine(void *arg) {
    (void)arg;
    CHECK_EQ(gort_stop_the_world(), 0);
    atomic_store(&step, 1);
    while (atomic_load(&step) != 2) {
    }
    CHECK_EQ(gort_start_the_world(), 0);
    CHECK_EQ(gort_start_the_world(), EPERM);
}

int main(void) {
    gt_watchdog(50);
    stw_start_hogs(2);
    /* Nobody stopped it. */
    CHECK_EQ(gort_start_the_world(), EPERM);
    CHECK_EQ(gort_main(start_from_goroutine, NULL), 0);

    /* Stopped by main: another thread may not start it. */
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(gort_stop_the_world(), 0);
        uint64_t a[2], b[2];
        stw_snapshot(2, a);
        ct_join(ct_thread(start_from_thread, NULL));
        CHECK_EQ(other_rc, EPERM);
        usleep(2000);
        stw_snapshot(2, b);
        CHECK(a[0] == b[0] && a[1] == b[1]); /* still stopped */
        CHECK_EQ(gort_start_the_world(), 0);
        CHECK_EQ(gort_start_the_world(), EPERM);
    }

    /* Stopped by a goroutine: the main thread may not start it. */
    CHECK_EQ(gort_go(stopper_goroutine, NULL), 0);
    CHECK_WITHIN_MS(5000, atomic_load(&step) == 1);
    CHECK_EQ(gort_start_the_world(), EPERM);
    atomic_store(&step, 2);
    usleep(10000);
    /* It started the world itself: hogs run again. */
    uint64_t base[2];
    stw_snapshot(2, base);
    CHECK_EQ(stw_wait_all_moved(2, base, 5000), 0);
    CHECK_EQ(gort_start_the_world(), EPERM);
    stw_stop_hogs();
    return 0;
}
