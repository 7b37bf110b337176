// GORTTRACE naming a file whose writes fail (/dev/full: ENOSPC, as a full
// disk) makes the runtime print exactly one "gort:" warning line naming the
// path and the error, stop tracing, and run goroutines normally; the
// program exits 0.
// timeout: 60
#include "env_warning_util.h"

int main(int argc, char **argv) {
    gt_watchdog(50);
    if (argc > 1 && strcmp(argv[1], "child") == 0) return ew_child();
    const char *env[] = {"GORTTRACE=/dev/full", NULL};
    const char *want[] = {"GORTTRACE", "/dev/full", "ENOSPC", NULL};
    ew_expect_one_warning(env, want);
    return 0;
}
