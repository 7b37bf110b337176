// After fork() in a process whose runtime is running, the child (one thread,
// none of the runtime's) gets ENOTRECOVERABLE from gort calls instead of
// deadlocking on state owned by threads that do not exist there; the parent
// keeps working. A child of a process that never started the runtime may
// start its own.
// env: GORTMAXPROCS=2
// timeout: 30
#include "gort_test.h"
#include <sys/wait.h>

static gort_waitgroup wg;
static void work(void *arg) { (void)arg; gort_wg_done(&wg); }

static void spin(void *arg) {
    volatile int *stop = arg;
    while (!*stop) gort_yield();
}

int main(void) {
    gt_watchdog(25);
    static volatile int stop;
    /* Busy runtime: goroutines running, maybe holding runtime locks. */
    CHECK_EQ(gort_go(spin, (void *)&stop), 0);
    CHECK_EQ(gort_go(spin, (void *)&stop), 0);
    for (int round = 0; round < 50; round++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            if (gort_go(work, NULL) != ENOTRECOVERABLE) _exit(3);
            gort_chan *c = gort_chan_make(8, 1);
            if (c != NULL || errno != ENOTRECOVERABLE) _exit(4);
            if (gort_sleep(1000) != ENOTRECOVERABLE) _exit(5);
            _exit(0);
        }
        int status;
        CHECK_EQ(waitpid(pid, &status, 0), pid);
        CHECK(WIFEXITED(status));
        CHECK_EQ(WEXITSTATUS(status), 0);
    }
    /* The parent still works. */
    CHECK_EQ(gort_wg_add(&wg, 100), 0);
    for (int i = 0; i < 100; i++) CHECK_EQ(gort_go(work, NULL), 0);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    stop = 1;
    puts("ok");
    return 0;
}
