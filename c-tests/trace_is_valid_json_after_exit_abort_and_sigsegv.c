// GORTTRACE's file parses as Chrome trace JSON and holds the events of the
// workload (both P tracks, the named goroutines' slices, asynchronous
// preemptions, the stop-the-world) however the process ends: exit(), abort()
// (SIGABRT, its default action: the process still dies of it), or a
// SIGSEGV in a goroutine (likewise). Checked by tools/check_trace.py.
// env: TW_CASE=exit
// env: TW_CASE=abort
// env: TW_CASE=segv
// timeout: 120
#include "trace_workload.h"

int main(int argc, char **argv) {
    gt_watchdog(110);
    if (argc > 1 && strcmp(argv[1], "child") == 0) return tw_child();
    const char *dir = gt_tmpdir();
    const char *trace = tw_make_trace_ending(dir, getenv("TW_CASE"));
    const char *args[] = {gt_repo_path("tools/check_trace.py"), trace, "--procs", "2", "--goroutine", "ping-0",
                          "--goroutine", "pong-1", "--goroutine", "hog-0", "--goroutine", "sleeper", "--preempt-async",
                          "--stw", "--min-slices", "20000", NULL};
    tw_python(args);
    gt_rmtree(dir);
    return 0;
}
