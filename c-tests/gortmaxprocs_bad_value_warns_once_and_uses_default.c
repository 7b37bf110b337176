// A GORTMAXPROCS that is not a number, zero or negative makes the runtime
// print exactly one "gort:" warning line naming it, use the default (the
// CPUs this process may use), and run goroutines normally; the program exits
// 0. (Values above the maximum are clamped instead: see
// gortmaxprocs_above_maximum_clamps_with_one_warning.c.)
// timeout: 120
#include "env_warning_util.h"

int main(int argc, char **argv) {
    gt_watchdog(110);
    if (argc > 1 && strcmp(argv[1], "child") == 0) return ew_child();
    static const char *const cases[][2] = {
        {"GORTMAXPROCS=abc", "\"abc\""},
        {"GORTMAXPROCS=0", "\"0\""},
        {"GORTMAXPROCS=-3", "\"-3\""},
        {"GORTMAXPROCS=2.5", "\"2.5\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *env[] = {cases[i][0], NULL};
        const char *want[] = {"GORTMAXPROCS", cases[i][1], NULL};
        ew_expect_one_warning(env, want);
    }
    return 0;
}
