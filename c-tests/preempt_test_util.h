/* Helpers shared by the preemption tests (preempt_*.c, blocking_*.c).
 *
 * The point of these tests is code that never calls into the runtime, so
 * the only way to stop it is an asynchronous preemption signal. A "hog"
 * here is a call-free loop: it increments its own cache-line-padded counter
 * while a relaxed atomic load of a stop flag reads 0. The counter is
 * written with a relaxed atomic store (a plain `mov`), so another thread can
 * watch it grow; there is no function call, no runtime call and no system
 * call inside the loop.
 */
#ifndef PREEMPT_TEST_UTIL_H
#define PREEMPT_TEST_UTIL_H

#include "chan_test_util.h"

#include <math.h>
#include <sys/syscall.h>

/* One counter per cache line, so hogs do not slow each other down through
 * false sharing (that would bias the fairness figures). */
struct pt_counter {
    _Alignas(64) _Atomic uint64_t n;
    char pad[64 - sizeof(uint64_t)];
};

/* gettid without a function call (x86-64 and aarch64 inline system call),
 * for call-free loops that check which thread they are on. */
static inline __attribute__((always_inline, unused)) long pt_gettid_inline(void) {
#if defined(__x86_64__)
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_gettid) : "rcx", "r11", "memory");
    return ret;
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = SYS_gettid;
    register long x0 __asm__("x0");
    __asm__ volatile("svc #0" : "=r"(x0) : "r"(x8) : "memory");
    return x0;
#else
    return syscall(SYS_gettid);
#endif
}

/* The CPU a thread last ran on (field 39 of /proc/self/task/TID/stat), or
 * -1. For diagnostics only. */
static inline __attribute__((unused)) int pt_thread_last_cpu(long tid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* comm may contain spaces */
    if (!p) return -1;
    /* p+2 is field 3; field 39 is 36 fields further on */
    p += 2;
    for (int field = 3; field < 39 && p; field++) {
        p = strchr(p, ' ');
        if (p) p++;
    }
    return p ? atoi(p) : -1;
}

/* A thread's scheduler state (R running or runnable, S sleeping, ...),
 * field 3 of /proc/self/task/TID/stat, or '?'. */
static inline __attribute__((unused)) char pt_thread_state(long tid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
    FILE *f = fopen(path, "r");
    if (!f) return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] ? p[2] : '?';
}

#define PT_MAX_CPUS 8
/* Which CPUs each measured hog was seen running on (diagnostics). */
static uint32_t pt_seen_on[64][PT_MAX_CPUS];

/* What a hog needs: its counter and the flag that ends it. */
struct pt_hog {
    struct pt_counter *counter;
    const atomic_int *stop;
    /* Set by the hog before it starts spinning: the CPU-time clock of its
     * thread. A call-free hog never enters the runtime again, so once it
     * runs it keeps its thread (a preempted goroutine resumes on the thread
     * it was stopped on): that clock measures the hog's own CPU time. */
    clockid_t clock;
    atomic_int started;
    long tid;
};

/* The call-free loop. noinline keeps it a separate, recognisable function
 * in backtraces; nothing inside calls anything. */
static __attribute__((noinline, unused)) void pt_spin_until(struct pt_counter *c, const atomic_int *stop) {
    uint64_t n = atomic_load_explicit(&c->n, memory_order_relaxed);
    while (!atomic_load_explicit(stop, memory_order_relaxed)) {
        n++;
        atomic_store_explicit(&c->n, n, memory_order_relaxed);
    }
}

/* A goroutine body: spin until *stop. */
static __attribute__((unused)) void pt_hog_main(void *arg) {
    struct pt_hog *h = arg;
    CHECK_EQ(pthread_getcpuclockid(pthread_self(), &h->clock), 0);
    h->tid = pt_gettid_inline();
    atomic_store(&h->started, 1);
    pt_spin_until(h->counter, h->stop);
    /* Never left its thread: its thread's CPU clock was its own. */
    CHECK_EQ(pt_gettid_inline(), h->tid);
}

/* CPU time of a started hog's thread, in nanoseconds. */
static inline __attribute__((unused)) int64_t pt_hog_cpu_ns(struct pt_hog *h) {
    struct timespec ts;
    CHECK_EQ(clock_gettime(h->clock, &ts), 0);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline uint64_t pt_count(struct pt_counter *c) { return atomic_load_explicit(&c->n, memory_order_relaxed); }

/* Jain's fairness index of x[0..n): 1 when all equal, 1/n when one has all. */
static inline double pt_jain(const uint64_t *x, int n) {
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        s += (double)x[i];
        s2 += (double)x[i] * (double)x[i];
    }
    return s2 == 0 ? 0 : s * s / (n * s2);
}

static inline gort_stats pt_stats(void) {
    gort_stats s;
    memset(&s, 0, sizeof s);
    CHECK_EQ(gort_read_stats(&s), 0);
    return s;
}

static inline void pt_print_stats(const char *label, const gort_stats *s) {
    printf("%s: preempt_async=%" PRIu64 " preempt_coop=%" PRIu64 " preempt_signals=%" PRIu64
           " preempt_unsafe=%" PRIu64 " handoffs=%" PRIu64 " threads=%u maxprocs=%u\n",
           label, s->preempt_async, s->preempt_coop, s->preempt_signals, s->preempt_unsafe, s->handoffs,
           s->threads, s->maxprocs);
    fflush(stdout);
}

/* Sleeps on the calling plain thread (never a goroutine here: the tests'
 * main threads are plain threads that must keep running while every P is
 * taken by hogs). Restarts after EINTR so the full time passes. */
static inline void pt_thread_sleep_ms(int ms) {
    int64_t deadline = gt_now_ns() + CT_MS(ms);
    for (;;) {
        int64_t left = deadline - gt_now_ns();
        if (left <= 0) return;
        struct timespec ts = {left / 1000000000, left % 1000000000};
        nanosleep(&ts, NULL);
    }
}

/* Runs the hogs h[0..n) until they have burnt `target_cpu_ms` of CPU
 * between them (or `max_wall_ms` passed), so the sample does not shrink
 * when other processes load the machine; fills the per-hog iteration and
 * CPU-time deltas over that window. Returns the window's wall time. */
static inline __attribute__((unused)) int64_t pt_measure_hogs(struct pt_hog *h, int n, int64_t target_cpu_ms,
                                                              int64_t max_wall_ms, uint64_t *iters, uint64_t *cpu) {
    uint64_t it0[64];
    int64_t cpu0[64];
    CHECK(n <= 64);
    for (int i = 0; i < n; i++) CHECK_WITHIN_MS(10000, atomic_load(&h[i].started));
    int64_t t0 = gt_now_ns();
    for (int i = 0; i < n; i++) {
        it0[i] = pt_count(h[i].counter);
        cpu0[i] = pt_hog_cpu_ns(&h[i]);
    }
    int64_t last_cpu[64];
    memset(pt_seen_on, 0, sizeof pt_seen_on);
    for (int i = 0; i < n; i++) last_cpu[i] = cpu0[i];
    for (;;) {
        pt_thread_sleep_ms(50);
        int64_t sum = 0;
        for (int i = 0; i < n; i++) {
            int64_t c = pt_hog_cpu_ns(&h[i]);
            sum += c - cpu0[i];
            if (c != last_cpu[i]) { /* it ran since the last look: where? */
                int where = pt_thread_last_cpu(h[i].tid);
                if (where >= 0 && where < PT_MAX_CPUS) pt_seen_on[i][where]++;
            }
            last_cpu[i] = c;
        }
        int64_t wall = gt_now_ns() - t0;
        if (sum >= CT_MS(target_cpu_ms) || wall >= CT_MS(max_wall_ms)) break;
    }
    for (int i = 0; i < n; i++) {
        iters[i] = pt_count(h[i].counter) - it0[i];
        cpu[i] = (uint64_t)(pt_hog_cpu_ns(&h[i]) - cpu0[i]);
    }
    return gt_now_ns() - t0;
}

/* Prints per-hog figures and returns Jain's index of their CPU time. */
static inline __attribute__((unused)) double pt_report_hogs(const uint64_t *iters, const uint64_t *cpu, int n,
                                                           int64_t wall, double *jain_iters) {
    uint64_t it_total = 0, cpu_total = 0, min = UINT64_MAX, max = 0;
    for (int i = 0; i < n; i++) {
        it_total += iters[i];
        cpu_total += cpu[i];
        if (cpu[i] < min) min = cpu[i];
        if (cpu[i] > max) max = cpu[i];
    }
    double jc = pt_jain(cpu, n), ji = pt_jain(iters, n);
    printf("window %.0f ms wall, %.0f ms hog CPU (%.2f CPUs): Jain CPU time %.5f, Jain iterations %.5f, CPU max/min %.3f\n",
           wall / 1e6, cpu_total / 1e6, (double)cpu_total / (double)wall, jc, ji,
           min ? (double)max / (double)min : INFINITY);
    for (int i = 0; i < n; i++) {
        printf("  hog %d: %.1f ms CPU (%.1f%%), %" PRIu64 " iterations (%.1f%%); seen running on CPU", i, cpu[i] / 1e6,
               100.0 * (double)cpu[i] / (double)cpu_total, iters[i], 100.0 * (double)iters[i] / (double)it_total);
        for (int c = 0; c < PT_MAX_CPUS; c++)
            if (pt_seen_on[i][c]) printf(" %d:%u", c, pt_seen_on[i][c]);
        printf("\n");
    }
    fflush(stdout);
    if (jain_iters) *jain_iters = ji;
    return jc;
}

/* Sleep-lateness samples, from a goroutine or from a plain thread. */
#define PT_MAX_SAMPLES 50000
struct pt_lateness {
    int64_t sleep_ns;
    atomic_int stop;
    size_t n;
    int64_t v[PT_MAX_SAMPLES];
};

/* A plain thread sleeping sleep_ns in a loop with nanosleep: how late the
 * machine itself wakes a thread right now (other processes, a loaded VM).
 * Goroutine wake-up figures are judged against it. */
static __attribute__((unused)) void *pt_control_sleeper(void *arg) {
    struct pt_lateness *l = arg;
    while (!atomic_load(&l->stop)) {
        struct timespec ts = {l->sleep_ns / 1000000000, l->sleep_ns % 1000000000};
        int64_t t0 = gt_now_ns();
        nanosleep(&ts, NULL);
        int64_t late = gt_now_ns() - t0 - l->sleep_ns;
        if (l->n < PT_MAX_SAMPLES) l->v[l->n++] = late;
    }
    return NULL;
}

/* Runs `workers` goroutines work(id, progress, stop) beside `hogs`
 * call-free hogs for run_ms, with the main (plain) thread watching: every
 * worker must make progress; one that does not for stall_ms is reported
 * (with every worker's progress and the runtime's stats) and the test
 * aborts, which tells a deadlock and where it is faster than the watchdog.
 * Returns the stats delta over the run in *delta. */
typedef void (*pt_work_fn)(int id, struct pt_counter *progress, const atomic_int *stop);

struct pt_worker {
    pt_work_fn fn;
    int id;
    struct pt_counter progress;
    const atomic_int *stop;
    atomic_int done;
};

static __attribute__((unused)) void pt_worker_main(void *arg) {
    struct pt_worker *w = arg;
    w->fn(w->id, &w->progress, w->stop);
    atomic_store(&w->done, 1);
}

static __attribute__((unused)) void pt_stall_report(const char *what, const char *phase, int stalled,
                                                    struct pt_worker *w, int workers, const int64_t *last_change,
                                                    int64_t now, int stall_ms) {
    fprintf(stderr, "%s: worker %d made no progress for %d ms %s (deadlock?)\n", what, stalled, stall_ms, phase);
    for (int j = 0; j < workers; j++)
        fprintf(stderr, "  worker %d: progress %" PRIu64 ", last change %.0f ms ago%s\n", j, pt_count(&w[j].progress),
                (now - last_change[j]) / 1e6, atomic_load(&w[j].done) ? ", finished" : "");
    gort_stats s = pt_stats();
    fprintf(stderr, "stats: preempt_async=%" PRIu64 " preempt_signals=%" PRIu64 " preempt_unsafe=%" PRIu64
                    " handoffs=%" PRIu64 " threads=%u\n",
            s.preempt_async, s.preempt_signals, s.preempt_unsafe, s.handoffs, s.threads);
    fflush(stderr);
    abort();
}

#define PT_MAX_WORKERS 32
static __attribute__((unused)) void pt_run_workers(const char *what, pt_work_fn fn, int workers, int hogs, int run_ms,
                                                   int stall_ms, gort_stats *delta) {
    static struct pt_worker w[PT_MAX_WORKERS];
    static struct pt_counter hc[PT_MAX_WORKERS];
    static struct pt_hog h[PT_MAX_WORKERS];
    static atomic_int stop_work, stop_hogs;
    CHECK(workers <= PT_MAX_WORKERS && hogs <= PT_MAX_WORKERS);
    atomic_store(&stop_work, 0);
    atomic_store(&stop_hogs, 0);
    gort_stats s0 = pt_stats();
    gort_waitgroup wg = GORT_WAITGROUP_INIT, hwg = GORT_WAITGROUP_INIT;
    for (int i = 0; i < hogs; i++) {
        memset(&hc[i], 0, sizeof hc[i]);
        h[i] = (struct pt_hog){.counter = &hc[i], .stop = &stop_hogs};
        ct_go_wg(&hwg, pt_hog_main, &h[i]);
    }
    for (int i = 0; i < workers; i++) {
        w[i].fn = fn;
        w[i].id = i;
        w[i].stop = &stop_work;
        atomic_store(&w[i].progress.n, 0);
        atomic_store(&w[i].done, 0);
        ct_go_wg(&wg, pt_worker_main, &w[i]);
    }
    uint64_t last[PT_MAX_WORKERS] = {0};
    int64_t last_change[PT_MAX_WORKERS];
    int64_t t0 = gt_now_ns();
    for (int i = 0; i < workers; i++) last_change[i] = t0;
    /* Watch until run_ms passed, then (stop set) until every worker has
     * finished: a worker stuck on its way out is a deadlock too. */
    for (int stopping = 0;;) {
        pt_thread_sleep_ms(20);
        int64_t now = gt_now_ns();
        int finished = 0;
        for (int i = 0; i < workers; i++) {
            uint64_t n = pt_count(&w[i].progress);
            if (atomic_load(&w[i].done)) {
                finished++;
            } else if (n != last[i]) {
                last[i] = n;
                last_change[i] = now;
            } else if (now - last_change[i] > CT_MS(stall_ms)) {
                pt_stall_report(what, stopping ? "after the stop request" : "while running", i, w, workers,
                                last_change, now, stall_ms);
            }
        }
        if (stopping && finished == workers) break;
        if (!stopping && now - t0 >= CT_MS(run_ms)) {
            stopping = 1;
            atomic_store(&stop_work, 1);
            for (int i = 0; i < workers; i++) last_change[i] = now;
        }
    }
    CHECK_EQ(gort_wg_wait(&wg), 0);
    atomic_store(&stop_hogs, 1);
    CHECK_EQ(gort_wg_wait(&hwg), 0);
    gort_stats s1 = pt_stats();
    uint64_t total = 0;
    printf("%s: %d workers beside %d hogs for %.0f ms; progress per worker:", what, workers, hogs,
           (gt_now_ns() - t0) / 1e6);
    for (int i = 0; i < workers; i++) {
        printf(" %" PRIu64, pt_count(&w[i].progress));
        total += pt_count(&w[i].progress);
        CHECK(pt_count(&w[i].progress) > 0);
    }
    printf(" (total %" PRIu64 ")\n", total);
    *delta = s1;
    delta->preempt_async -= s0.preempt_async;
    delta->preempt_coop -= s0.preempt_coop;
    delta->preempt_signals -= s0.preempt_signals;
    delta->preempt_unsafe -= s0.preempt_unsafe;
    delta->handoffs -= s0.handoffs;
    pt_print_stats("during the run", delta);
}

/* Sleeps on the main (plain) thread until the runtime has made `target`
 * more asynchronous preemptions than in *from, or max_wall_ms passed. */
static inline __attribute__((unused)) void pt_wait_preemptions(const gort_stats *from, uint64_t target,
                                                               int max_wall_ms) {
    int64_t deadline = gt_now_ns() + CT_MS(max_wall_ms);
    while (gt_now_ns() < deadline && pt_stats().preempt_async - from->preempt_async < target) pt_thread_sleep_ms(20);
}

/* A thread's time on a CPU and time runnable but waiting for one, from
 * /proc/self/task/TID/schedstat (the kernel's own accounting). Their sum
 * is the time the thread was runnable: if a goroutine's thread is parked by
 * the runtime, neither grows; if only the machine is too busy to run it,
 * the wait grows. Returns 0 when the file cannot be read. */
static inline __attribute__((unused)) int pt_thread_sched_ns(long tid, int64_t *cpu, int64_t *wait) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/schedstat", tid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    long long c = 0, w = 0;
    int ok = fscanf(f, "%lld %lld", &c, &w) == 2;
    fclose(f);
    *cpu = c;
    *wait = w;
    return ok;
}

static inline __attribute__((unused)) int64_t pt_thread_runnable_ns(long tid) {
    int64_t c, w;
    CHECK(pt_thread_sched_ns(tid, &c, &w));
    return c + w;
}

/* Percentile of a sorted array. */
static inline int64_t pt_percentile(const int64_t *sorted, size_t n, double p) {
    if (n == 0) return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    if (i >= n) i = n - 1;
    return sorted[i];
}

static __attribute__((unused)) int pt_cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

#endif
