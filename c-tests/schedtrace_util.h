/* Shared by the schedtrace tests: the child's workload and line checks. */
#ifndef SCHEDTRACE_UTIL_H
#define SCHEDTRACE_UTIL_H

#include "child_process.h"

#include <regex.h>
#include <stdatomic.h>

static atomic_int st_stop;
static gort_waitgroup st_wg;

static void st_hog(void *arg) {
    (void)arg;
    volatile uint64_t n = 0;
    while (!atomic_load_explicit(&st_stop, memory_order_relaxed)) n++;
    gort_wg_done(&st_wg);
}

static void st_echo(void *arg) {
    gort_chan **ch = arg;
    int64_t v;
    while (gort_chan_recv(ch[0], &v) == 0) CHECK_EQ(gort_chan_send(ch[1], &v), 0);
    gort_wg_done(&st_wg);
}

/* The child: a named call-free hog, a second hog and a ping-pong pair, for
 * `ms` milliseconds; then everything stops and it exits 0. */
static inline int st_child(int ms) {
    static gort_chan *ch[2];
    ch[0] = gort_chan_make(sizeof(int64_t), 0);
    ch[1] = gort_chan_make(sizeof(int64_t), 0);
    gort_attr hog = {0, "detail-hog"}, echo = {0, "echo"};
    CHECK_EQ(gort_wg_add(&st_wg, 3), 0);
    CHECK_EQ(gort_go_attr(st_hog, NULL, &hog), 0);
    CHECK_EQ(gort_go(st_hog, NULL), 0);
    CHECK_EQ(gort_go_attr(st_echo, ch, &echo), 0);
    int64_t end = gt_now_ns() + (int64_t)ms * 1000000, v = 0, r;
    while (gt_now_ns() < end) {
        CHECK_EQ(gort_chan_send(ch[0], &v), 0);
        CHECK_EQ(gort_chan_recv(ch[1], &r), 0);
        CHECK_EQ(r, v);
        v++;
        if (v % 64 == 0) usleep(200);
    }
    CHECK_EQ(gort_chan_close(ch[0]), 0);
    atomic_store(&st_stop, 1);
    CHECK_EQ(gort_wg_wait(&st_wg), 0);
    printf("child ok: %lld round trips\n", (long long)v);
    return 0;
}

static inline regex_t st_regex(const char *pattern) {
    regex_t re;
    int rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        fprintf(stderr, "bad regex %s\n", pattern);
        abort();
    }
    return re;
}

static inline int st_match(const regex_t *re, const char *line) { return regexec(re, line, 0, NULL, 0) == 0; }

/* The summary line in Go's format, with exactly `procs` bracket entries. */
static inline regex_t st_sched_regex(int procs) {
    char pat[512];
    int n = snprintf(pat, sizeof pat,
                     "^SCHED [0-9]+ms: gomaxprocs=%d idleprocs=[0-9]+ threads=[0-9]+ spinningthreads=[0-9]+ "
                     "idlethreads=[0-9]+ runqueue=[0-9]+ \\[[0-9]+",
                     procs);
    for (int i = 1; i < procs; i++) n += snprintf(pat + n, sizeof pat - n, " [0-9]+");
    snprintf(pat + n, sizeof pat - n, "\\]$");
    return st_regex(pat);
}

typedef struct st_sched {
    long ms, gomaxprocs, idleprocs, threads, spinning, idlethreads, runqueue;
} st_sched;

static inline st_sched st_parse_sched(const char *line) {
    st_sched s;
    CHECK_EQ(sscanf(line, "SCHED %ldms: gomaxprocs=%ld idleprocs=%ld threads=%ld spinningthreads=%ld idlethreads=%ld runqueue=%ld",
                    &s.ms, &s.gomaxprocs, &s.idleprocs, &s.threads, &s.spinning, &s.idlethreads, &s.runqueue),
             7);
    return s;
}

/* Splits `text` into lines in place; returns how many (at most max). */
static inline int st_lines(char *text, char **lines, int max) {
    int n = 0;
    for (char *l = text; l && *l && n < max;) {
        char *nl = strchr(l, '\n');
        if (nl) *nl = 0;
        lines[n++] = l;
        l = nl ? nl + 1 : NULL;
    }
    return n;
}

#endif
