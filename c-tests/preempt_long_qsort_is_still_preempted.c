// A goroutine inside a long qsort is still preempted, on 1 P, so a ticker
// goroutine (a call-free loop) keeps running during the sort, and the sort
// result is right. Two sorts: millions of ints with a comparator in the
// program (PCs land in libc's qsort and in user code), then millions of
// fixed-width strings with libc's own strcmp as the comparator (nearly every
// PC is in libc, so each preemption is first refused and then forced after
// a few refusals: preempt_unsafe grows and the ticker still runs). The
// ticker must get a fair part of the CPU (>= 10%; ~25-50% expected) and
// never wait while the sorter burns 200 ms of CPU.
// env: GORTMAXPROCS=1 GORTDEBUG=preemptms=1
// env: GORTMAXPROCS=1 GORTDEBUG=preemptms=2
// env: GORTMAXPROCS=1
// timeout: 120
#include "preempt_test_util.h"

#define N_INTS (4 * 1000 * 1000)
#define N_STRS (2 * 1000 * 1000)
#define STRW 16
#define SAMPLE_MS 20

static struct pt_counter ticks;
static atomic_int stop_ticker;
static struct pt_hog ticker = {.counter = &ticks, .stop = &stop_ticker};

static atomic_int sorting, sorted;
static clockid_t sorter_clock; /* the sorter keeps its thread during qsort */
static int *ints;
static char (*strs)[STRW];

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void sort_ints(void *arg) {
    (void)arg;
    CHECK_EQ(pthread_getcpuclockid(pthread_self(), &sorter_clock), 0);
    atomic_store(&sorting, 1);
    qsort(ints, N_INTS, sizeof ints[0], cmp_int);
    atomic_store(&sorted, 1);
}

static void sort_strs(void *arg) {
    (void)arg;
    CHECK_EQ(pthread_getcpuclockid(pthread_self(), &sorter_clock), 0);
    atomic_store(&sorting, 1);
    /* strcmp itself as the comparator: each element is a NUL-terminated
     * string at the address qsort passes */
    qsort(strs, N_STRS, STRW, (int (*)(const void *, const void *))(void (*)(void))strcmp);
    atomic_store(&sorted, 1);
}

static void shuffle(uint32_t *perm, uint32_t n, uint64_t seed) {
    for (uint32_t i = 0; i < n; i++) perm[i] = i;
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(ct_rand(&seed) % (i + 1));
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* Runs fn as a goroutine beside the ticker and watches the ticker while
 * the sort runs. */
static int64_t cpu_ns(clockid_t c) {
    struct timespec ts;
    CHECK_EQ(clock_gettime(c, &ts), 0);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void watch_sort(const char *what, gort_func fn) {
    atomic_store(&sorting, 0);
    atomic_store(&sorted, 0);
    gort_stats s0 = pt_stats();
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    ct_go_wg(&wg, fn, NULL);
    CHECK_WITHIN_MS(10000, atomic_load(&sorting));
    /* CPU time of both, so the share does not depend on other processes */
    int64_t tick_cpu0 = pt_hog_cpu_ns(&ticker), sort_cpu0 = cpu_ns(sorter_clock), sort_cpu1 = sort_cpu0;
    uint64_t c0 = pt_count(&ticks), prev = c0;
    /* A stall: the sorter burns CPU while the ticker does not move. Measured
     * in the sorter's CPU time, so a machine too busy to run either does
     * not count; the wall-clock stall is printed for information. */
    int64_t start = gt_now_ns(), last_move = start, longest_stall = 0;
    int64_t sort_cpu_at_move = sort_cpu0, longest_stall_cpu = 0;
    while (!atomic_load(&sorted)) {
        pt_thread_sleep_ms(SAMPLE_MS);
        int64_t sc = cpu_ns(sorter_clock);
        uint64_t c = pt_count(&ticks);
        int64_t now = gt_now_ns();
        if (atomic_load(&sorted)) break; /* sc may include time after the sort */
        sort_cpu1 = sc;
        if (c != prev) {
            prev = c;
            last_move = now;
            sort_cpu_at_move = sc;
        } else {
            if (now - last_move > longest_stall) longest_stall = now - last_move;
            if (sc - sort_cpu_at_move > longest_stall_cpu) longest_stall_cpu = sc - sort_cpu_at_move;
            if (now - start > CT_MS(60000)) {
                fprintf(stderr, "%s: not sorted after 60 s\n", what);
                abort();
            }
        }
    }
    int64_t dur = gt_now_ns() - start;
    uint64_t during = pt_count(&ticks) - c0;
    int64_t tick_cpu = pt_hog_cpu_ns(&ticker) - tick_cpu0, sort_cpu = sort_cpu1 - sort_cpu0;
    CHECK_EQ(gort_wg_wait(&wg), 0);
    gort_stats s1 = pt_stats();
    double share = (double)tick_cpu / (double)(tick_cpu + sort_cpu);
    printf("%s: sort took %.0f ms; CPU during it: ticker %.0f ms, sorter %.0f ms (ticker share %.0f%%; 1 P shared "
           "by 2, a sorter deferred in libc gets more); longest ticker stall: %.1f ms of sorter CPU (%.1f ms wall); "
           "preempt_async +%" PRIu64 " preempt_unsafe +%" PRIu64 "\n",
           what, dur / 1e6, tick_cpu / 1e6, sort_cpu / 1e6, 100 * share, longest_stall_cpu / 1e6, longest_stall / 1e6,
           s1.preempt_async - s0.preempt_async, s1.preempt_unsafe - s0.preempt_unsafe);
    CHECK(during > 0);
    CHECK(share >= 0.10);
    /* a slice plus a few refused ticks is ~30 ms of CPU at most */
    CHECK(longest_stall_cpu < CT_MS(200));
    CHECK(s1.preempt_async > s0.preempt_async);
}

int main(void) {
    gt_watchdog(110);
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep what was printed if a check aborts */
    CHECK_EQ(pt_stats().maxprocs, 1);
    uint32_t *perm = malloc(sizeof(uint32_t) * N_INTS);
    ints = malloc(sizeof(int) * N_INTS);
    strs = malloc((size_t)STRW * N_STRS);
    CHECK(perm && ints && strs);

    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    ct_go_wg(&wg, pt_hog_main, &ticker);
    CHECK_WITHIN_MS(5000, pt_count(&ticks) > 0);

    shuffle(perm, N_INTS, 1);
    for (int i = 0; i < N_INTS; i++) ints[i] = (int)perm[i];
    watch_sort("qsort of 4M ints, program comparator", sort_ints);
    for (int i = 0; i < N_INTS; i++)
        if (ints[i] != i) {
            fprintf(stderr, "ints[%d] = %d after the sort\n", i, ints[i]);
            abort();
        }

    shuffle(perm, N_STRS, 2);
    for (int i = 0; i < N_STRS; i++) snprintf(strs[i], STRW, "%015u", perm[i]);
    gort_stats s0 = pt_stats();
    watch_sort("qsort of 2M strings, strcmp comparator", sort_strs);
    gort_stats s1 = pt_stats();
    /* nearly all in libc: preemptions there were first refused */
    CHECK(s1.preempt_unsafe > s0.preempt_unsafe);
    for (int i = 0; i < N_STRS; i++) {
        char want[STRW];
        snprintf(want, STRW, "%015u", (unsigned)i);
        if (strcmp(strs[i], want) != 0) {
            fprintf(stderr, "strs[%d] = %s after the sort\n", i, strs[i]);
            abort();
        }
    }

    atomic_store(&stop_ticker, 1);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    free(perm);
    free(ints);
    free(strs);
    return 0;
}
