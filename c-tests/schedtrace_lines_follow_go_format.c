// GORTDEBUG=schedtrace=50 prints, every 50 ms, one stderr line in Go's
// format -- SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5
// spinningthreads=0 idlethreads=1 runqueue=0 [4 3] -- with one bracket
// entry per P, sane counts, times that advance by about the period, and no
// other lines (no scheddetail without scheddetail=1).
// timeout: 90
#include "schedtrace_util.h"

static void expect_lines(int procs) {
    char mp[32];
    snprintf(mp, sizeof mp, "GORTMAXPROCS=%d", procs);
    const char *env[] = {mp, "GORTDEBUG=schedtrace=50", NULL};
    gt_child c;
    gt_run_self("child", env, 60, &c);
    if (!gt_child_exited_ok(&c)) {
        gt_child_dump("schedtrace child", &c);
        abort();
    }
    regex_t re = st_sched_regex(procs);
    static char *lines[10000];
    char *err = strdup(c.err);
    int n = st_lines(err, lines, 10000), sched = 0;
    long last_ms = -1;
    for (int i = 0; i < n; i++) {
        if (!st_match(&re, lines[i])) {
            gt_child_dump("schedtrace child", &c);
            fprintf(stderr, "line %d is not a SCHED line for %d Ps: [%s]\n", i, procs, lines[i]);
            abort();
        }
        st_sched s = st_parse_sched(lines[i]);
        CHECK_EQ(s.gomaxprocs, procs);
        CHECK(s.idleprocs <= procs);
        CHECK(s.threads >= 1);
        CHECK(s.spinning <= s.threads);
        CHECK(s.idlethreads <= s.threads);
        if (last_ms >= 0) CHECK(s.ms - last_ms >= 45); /* at most one line per period */
        CHECK(s.ms >= 45);
        last_ms = s.ms;
        sched++;
    }
    /* The child runs 800 ms: about 15 lines; demand 3 (the machine may be loaded). */
    if (sched < 3) {
        gt_child_dump("schedtrace child", &c);
        fprintf(stderr, "only %d SCHED lines\n", sched);
        abort();
    }
    printf("%d Ps: %d SCHED lines, e.g. %s\n", procs, sched, lines[sched / 2]);
    regfree(&re);
    free(err);
    gt_child_free(&c);
}

int main(int argc, char **argv) {
    gt_watchdog(80);
    if (argc > 1 && strcmp(argv[1], "child") == 0) return st_child(800);
    expect_lines(2);
    expect_lines(3);
    expect_lines(1);
    return 0;
}
