// GORTTRACE=path writes Chrome trace-event JSON that parses, names one
// track per P (P0, P1), has a slice per goroutine run named after the
// goroutine, "preempt async" instants for call-free hogs (preemptms=1), a
// "stop the world" slice on the "world" track, an "in C call" slice on an
// M track for a goroutine inside gort_blocking_begin/end, non-overlapping
// slices on every track, and is complete although the program exit()s with
// goroutines still running (exit from main, and from a goroutine).
// Checked by tools/check_trace.py.
// env: TW_EXIT_FROM=main
// env: TW_EXIT_FROM=goroutine
// timeout: 120
#include "trace_workload.h"

int main(int argc, char **argv) {
    gt_watchdog(110);
    if (argc > 1 && strcmp(argv[1], "child") == 0) return tw_child();
    const char *dir = gt_tmpdir();
    const char *trace = tw_make_trace(dir);
    const char *args[] = {gt_repo_path("tools/check_trace.py"), trace, "--procs", "2",
                          "--goroutine", "ping-0", "--goroutine", "pong-0", "--goroutine", "ping-1",
                          "--goroutine", "pong-1", "--goroutine", "hog-0", "--goroutine", "hog-1",
                          "--goroutine", "sleeper", "--goroutine", "from-thread", "--blocking", "sleeper", "--preempt-async", "--stw",
                          "--min-slices", "30000", NULL};
    tw_python(args);
    gt_rmtree(dir);
    return 0;
}
