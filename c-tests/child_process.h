/* Running programs from a test: a copy of the test itself with another
 * environment (runtime settings are read once at start, so each setting
 * needs a fresh process), or a tool such as python3, with stdout and stderr
 * captured.
 *
 * Uses posix_spawn (no fork of a process whose runtime threads are running)
 * and only the public C library. Paths of repository files (tools/...) are
 * found from this header's own location (__FILE__ is absolute when the
 * harness compiles the tests), falling back to the working directory.
 */
#ifndef CHILD_PROCESS_H
#define CHILD_PROCESS_H

#include "gort_test.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

extern char **environ;

typedef struct gt_child {
    int status;   /* as from waitpid */
    char *out;    /* captured stdout, NUL-terminated */
    size_t out_len;
    char *err;    /* captured stderr, NUL-terminated */
    size_t err_len;
} gt_child;

static inline int gt_child_exited_ok(const gt_child *c) { return WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0; }

static inline void gt_child_free(gt_child *c) {
    free(c->out);
    free(c->err);
    c->out = c->err = NULL;
}

/* Prints everything about a child (for failure messages). */
static inline void gt_child_dump(const char *what, const gt_child *c) {
    fprintf(stderr, "---- %s: status %d (exited %d, code %d, signal %d)\n---- stdout:\n%s\n---- stderr:\n%s\n----\n", what,
            c->status, WIFEXITED(c->status), WIFEXITED(c->status) ? WEXITSTATUS(c->status) : -1,
            WIFSIGNALED(c->status) ? WTERMSIG(c->status) : 0, c->out ? c->out : "", c->err ? c->err : "");
    fflush(stderr);
}

static inline void gt__append(char **buf, size_t *len, size_t *cap, const char *data, size_t n) {
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = realloc(*buf, *cap);
        CHECK(*buf != NULL);
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = 0;
}

/* Environment for a child: ours without GORT* variables (the harness may set
 * some for the parent run), plus `extra` ("K=V" strings, NULL-terminated). */
static inline char **gt__child_env(const char *const *extra) {
    size_t n = 0, k = 0;
    for (char **e = environ; *e; e++) n++;
    for (const char *const *x = extra; x && *x; x++) n++;
    char **env = calloc(n + 1, sizeof *env);
    CHECK(env != NULL);
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "GORT", 4) != 0) env[k++] = *e;
    for (const char *const *x = extra; x && *x; x++) env[k++] = (char *)*x;
    env[k] = NULL;
    return env;
}

/* Runs argv[0] (searched in PATH when it has no '/') with `extra` added to a
 * GORT-free copy of our environment; captures its output; kills it and
 * fails the test after timeout_s seconds. */
static inline void gt_run(const char *const argv[], const char *const *extra, int timeout_s, gt_child *c) {
    memset(c, 0, sizeof *c);
    int outp[2], errp[2];
    CHECK_EQ(pipe2(outp, O_CLOEXEC), 0);
    CHECK_EQ(pipe2(errp, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    CHECK_EQ(posix_spawn_file_actions_init(&fa), 0);
    CHECK_EQ(posix_spawn_file_actions_adddup2(&fa, outp[1], 1), 0);
    CHECK_EQ(posix_spawn_file_actions_adddup2(&fa, errp[1], 2), 0);
    CHECK_EQ(posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0), 0);
    char **env = gt__child_env(extra);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, env);
    if (rc != 0) {
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(rc));
        abort();
    }
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    close(outp[1]);
    close(errp[1]);
    size_t ocap = 0, ecap = 0;
    gt__append(&c->out, &c->out_len, &ocap, "", 0);
    gt__append(&c->err, &c->err_len, &ecap, "", 0);
    int64_t deadline = gt_now_ns() + (int64_t)timeout_s * 1000000000;
    struct pollfd fds[2] = {{outp[0], POLLIN, 0}, {errp[0], POLLIN, 0}};
    int open_fds = 2;
    char buf[65536];
    while (open_fds > 0) {
        int64_t left_ms = (deadline - gt_now_ns()) / 1000000;
        if (left_ms <= 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &c->status, 0);
            gt_child_dump(argv[0], c);
            fprintf(stderr, "child %s did not finish within %d s\n", argv[0], timeout_s);
            abort();
        }
        int n = poll(fds, 2, (int)(left_ms > 1000 ? 1000 : left_ms));
        if (n < 0 && errno == EINTR) continue;
        CHECK(n >= 0);
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t r = read(fds[i].fd, buf, sizeof buf);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            } else if (i == 0) {
                gt__append(&c->out, &c->out_len, &ocap, buf, (size_t)r);
            } else {
                gt__append(&c->err, &c->err_len, &ecap, buf, (size_t)r);
            }
        }
    }
    while (waitpid(pid, &c->status, 0) < 0) CHECK_EQ(errno, EINTR);
}

/* Runs this very program again as `self mode` with `extra` environment. */
static inline void gt_run_self(const char *mode, const char *const *extra, int timeout_s, gt_child *c) {
    static char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    self[n] = 0;
    const char *argv[] = {self, mode, NULL};
    gt_run(argv, extra, timeout_s, c);
}

/* Absolute path of `rel` (e.g. "tools/check_trace.py") in the repository. */
static inline const char *gt_repo_path(const char *rel) {
    static char out[PATH_MAX];
    char here[PATH_MAX];
    snprintf(here, sizeof here, "%s", __FILE__);   /* .../c-tests/child_process.h */
    char *slash = strrchr(here, '/');
    if (slash) {
        *slash = 0;                                /* .../c-tests */
        slash = strrchr(here, '/');
    }
    if (slash) {
        *slash = 0;                                /* repository root */
        int n = snprintf(out, sizeof out, "%s/%s", here[0] ? here : "/", rel);
        CHECK(n > 0 && (size_t)n < sizeof out);
    } else {
        int n = snprintf(out, sizeof out, "../%s", rel); /* compiled from c-tests/ */
        CHECK(n > 0 && (size_t)n < sizeof out);
    }
    struct stat st;
    if (stat(out, &st) != 0) {
        fprintf(stderr, "cannot find %s (tried %s)\n", rel, out);
        abort();
    }
    return out;
}

/* A fresh private directory for a test's files. */
static inline const char *gt_tmpdir(void) {
    static char dir[] = "/tmp/gort-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    return dir;
}

/* Removes a directory made by gt_tmpdir and its (flat) contents. */
static inline void gt_rmtree(const char *dir) {
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_EQ(system(cmd), 0);
}

/* Reads a whole file (NUL-terminated); NULL if it cannot be read. */
static inline char *gt_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 0, n = 0;
    char *buf = NULL;
    char tmp[65536];
    size_t r;
    while ((r = fread(tmp, 1, sizeof tmp, f)) > 0) gt__append(&buf, &n, &cap, tmp, r);
    fclose(f);
    if (!buf) gt__append(&buf, &n, &cap, "", 0);
    if (len) *len = n;
    return buf;
}

/* Number of lines of `text` that start with `prefix`. */
static inline int gt_count_lines(const char *text, const char *prefix) {
    int n = 0;
    size_t pl = strlen(prefix);
    for (const char *l = text; l && *l;) {
        if (strncmp(l, prefix, pl) == 0) n++;
        const char *nl = strchr(l, '\n');
        l = nl ? nl + 1 : NULL;
    }
    return n;
}

#endif
