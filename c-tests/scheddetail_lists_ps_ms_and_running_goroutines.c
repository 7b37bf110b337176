// GORTDEBUG=schedtrace=50,scheddetail=1 follows each SCHED line with one
// line per P (P0, P1, ... in order), one per M and one per goroutine the Ms
// run or are bound to, or that sits in a run queue:
//   P0: status=1 schedtick=1234 m=3 runqsize=1
//   M3: p=0 curg=17 spinning=false lockedg=-1 state=user
//   G17: status=2(running) m=3 lockedm=-1 name=detail-hog
// The named call-free hog shows up running; the number of M lines never
// exceeds the SCHED line's threads count; a running P names its M (m=-1 is
// allowed only transiently: a P being handed from one M to another, e.g. by
// the preemption handler, is running with no M for a moment).
// timeout: 90
#include "schedtrace_util.h"

int main(int argc, char **argv) {
    gt_watchdog(80);
    if (argc > 1 && strcmp(argv[1], "child") == 0) return st_child(800);
    const char *env[] = {"GORTMAXPROCS=2", "GORTDEBUG=schedtrace=50,scheddetail=1", NULL};
    gt_child c;
    gt_run_self("child", env, 60, &c);
    if (!gt_child_exited_ok(&c)) {
        gt_child_dump("scheddetail child", &c);
        abort();
    }
    regex_t sched = st_sched_regex(2);
    regex_t pline = st_regex("^  P[0-9]+: status=[0-9]+ schedtick=[0-9]+ m=-?[0-9]+ runqsize=[0-9]+$");
    regex_t mline = st_regex("^  M[0-9]+: p=-?[0-9]+ curg=-?[0-9]+ spinning=(true|false) lockedg=-?[0-9]+ "
                             "state=(runtime|user|lost|blocking)$");
    regex_t gline = st_regex("^  G[0-9]+: status=[0-9]+\\([^)]*\\) m=-?[0-9]+ lockedm=-?[0-9]+( name=.+)?$");
    static char *lines[100000];
    char *err = strdup(c.err);
    int n = st_lines(err, lines, 100000);
    int blocks = 0, hog_running = 0, glines = 0, handoff_blocks = 0;
    for (int i = 0; i < n;) {
#define FAIL(...)                                                    \
    do {                                                             \
        gt_child_dump("scheddetail child", &c);                      \
        fprintf(stderr, "line %d [%s]: ", i, i < n ? lines[i] : ""); \
        fprintf(stderr, __VA_ARGS__);                                \
        fprintf(stderr, "\n");                                       \
        abort();                                                     \
    } while (0)
        if (!st_match(&sched, lines[i])) FAIL("want a SCHED line");
        st_sched s = st_parse_sched(lines[i++]);
        blocks++;
        int in_handoff = 0;
        for (int p = 0; p < 2; p++, i++) {
            char want[16];
            snprintf(want, sizeof want, "  P%d: ", p);
            if (i >= n || !st_match(&pline, lines[i]) || strncmp(lines[i], want, strlen(want)) != 0)
                FAIL("want the line of P%d", p);
            int status = -1, m = -2;
            CHECK(sscanf(strstr(lines[i], "status="), "status=%d", &status) == 1);
            CHECK(sscanf(strstr(lines[i], " m="), " m=%d", &m) == 1);
            if (status == 1 && m < 0) in_handoff = 1;
            if (status != 0 && status != 1 && status != 3) FAIL("P status %d is not idle/running/stopped", status);
        }
        handoff_blocks += in_handoff;
        int ms = 0;
        while (i < n && st_match(&mline, lines[i])) ms++, i++;
        if (ms < 1 || ms > s.threads) FAIL("%d M lines for threads=%ld", ms, s.threads);
        while (i < n && st_match(&gline, lines[i])) {
            if (strstr(lines[i], "status=2(running)") && strstr(lines[i], " name=detail-hog")) hog_running++;
            glines++, i++;
        }
        if (i < n && strncmp(lines[i], "  ... ", 6) == 0 && strstr(lines[i], "more goroutines")) i++;
        if (i < n && !st_match(&sched, lines[i])) FAIL("neither a G line nor the next SCHED line");
#undef FAIL
    }
    if (blocks < 2 || hog_running == 0 || glines == 0 || (blocks >= 5 && handoff_blocks == blocks)) {
        gt_child_dump("scheddetail child", &c);
        fprintf(stderr, "blocks=%d G lines=%d with the hog running=%d, with a running P and no M=%d\n", blocks,
                glines, hog_running, handoff_blocks);
        abort();
    }
    printf("%d blocks, %d G lines, hog seen running in %d, P in hand-off in %d\n", blocks, glines, hog_running,
           handoff_blocks);
    regfree(&sched);
    regfree(&pline);
    regfree(&mline);
    regfree(&gline);
    free(err);
    gt_child_free(&c);
    return 0;
}
