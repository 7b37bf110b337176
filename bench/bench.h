/* Shared helpers for gort's benchmark programs (gortbench.c, gorthogs.c).
 *
 * Output format mirrors the Go peer programs (bench/README.md), one line per
 * figure:
 *
 *     gort <workload> workers=N key=value ... metric=value unit
 *
 * "workers" is the number of Ps the runtime actually runs with
 * (gort_maxprocs(0)), normally set from the GORTMAXPROCS environment
 * variable by bench/run.
 */
#ifndef GORT_BENCH_H
#define GORT_BENCH_H

#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gort.h"

/* ------------------------------------------------------------ errors */

/* Every gort call whose failure would make a figure meaningless goes through
 * CK: the program stops with a message naming the call instead of printing a
 * number for a run that did not do the work. */
#define CK(call)                                                                   \
    do {                                                                           \
        int ck_rc_ = (call);                                                       \
        if (ck_rc_ != 0) {                                                         \
            fprintf(stderr, "%s:%d: %s returned %d (%s)\n", __FILE__, __LINE__,    \
                    #call, ck_rc_, strerror(ck_rc_ > 0 ? ck_rc_ : -ck_rc_));       \
            fflush(stdout);                                                        \
            exit(1);                                                               \
        }                                                                          \
    } while (0)

static inline void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stdout);
    exit(1);
}

static inline void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n, size);
    if (!p) die("out of memory (%zu x %zu)", n, size);
    return p;
}

/* ------------------------------------------------------------- clocks */

/* Our own monotonic clock, so that timing does not depend on the library
 * under test (gort_now() is the same clock). */
static inline int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------- output */

static int g_workers;   /* gort_maxprocs(0), read in main() */

/* Like the Go peers' out(): "gort W workers=N <params> <metric>=<v> <unit>". */
static inline void out(const char *workload, const char *params, const char *metric,
                       double v, const char *unit) {
    printf("gort %s workers=%d %s%s%s=%.6g %s\n", workload, g_workers, params,
           params[0] ? " " : "", metric, v, unit);
    fflush(stdout);
}

/* GORTDEBUG as the run saw it, for the params ("default" when unset, like the
 * Go peers' godebug=). */
static inline const char *gortdebug(void) {
    const char *g = getenv("GORTDEBUG");
    return (g && *g) ? g : "default";
}

/* ---------------------------------------------------------- statistics */

static inline int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Go peers' pct(): nearest-rank percentile of a sorted slice; -1 if empty. */
static inline int64_t pct(const int64_t *s, size_t n, double p) {
    if (n == 0) return -1;
    long i = (long)ceil(p / 100.0 * (double)n) - 1;
    if (i < 0) i = 0;
    return s[i];
}

/* ----------------------------------------------------------------- RSS */

static inline int64_t rss_bytes(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) die("open /proc/self/status: %s", strerror(errno));
    char line[256];
    int64_t kb = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtoll(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    if (kb < 0) die("no VmRSS in /proc/self/status");
    return kb * 1024;
}

/* ------------------------------------------------------ command line */

struct opts {
    const char *w;   /* workload */
    int prod, cons;  /* W3 */
    int hogs;        /* W5, W6, X4 */
    int stop_ms;     /* W5: hogs run this long; W6/X4: safety deadline */
    int n;           /* iteration count override (0 = workload default) */
    int select_first; /* W8: the echo's select blocks before the first send */
};

/* Parses "-w W -prod P -cons C -hogs H -stop_ms MS -n N -select_first 0|1
 * -workers N".
 * -workers N only sets GORTMAXPROCS before the runtime starts (bench/run sets
 * the environment variable itself). */
static inline void parse_opts(int argc, char **argv, struct opts *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] == '-') a++; /* accept --flag too */
        if (i + 1 >= argc) die("%s: missing value for %s", argv[0], argv[i]);
        const char *v = argv[++i];
        if (!strcmp(a, "-w")) o->w = v;
        else if (!strcmp(a, "-prod")) o->prod = atoi(v);
        else if (!strcmp(a, "-cons")) o->cons = atoi(v);
        else if (!strcmp(a, "-hogs")) o->hogs = atoi(v);
        else if (!strcmp(a, "-stop_ms")) o->stop_ms = atoi(v);
        else if (!strcmp(a, "-n")) o->n = atoi(v);
        else if (!strcmp(a, "-select_first")) o->select_first = atoi(v);
        else if (!strcmp(a, "-workers")) setenv("GORTMAXPROCS", v, 1);
        else die("%s: unknown flag %s", argv[0], argv[i - 1]);
    }
}

#endif
