// A goroutine's stack overflow is a fatal error whose report follows
// GORTTRACEBACK: after the "stack exceeds" message, the failing
// goroutine's stack walked from the fault (single, the default: its
// recursive function with file:line, frames beyond 100 elided), every
// goroutine (all: a parked bystander too), or nothing more (none). The
// process still dies of the SIGSEGV.
// env: TB_CASE=single
// env: TB_CASE=all
// env: TB_CASE=none
// timeout: 60
#include "child_process.h"

#include <sys/resource.h>

static volatile int never = -1;
static gort_chan *nobody;
static volatile int sink;

static __attribute__((noinline)) int down(int n) {
    volatile char buf[512];
    buf[0] = (char)n;
    if (n == never) return 0;
    return down(n + 1) + buf[0];
}

static void victim(void *arg) {
    (void)arg;
    sink = down(0);
}

static void bystander(void *arg) {
    (void)arg;
    sink = gort_chan_recv(nobody, NULL);
}

static int child(void) {
    gt_watchdog(20);
    struct rlimit no_core = {0, 0};
    CHECK_EQ(setrlimit(RLIMIT_CORE, &no_core), 0);
    nobody = gort_chan_make(sizeof(int), 0);
    gort_attr b = {0, "bystander"}, v = {128 << 10, "victim"};
    CHECK_EQ(gort_go_attr(bystander, NULL, &b), 0);
    CHECK_WITHIN_MS(5000, gort_num_goroutines() == 1);
    usleep(20 * 1000);
    CHECK_EQ(gort_go_attr(victim, NULL, &v), 0);
    for (;;) pause();
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) return child();
    gt_watchdog(50);
    const char *which = getenv("TB_CASE");
    CHECK(which != NULL);
    char env_tb[64];
    snprintf(env_tb, sizeof env_tb, "GORTTRACEBACK=%s", which);
    const char *env[] = {strcmp(which, "single") == 0 ? NULL : env_tb, NULL};
    gt_child c;
    gt_run_self("child", env, 30, &c);
    int died = WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGSEGV && strstr(c.err, "stack exceeds");
    int victim_shown = strstr(c.err, "[running]: (name \"victim\")") && strstr(c.err, "down(...) at ") &&
                       strstr(c.err, "...additional frames elided...");
    int bystander_shown = strstr(c.err, "[chan receive]: (name \"bystander\")") != NULL;
    int ok = died && (strcmp(which, "none") == 0    ? !victim_shown && !bystander_shown
                      : strcmp(which, "all") == 0 ? victim_shown && bystander_shown
                                                   : victim_shown && !bystander_shown);
    if (!ok) {
        gt_child_dump(which, &c);
        abort();
    }
    printf("%s: ok (%d bytes of report)\n", which, (int)c.err_len);
    gt_child_free(&c);
    return 0;
}
