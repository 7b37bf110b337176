// The goroutine, sync and introspection calls reject invalid input without
// side effects: NULL functions, mutexes, wait groups and stats pointers
// give EINVAL (nothing is spawned, errno untouched), and
// gort_lock_os_thread on a plain thread gives EPERM.
// timeout: 30
#include "chan_test_util.h"

static void fn(void *arg) { (void)arg; }

int main(void) {
    gt_watchdog(25);
    gort_stats before, after;
    CHECK_EQ(gort_read_stats(&before), 0);
    ct_set_errno(2468);
    gort_attr attr = {.stack_size = 0, .name = "x"};
    CHECK_EQ(gort_go(NULL, NULL), EINVAL);
    CHECK_EQ(gort_go(NULL, (void *)1), EINVAL);
    CHECK_EQ(gort_go_attr(NULL, NULL, &attr), EINVAL);
    CHECK_EQ(gort_go_attr(NULL, NULL, NULL), EINVAL);
    CHECK_EQ(gort_main(NULL, NULL), EINVAL);
    CHECK_EQ(gort_mutex_lock(NULL), EINVAL);
    CHECK_EQ(gort_mutex_trylock(NULL), EINVAL);
    CHECK_EQ(gort_mutex_unlock(NULL), EINVAL);
    CHECK_EQ(gort_wg_add(NULL, 1), EINVAL);
    CHECK_EQ(gort_wg_done(NULL), EINVAL);
    CHECK_EQ(gort_wg_wait(NULL), EINVAL);
    CHECK_EQ(gort_read_stats(NULL), EINVAL);
    CHECK_EQ(gort_lock_os_thread(), EPERM);
    CHECK_EQ(ct_errno(), 2468);
    CHECK_EQ(gort_read_stats(&after), 0);
    CHECK_EQ(after.spawned, before.spawned);
    CHECK_EQ(gort_num_goroutines(), 0);
    /* and the runtime works */
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    ct_go_wg(&wg, fn, NULL);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    return 0;
}
