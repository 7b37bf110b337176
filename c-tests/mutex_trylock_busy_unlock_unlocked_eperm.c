// gort_mutex_trylock returns EBUSY while the mutex is held (by anyone,
// including the caller: it is not recursive), gort_mutex_unlock of an
// unlocked mutex returns EPERM, a blocked lock waits for the unlock, and
// NULL gives EINVAL; all from goroutines and plain threads.
// env: GORTMAXPROCS=2
// timeout: 30
#include "chan_test_util.h"

static gort_mutex mu;
static atomic_int state; /* 1: about to lock, 2: locked */

static void try_busy(void *arg) {
    (void)arg;
    CHECK_EQ(gort_mutex_trylock(&mu), EBUSY);
}
static void *t_try_busy(void *arg) {
    try_busy(arg);
    return NULL;
}

static void locker(void *arg) {
    (void)arg;
    atomic_store(&state, 1);
    CHECK_EQ(gort_mutex_lock(&mu), 0);
    atomic_store(&state, 2);
    CHECK_EQ(gort_mutex_unlock(&mu), 0);
}

static void body(void *arg) {
    (void)arg;
    ct_set_errno(31337);
    memset(&mu, 0, sizeof mu);
    CHECK_EQ(gort_mutex_unlock(&mu), EPERM); /* zero value is unlocked */
    CHECK_EQ(gort_mutex_trylock(&mu), 0);
    CHECK_EQ(gort_mutex_trylock(&mu), EBUSY);
    /* held: others get EBUSY too */
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    ct_go_wg(&wg, try_busy, NULL);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    ct_join(ct_thread(t_try_busy, NULL));
    CHECK_EQ(gort_mutex_unlock(&mu), 0);
    CHECK_EQ(gort_mutex_unlock(&mu), EPERM);
    CHECK_EQ(gort_mutex_unlock(&mu), EPERM);

    /* lock waits for unlock */
    CHECK_EQ(gort_mutex_lock(&mu), 0);
    atomic_store(&state, 0);
    ct_go_wg(&wg, locker, NULL);
    CT_WITHIN_MS(10000, atomic_load(&state) >= 1);
    ct_sleep_ms(50);
    CHECK_EQ(atomic_load(&state), 1);
    CHECK_EQ(gort_mutex_unlock(&mu), 0);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    CHECK_EQ(atomic_load(&state), 2);
    CHECK_EQ(gort_mutex_unlock(&mu), EPERM); /* the locker unlocked it */

    /* still a working mutex */
    CHECK_EQ(gort_mutex_lock(&mu), 0);
    CHECK_EQ(gort_mutex_unlock(&mu), 0);

    CHECK_EQ(gort_mutex_lock(NULL), EINVAL);
    CHECK_EQ(gort_mutex_trylock(NULL), EINVAL);
    CHECK_EQ(gort_mutex_unlock(NULL), EINVAL);
    CHECK_EQ(ct_errno(), 31337);
}

int main(void) {
    gt_watchdog(25);
    CHECK_EQ(gort_main(body, NULL), 0);
    body(NULL);
    return 0;
}
