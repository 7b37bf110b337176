// A wait group refuses to go negative: add/done that would take the counter
// below zero return EINVAL and leave the counter as it was (waiters keep
// waiting, a zero group stays zero); NULL wait groups give EINVAL.
// timeout: 30
#include "chan_test_util.h"

static gort_waitgroup wg;
static atomic_int woke;

static void waiter(void *arg) {
    (void)arg;
    CHECK_EQ(gort_wg_wait(&wg), 0);
    atomic_store(&woke, 1);
}

static void body(void *arg) {
    (void)arg;
    memset(&wg, 0, sizeof wg);
    atomic_store(&woke, 0);
    ct_set_errno(777);
    /* From zero. */
    CHECK_EQ(gort_wg_add(&wg, -1), EINVAL);
    CHECK_EQ(gort_wg_done(&wg), EINVAL);
    CHECK_EQ(gort_wg_add(&wg, INT64_MIN), EINVAL);
    CHECK_EQ(gort_wg_add(&wg, 0), 0);
    CHECK_EQ(gort_wg_wait(&wg), 0); /* still zero: returns at once */

    /* From 2: -3 fails, the counter stays 2. */
    CHECK_EQ(gort_wg_add(&wg, 2), 0);
    CHECK_EQ(gort_wg_add(&wg, -3), EINVAL);
    CHECK_EQ(gort_wg_add(&wg, INT64_MIN), EINVAL);
    gort_waitgroup done_wg = GORT_WAITGROUP_INIT;
    ct_go_wg(&done_wg, waiter, NULL);
    CHECK_EQ(gort_wg_done(&wg), 0);
    ct_sleep_ms(50);
    CHECK_EQ(atomic_load(&woke), 0); /* 1 left: the waiter still waits */
    CHECK_EQ(gort_wg_add(&wg, -2), EINVAL);
    ct_sleep_ms(20);
    CHECK_EQ(atomic_load(&woke), 0);
    CHECK_EQ(gort_wg_done(&wg), 0);
    CHECK_EQ(gort_wg_wait(&done_wg), 0);
    CHECK_EQ(atomic_load(&woke), 1);
    CHECK_EQ(gort_wg_done(&wg), EINVAL); /* zero again */
    CHECK_EQ(gort_wg_wait(&wg), 0);

    /* NULL. */
    CHECK_EQ(gort_wg_add(NULL, 1), EINVAL);
    CHECK_EQ(gort_wg_add(NULL, -1), EINVAL);
    CHECK_EQ(gort_wg_done(NULL), EINVAL);
    CHECK_EQ(gort_wg_wait(NULL), EINVAL);
    CHECK_EQ(ct_errno(), 777);
}

int main(void) {
    gt_watchdog(25);
    CHECK_EQ(gort_main(body, NULL), 0);
    body(NULL);
    return 0;
}
