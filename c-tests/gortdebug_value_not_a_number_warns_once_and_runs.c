// A GORTDEBUG value that is not a number (GORTDEBUG=preemptms=abc) makes the runtime print
// exactly one
// "gort:" warning line naming it on stderr, keep the default, and run
// goroutines normally; the program exits 0.
// timeout: 90
#include "env_warning_util.h"

int main(int argc, char **argv) {
    gt_watchdog(80);
    if (argc > 1 && strcmp(argv[1], "child") == 0) return ew_child();
    const char *env[] = {"GORTDEBUG=preemptms=abc", NULL};
    const char *want[] = {"preemptms", "abc", NULL};
    ew_expect_one_warning(env, want);
    /* A valid field next to the bad one adds no warning of its own. */
    const char *env2[] = {"GORTDEBUG=preemptms=abc,preemptms=5", NULL};
    ew_expect_one_warning(env2, want);
    return 0;
}
