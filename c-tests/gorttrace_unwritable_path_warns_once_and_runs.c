// GORTTRACE naming a file that cannot be created makes the runtime print
// exactly one "gort:" warning line naming the path, turn tracing off, and
// run goroutines normally; the program exits 0.
// timeout: 60
#include "env_warning_util.h"

int main(int argc, char **argv) {
    gt_watchdog(50);
    if (argc > 1 && strcmp(argv[1], "child") == 0) return ew_child();
    const char *env[] = {"GORTTRACE=/nonexistent-dir/gort/trace.json", NULL};
    const char *want[] = {"GORTTRACE", "/nonexistent-dir/gort/trace.json", NULL};
    ew_expect_one_warning(env, want);
    return 0;
}
