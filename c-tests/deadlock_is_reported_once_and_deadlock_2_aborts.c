// gort_main whose goroutine waits on a channel nobody else has: with the
// default GORTDEBUG (deadlock=1) the runtime prints "all goroutines are
// asleep - deadlock!" and the goroutine dump on stderr, once, and the
// program goes on (here until its alarm); with deadlock=2 it prints the
// same and aborts; with deadlock=2 and GORTTRACEBACK=none only the
// message; with deadlock=0 nothing. Each case runs in a child, which has
// no watchdog thread (a thread outside gort rules a deadlock out): an
// alarm ends it instead.
// env: DL_CASE=report
// env: DL_CASE=abort
// env: DL_CASE=abort-quiet
// env: DL_CASE=off
// timeout: 60
#include "child_process.h"

static gort_chan *nobody;
static volatile int sink;

static void wait_forever(void *arg) {
    (void)arg;
    sink = gort_chan_recv(nobody, NULL);
    printf("woke up: %d\n", sink);
}

static int child(void) {
    alarm(3);
    nobody = gort_chan_make(sizeof(int), 0);
    CHECK(nobody != NULL);
    int err = gort_main(wait_forever, NULL);
    printf("gort_main returned %d\n", err);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) return child();
    gt_watchdog(50);
    const char *which = getenv("DL_CASE");
    CHECK(which != NULL);
    const char *env[3] = {NULL, NULL, NULL};
    int want_signal = SIGALRM, want_reports = 1, want_dump = 1;
    if (strcmp(which, "report") == 0) {
        env[0] = NULL; /* the defaults */
    } else if (strcmp(which, "abort") == 0) {
        env[0] = "GORTDEBUG=deadlock=2", want_signal = SIGABRT;
    } else if (strcmp(which, "abort-quiet") == 0) {
        env[0] = "GORTDEBUG=deadlock=2", env[1] = "GORTTRACEBACK=none", want_signal = SIGABRT, want_dump = 0;
    } else {
        env[0] = "GORTDEBUG=deadlock=0", want_reports = 0, want_dump = 0;
    }
    gt_child c;
    gt_run_self("child", env, 30, &c);
    int reports = gt_count_lines(c.err, "gort: all goroutines are asleep - deadlock!");
    int ok = WIFSIGNALED(c.status) && WTERMSIG(c.status) == want_signal && reports == want_reports;
    char where[PATH_MAX + 32];
    snprintf(where, sizeof where, "wait_forever(...) at %s:", __FILE__);
    int has_dump = strstr(c.err, "goroutine 1 [chan receive]:") && strstr(c.err, where) &&
                   strstr(c.err, "created by child at ");
    ok = ok && has_dump == want_dump && gt_count_lines(c.err, "goroutine ") == want_dump;
    if (!ok) {
        gt_child_dump(which, &c);
        fprintf(stderr, "want death by %s, %d report(s), %s dump\n", strsignal(want_signal), want_reports,
                want_dump ? "a" : "no");
        abort();
    }
    printf("%s: %s", which, c.err);
    gt_child_free(&c);
    return 0;
}
