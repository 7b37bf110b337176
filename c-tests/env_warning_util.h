/* Shared body of the tests that start the runtime with a bad GORTDEBUG or
 * GORTMAXPROCS value: the test runs itself as a child with that environment
 * and checks that the child
 *   - prints exactly one "gort:" warning line on stderr, naming the bad
 *     key/value (every string in `must_contain`),
 *   - still runs goroutines correctly (a fan-in over a channel), keeps the
 *     default where checkable (GORTMAXPROCS, with ew_child), and exits 0.
 */
#ifndef ENV_WARNING_UTIL_H
#define ENV_WARNING_UTIL_H

#include "child_process.h"

#include <sched.h>
#include <stdatomic.h>

#define EW_GOROUTINES 500

static gort_chan *ew_ch;

static void ew_worker(void *arg) {
    int64_t v = (int64_t)(intptr_t)arg;
    gort_yield();
    CHECK_EQ(gort_chan_send(ew_ch, &v), 0);
}

/* Goroutines must work despite the warning: a fan-in over a channel. */
static inline int64_t ew_fan_in(void) {
    ew_ch = gort_chan_make(sizeof(int64_t), 0);
    CHECK(ew_ch != NULL);
    for (int i = 1; i <= EW_GOROUTINES; i++) CHECK_EQ(gort_go(ew_worker, (void *)(intptr_t)i), 0);
    int64_t sum = 0, v;
    for (int i = 0; i < EW_GOROUTINES; i++) {
        CHECK_EQ(gort_chan_recv(ew_ch, &v), 0);
        sum += v;
    }
    CHECK_EQ(sum, (int64_t)EW_GOROUTINES * (EW_GOROUTINES + 1) / 2);
    return sum;
}

/* The child of a test whose bad value keeps the default. */
static inline int ew_child(void) {
    int64_t sum = ew_fan_in();
    /* A bad GORTMAXPROCS keeps the default: the CPUs we may use (or fewer
     * under a cgroup quota). */
    cpu_set_t set;
    CHECK_EQ(sched_getaffinity(0, sizeof set, &set), 0);
    int procs = gort_maxprocs(0);
    const char *mp = getenv("GORTMAXPROCS");
    if (mp) CHECK(procs >= 1 && procs <= CPU_COUNT(&set));
    printf("child ok: maxprocs=%d sum=%lld\n", procs, (long long)sum);
    return 0;
}

/* Runs the child with `env` and checks its one warning line. */
static inline void ew_expect_one_warning(const char *const env[], const char *const must_contain[]) {
    gt_child c;
    gt_run_self("child", env, 60, &c);
    int warnings = gt_count_lines(c.err, "gort:");
    if (!gt_child_exited_ok(&c) || warnings != 1 || !strstr(c.out, "child ok")) {
        gt_child_dump(env[0], &c);
        fprintf(stderr, "want exit 0, exactly one 'gort:' line (got %d) and 'child ok'\n", warnings);
        abort();
    }
    const char *line = c.err;
    while (strncmp(line, "gort:", 5) != 0) line = strchr(line, '\n') + 1;
    for (const char *const *s = must_contain; *s; s++) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char *l = strndup(line, len);
        if (!strstr(l, *s)) {
            gt_child_dump(env[0], &c);
            fprintf(stderr, "the warning %s does not name %s\n", l, *s);
            abort();
        }
        free(l);
    }
    printf("%s -> %.*s\n", env[0], (int)strcspn(line, "\n"), line);
    gt_child_free(&c);
}

#endif
