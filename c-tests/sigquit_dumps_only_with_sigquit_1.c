// With GORTDEBUG=sigquit=1, SIGQUIT writes the goroutine dump to stderr
// and the program goes on (exit status 0). Without it SIGQUIT is left
// alone: its default action kills the process (dump), or the program's
// own handler runs (own-handler), and no dump is printed.
// env: SQ_CASE=dump
// env: SQ_CASE=default
// env: SQ_CASE=own-handler
// timeout: 60
#include "child_process.h"

#include <sys/resource.h>

static gort_chan *nobody;
static volatile int sink;
static volatile sig_atomic_t handled;

static void parked(void *arg) {
    (void)arg;
    sink = gort_chan_recv(nobody, NULL);
}

static void on_quit(int sig) {
    (void)sig;
    handled = 1;
}

static int child(void) {
    gt_watchdog(20);
    struct rlimit no_core = {0, 0};
    CHECK_EQ(setrlimit(RLIMIT_CORE, &no_core), 0);
    const char *which = getenv("SQ_CASE");
    if (strcmp(which, "own-handler") == 0) CHECK(signal(SIGQUIT, on_quit) != SIG_ERR);
    nobody = gort_chan_make(sizeof(int), 0);
    gort_attr a = {0, "quiet-one"};
    CHECK_EQ(gort_go_attr(parked, NULL, &a), 0);
    CHECK_WITHIN_MS(5000, gort_num_goroutines() == 1);
    usleep(20 * 1000);
    CHECK_EQ(kill(getpid(), SIGQUIT), 0);
    usleep(1000 * 1000); /* the dump is the chores thread's: give it time */
    printf("went on, handled=%d\n", (int)handled);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) return child();
    gt_watchdog(50);
    const char *which = getenv("SQ_CASE");
    CHECK(which != NULL);
    const char *env[] = {strcmp(which, "dump") == 0 ? "GORTDEBUG=sigquit=1" : NULL, NULL};
    gt_child c;
    gt_run_self("child", env, 30, &c);
    int dumped = strstr(c.err, "gort: SIGQUIT: goroutine dump") && strstr(c.err, "[chan receive]: (name \"quiet-one\")") &&
                 strstr(c.err, "parked(...) at ");
    int ok;
    if (strcmp(which, "dump") == 0) {
        ok = gt_child_exited_ok(&c) && dumped && strstr(c.out, "went on, handled=0");
    } else if (strcmp(which, "default") == 0) {
        ok = WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGQUIT && !strstr(c.err, "gort:");
    } else {
        ok = gt_child_exited_ok(&c) && strstr(c.out, "went on, handled=1") && !strstr(c.err, "gort:");
    }
    if (!ok) {
        gt_child_dump(which, &c);
        abort();
    }
    printf("%s: ok\n%s", which, c.err);
    gt_child_free(&c);
    return 0;
}
