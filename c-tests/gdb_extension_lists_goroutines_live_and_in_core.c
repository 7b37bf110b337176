// tools/gort-gdb.py in gdb batch mode: on this running program (gdb
// attaches to it), `info goroutines` lists the goroutines with their wait
// reasons, names and the function each is parked in, and `goroutine N bt`
// prints a backtrace through the parked function. Then the same on the core
// file of a copy of this program that aborted with the same goroutines.
// timeout: 120
#include "child_process.h"

/* Compiled -O2 like every test; no frame pointers, so stacks are walked
 * with DWARF call frame information (clang omits them at -O2 already). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("omit-frame-pointer")
#endif

#include <sys/resource.h>

static gort_chan *never;
static gort_mutex mu;
static volatile int sink;
static int line_recv;

__attribute__((noinline)) static void parked_in_recv(int depth) {
    if (depth > 0) {
        parked_in_recv(depth - 1);
        sink++;
        return;
    }
    line_recv = __LINE__ + 1;
    sink = gort_chan_recv(never, NULL);
    sink++;
}

static void receiver(void *arg) {
    (void)arg;
    parked_in_recv(2);
    sink++;
}

static void parked_in_lock(void *arg) {
    (void)arg;
    sink = gort_mutex_lock(&mu);
    sink++;
}

/* Goroutine 1 "receiver" waits in a receive, 2 "locker" on a mutex. */
static void park_goroutines(void) {
    never = gort_chan_make(sizeof(int), 0);
    CHECK(never != NULL);
    CHECK_EQ(gort_mutex_lock(&mu), 0);
    gort_attr a = {0, "receiver"}, b = {0, "locker"};
    CHECK_EQ(gort_go_attr(receiver, NULL, &a), 0);
    CHECK_EQ(gort_go_attr(parked_in_lock, NULL, &b), 0);
    CHECK_WITHIN_MS(5000, gort_num_goroutines() == 2);
    usleep(50 * 1000); /* both parked */
}

/* Runs gdb in batch mode with the extension; returns its stdout. */
static char *run_gdb(const char *const target[]) {
    const char *argv[16] = {"gdb", "-q", "-batch", "-nx"};
    int n = 4;
    for (const char *const *t = target; *t; t++) argv[n++] = *t;
    const char *tail[] = {"-x", gt_repo_path("tools/gort-gdb.py"), "-ex", "info goroutines", "-ex",
                          "goroutine 1 bt",          NULL};
    for (const char *const *t = tail; *t; t++) argv[n++] = *t;
    argv[n] = NULL;
    gt_child c;
    gt_run(argv, NULL, 90, &c);
    if (!gt_child_exited_ok(&c) || strstr(c.err, "Python Exception") || strstr(c.err, "Error occurred")) {
        gt_child_dump("gdb", &c);
        abort();
    }
    printf("%s", c.out);
    fflush(stdout);
    free(c.err);
    return c.out;
}

static void check_gdb_output(const char *out) {
    char where[64];
    snprintf(where, sizeof where, ".c:%d (in gort_chan_recv", line_recv);
    /* info goroutines: a row per goroutine, with the function it waits in. */
    int rows = 0;
    for (const char *l = out; l && *l;) {
        const char *nl = strchr(l, '\n');
        if (strstr(l, "chan receive") && strstr(l, "receiver") && strstr(l, "parked_in_recv at") &&
            strstr(l, where) && (!nl || strstr(l, where) < nl))
            rows |= 1;
        if (strstr(l, "sync.Mutex") && strstr(l, "locker") && strstr(l, "parked_in_lock at")) rows |= 2;
        l = nl ? nl + 1 : NULL;
    }
    if (rows != 3) {
        fprintf(stderr, "info goroutines lacks a row (found mask %d):\n%s\n", rows, out);
        abort();
    }
    /* goroutine 1 bt: through the parked function, down to its entry. */
    CHECK(strstr(out, "in parked_in_recv (") != NULL);
    CHECK(strstr(out, "in receiver (") != NULL);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        /* The core file's process: park, then dump core. */
        struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
        CHECK_EQ(setrlimit(RLIMIT_CORE, &unlimited), 0);
        park_goroutines();
        printf("line %d\n", line_recv);
        fflush(stdout);
        abort();
    }
    gt_watchdog(110);
    const char *probe[] = {"gdb", "--version", NULL};
    gt_child v;
    gt_run(probe, NULL, 30, &v);
    CHECK(gt_child_exited_ok(&v)); /* .ci/run installs gdb */
    gt_child_free(&v);

    /* Live: gdb attaches to this very process. */
    park_goroutines();
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    const char *live[] = {"-p", pid, NULL};
    char *out = run_gdb(live);
    check_gdb_output(out);
    free(out);

    /* Core: a copy of this program aborts in its own directory. */
    char pattern[256] = {0};
    FILE *f = fopen("/proc/sys/kernel/core_pattern", "r");
    CHECK(f != NULL);
    CHECK(fgets(pattern, sizeof pattern, f) != NULL);
    fclose(f);
    if (pattern[0] == '|' || strchr(pattern, '/')) {
        fprintf(stderr, "kernel.core_pattern is %s: core files do not land in the working directory\n", pattern);
        abort();
    }
    const char *dir = gt_tmpdir();
    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK_EQ(chdir(dir), 0);
    gt_child c;
    gt_run_self("child", NULL, 60, &c);
    CHECK_EQ(chdir(cwd), 0);
    if (!WIFSIGNALED(c.status) || WTERMSIG(c.status) != SIGABRT || !WCOREDUMP(c.status)) {
        gt_child_dump("aborting child", &c);
        abort();
    }
    gt_child_free(&c);
    char core[PATH_MAX + 64], cmd[PATH_MAX + 64], self[PATH_MAX];
    snprintf(cmd, sizeof cmd, "ls %s | grep '^core' | head -1", dir);
    FILE *ls = popen(cmd, "r");
    CHECK(ls != NULL);
    char name[256] = {0};
    CHECK(fgets(name, sizeof name, ls) != NULL);
    pclose(ls);
    name[strcspn(name, "\n")] = 0;
    snprintf(core, sizeof core, "%s/%s", dir, name);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    self[n] = 0;
    const char *dead[] = {self, core, NULL};
    out = run_gdb(dead);
    check_gdb_output(out);
    free(out);
    gt_rmtree(dir);
    printf("ok\n");
    return 0;
}
