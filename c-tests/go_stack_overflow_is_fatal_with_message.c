// A goroutine that overflows its stack kills the process with a clear fatal
// message on stderr naming the goroutine (its id and name), its stack size
// in bytes and saying "stack exceeds" (as Go's "goroutine stack exceeds
// N-byte limit"), instead of a silent SIGSEGV or a hang. Checked on a
// re-executed child whose stderr is captured.
// timeout: 60
#include "chan_test_util.h"

#include <signal.h>
#include <sys/wait.h>

#define STACK_BYTES (128u << 10)
#define NAME "overflow-victim-42"

static volatile int never = -1;

static __attribute__((noinline)) int down(int n) {
    volatile char buf[512];
    buf[0] = (char)n;
    if (n == never) return 0;
    return down(n + 1) + buf[0];
}

static void victim(void *arg) {
    (void)arg;
    /* tell the parent who we are (stdout), then overflow */
    printf("id=%" PRIu64 "\n", gort_self());
    fflush(stdout);
    (void)down(0);
}

static int child(void) {
    gt_watchdog(20);
    gort_attr attr = {.stack_size = STACK_BYTES, .name = NAME};
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    CHECK_EQ(gort_wg_add(&wg, 1), 0);
    CHECK_EQ(gort_go_attr(victim, NULL, &attr), 0);
    CHECK_EQ(gort_wg_wait(&wg), 0); /* never returns: the process dies */
    return 0;
}

static char *read_all(int fd) {
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1 == cap) buf = realloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
    }
    buf[len] = 0;
    return buf;
}

/* Does s contain the decimal number v as a whole number? */
static int has_number(const char *s, uint64_t v) {
    char want[32];
    snprintf(want, sizeof want, "%" PRIu64, v);
    size_t wl = strlen(want);
    for (const char *p = s; (p = strstr(p, want)) != NULL; p++) {
        int before = p > s && p[-1] >= '0' && p[-1] <= '9';
        int after = p[wl] >= '0' && p[wl] <= '9';
        if (!before && !after) return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "overflow-child") == 0) return child();
    gt_watchdog(50);
    int out[2], err[2];
    CHECK_EQ(pipe(out), 0);
    CHECK_EQ(pipe(err), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]);
        close(err[0]);
        execl("/proc/self/exe", argv[0], "overflow-child", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    char *o = read_all(out[0]); /* child's stdout closes when it dies */
    char *e = read_all(err[0]);
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    fprintf(stderr, "child stdout: %s\nchild stderr:\n%s\n", o, e);
    if (WIFEXITED(status)) fprintf(stderr, "child exit status %d\n", WEXITSTATUS(status));
    if (WIFSIGNALED(status)) fprintf(stderr, "child killed by signal %d\n", WTERMSIG(status));

    /* It died, and not by our watchdog (a hang) or a failed exec. */
    CHECK(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0));
    CHECK(!(WIFEXITED(status) && (WEXITSTATUS(status) == 124 || WEXITSTATUS(status) == 127)));
    uint64_t id = 0;
    CHECK(sscanf(o, "id=%" SCNu64, &id) == 1);
    CHECK(id > 0);
    CHECK(strstr(e, "stack exceeds") != NULL);
    CHECK(strstr(e, NAME) != NULL);
    CHECK(has_number(e, id));
    CHECK(has_number(e, STACK_BYTES));
    free(o);
    free(e);
    return 0;
}
