/* gort versions of the Go peer go/hogs/main.go (see bench/README.md): W5
 * fairness and probe latency under CPU hogs, W6 stop-the-world latency;
 * plus X4, the cost of one preemption handoff.
 *
 * Usage: gorthogs -w W5|W6|X4 [-hogs N] [-stop_ms MS]
 * Workers (Ps) come from GORTMAXPROCS; GORTDEBUG is echoed as gortdebug=.
 *
 * A hog is a call-free loop: it increments its own cache-line-padded counter
 * while a relaxed atomic load of a stop flag reads 0, exactly like the Go
 * peer's hog(). Only asynchronous preemption can take its P away. A plain
 * pthread (the "stopper"), outside the scheduler, sets the flag after a
 * wall-clock deadline, so the hogs end even when preemption is off.
 */
#include "bench.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#endif

static struct opts o = {.w = "W5", .hogs = -1, .stop_ms = -1};

/* --------------------------------------------------------- hogs, stopper */

static int32_t stop_flag;

struct padded {
    _Alignas(64) uint64_t n;
};
static struct padded counters[64];

static int stopper_ms;

static void *stopper(void *arg) {
    (void)arg;
    struct timespec ts = {stopper_ms / 1000, (long)(stopper_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
    __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
    return NULL;
}

static void start_stopper(int ms) {
    pthread_t t;
    stopper_ms = ms;
    if (pthread_create(&t, NULL, stopper, NULL) != 0) die("pthread_create failed");
    pthread_detach(t);
}

static gort_waitgroup hog_wg;

/* The hog: no function calls in the loop (check with objdump -d if in doubt).
 * The volatile counter keeps the increment in memory each iteration, as Go's
 * `*c++` does, so other threads can watch it move. */
static void hog(void *arg) {
    volatile uint64_t *c = &counters[(intptr_t)arg].n;
    while (__atomic_load_n(&stop_flag, __ATOMIC_RELAXED) == 0) (*c)++;
    gort_wg_done(&hog_wg);
}

static void spawn_hogs(int n) {
    if (n > 64) die("at most 64 hogs");
    CK(gort_wg_add(&hog_wg, n));
    for (int i = 0; i < n; i++) CK(gort_go(hog, (void *)(intptr_t)i));
}

static uint64_t hog_work(int n) {
    uint64_t s = 0;
    for (int i = 0; i < n; i++) s += __atomic_load_n(&counters[i].n, __ATOMIC_RELAXED);
    return s;
}

/* ------------------------------------------------------------- W5 hogs */

#define MAX_SAMPLES 65536
static int64_t samples[MAX_SAMPLES];
static size_t nsamples;
static int32_t probe_started;
static gort_waitgroup probe_wg;

/* Sleeps 1 ms in a loop and records how late each wake-up was. */
static void probe(void *arg) {
    (void)arg;
    __atomic_store_n(&probe_started, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&stop_flag, __ATOMIC_RELAXED) == 0) {
        int64_t s = now_ns();
        CK(gort_sleep(1000000));
        if (nsamples < MAX_SAMPLES) samples[nsamples++] = now_ns() - s - 1000000;
    }
    gort_wg_done(&probe_wg);
}

static void w5(void *arg) {
    (void)arg;
    const int hogs = o.hogs >= 0 ? o.hogs : 8;
    const int stop_ms = o.stop_ms >= 0 ? o.stop_ms : 2000;
    CK(gort_wg_add(&probe_wg, 1));
    CK(gort_go(probe, NULL));
    while (__atomic_load_n(&probe_started, __ATOMIC_SEQ_CST) == 0) gort_yield();
    start_stopper(stop_ms);
    int64_t t0 = now_ns();
    spawn_hogs(hogs);
    CK(gort_wg_wait(&hog_wg));
    int64_t el = now_ns() - t0;
    CK(gort_wg_wait(&probe_wg));

    double sum = 0, sumsq = 0, mn = INFINITY, mx = 0;
    for (int i = 0; i < hogs; i++) {
        double x = (double)counters[i].n;
        sum += x;
        sumsq += x * x;
        mn = fmin(mn, x);
        mx = fmax(mx, x);
    }
    double jain = sumsq > 0 ? sum * sum / (hogs * sumsq) : 0;
    qsort(samples, nsamples, sizeof samples[0], cmp_i64);
    char p[256];
    snprintf(p, sizeof p, "hogs=%d secs=%g gortdebug=%s", hogs, stop_ms / 1000.0, gortdebug());
    out("W5_hogs", p, "share_minmax", mx > 0 ? mn / mx : 0, "ratio");
    out("W5_hogs", p, "jain", jain, "index");
    out("W5_hogs", p, "probe_samples", (double)nsamples, "count");
    out("W5_hogs", p, "probe_p50_us", (double)pct(samples, nsamples, 50) / 1e3, "us");
    out("W5_hogs", p, "probe_p99_us", (double)pct(samples, nsamples, 99) / 1e3, "us");
    out("W5_hogs", p, "probe_max_us", (double)pct(samples, nsamples, 100) / 1e3, "us");
    /* Sum of all hog iterations, and per second of the hogs' run: compare a
     * default run with GORTDEBUG=asyncpreemptoff=1 for preemption's cost. */
    out("W5_hogs", p, "total_work", sum, "iters");
    out("W5_hogs", p, "work_per_s", sum / ((double)el / 1e9), "iters/s");
}

/* ----------------------------------------------------------- W6 stw */

#define STW_CALLS 1000
static int64_t stw_wall[STW_CALLS], stw_reach[STW_CALLS];

static void print_pcts(const char *params, const char *op, int64_t *s, size_t n) {
    qsort(s, n, sizeof s[0], cmp_i64);
    char p[320];
    snprintf(p, sizeof p, "%s op=%s calls=%zu", params, op, n);
    out("W6_stw", p, "p50_us", (double)pct(s, n, 50) / 1e3, "us");
    out("W6_stw", p, "p99_us", (double)pct(s, n, 99) / 1e3, "us");
    out("W6_stw", p, "max_us", (double)pct(s, n, 100) / 1e3, "us");
}

/* Times STW_CALLS stop+start pairs; also keeps the runtime's own figure for
 * how long each stop took to reach a stopped world (gort_stats.stw_last_ns). */
static void measure_stw(void) {
    gort_stats st;
    for (int i = 0; i < STW_CALLS; i++) {
        int64_t t0 = now_ns();
        CK(gort_stop_the_world());
        CK(gort_start_the_world());
        stw_wall[i] = now_ns() - t0;
        CK(gort_read_stats(&st));
        stw_reach[i] = (int64_t)st.stw_last_ns;
    }
}

static char w6_params[256];
static int w6_hogs;

/* Goroutine part: like the Go peer, whose main goroutine calls
 * runtime.ReadMemStats (a stop-the-world) with the hogs running. */
static void w6_goroutine(void *arg) {
    (void)arg;
    spawn_hogs(w6_hogs);
    /* Spin (no call, no yield) until some hog runs on another P, so that the
     * first stop already has to preempt a running hog. */
    while (w6_hogs > 0 && hog_work(w6_hogs) == 0) {
    }
    measure_stw();
    print_pcts(w6_params, "stw", stw_wall, STW_CALLS);
    print_pcts(w6_params, "stw_reach", stw_reach, STW_CALLS);
}

static void w6(void) {
    w6_hogs = o.hogs >= 0 ? o.hogs : 6;
    /* Safety deadline only: main stops the hogs itself when it is done. */
    const int stop_ms = o.stop_ms >= 0 ? o.stop_ms : 60000;
    snprintf(w6_params, sizeof w6_params, "hogs=%d gortdebug=%s", w6_hogs, gortdebug());
    if (stop_ms > 0) start_stopper(stop_ms);
    CK(gort_main(w6_goroutine, NULL));
    /* Thread part: the same from the main OS thread, hogs still running. */
    measure_stw();
    int alive = __atomic_load_n(&stop_flag, __ATOMIC_RELAXED) == 0;
    print_pcts(w6_params, "stw_thread", stw_wall, STW_CALLS);
    if (!alive) fprintf(stderr, "W6: warning: the safety deadline stopped the hogs before the measurement ended\n");
    __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
    CK(gort_wg_wait(&hog_wg));
}

/* ------------------------------------------------- X4 preemption handoff */

/* Two call-free hogs share one P. Each iteration a hog publishes one word,
 * h_word = (timestamp counter << 1) | its id, read with rdtsc (an
 * instruction, not a call). When a hog finds the other hog's id there, the
 * other one was preempted and this one got the P: the gap between the other
 * hog's last timestamp and this one's is one complete handoff (signal
 * delivery, context save, scheduling, switch, resume).
 *
 * Order matters, because a hog can be preempted between any two
 * instructions: load the word, then read the clock, then publish with a
 * compare-and-swap. If the hog was preempted anywhere in between, the other
 * hog has published meanwhile, the CAS fails and the iteration is redone, so
 * no stale word or stale timestamp is ever used.
 * Run with GORTMAXPROCS=1 and a short slice (bench/run uses preemptms=1).
 *
 * Indirect figure: a single hog first runs alone for base_ms to get the
 * iteration rate; the throughput the two hogs lose against that rate,
 * divided by the number of switches, is the whole cost of a switch
 * including cache and TLB effects. */

#define MAX_GAPS 200000
static int64_t *gaps[2];
static size_t ngaps[2];
static uint64_t h_word = 1; /* "hog 1 at time 0": hog 0 records nothing first */

static inline uint64_t ticks(void) {
#ifdef HAVE_TSC
    return __rdtsc();
#else
    return (uint64_t)now_ns(); /* a call (vDSO): slightly less clean */
#endif
}

static void handoff_hog(void *arg) {
    const uint64_t me = (uint64_t)(intptr_t)arg;
    volatile uint64_t *c = &counters[me].n;
    int64_t *g = gaps[me];
    size_t n = 0;
    while (__atomic_load_n(&stop_flag, __ATOMIC_RELAXED) == 0) {
        uint64_t prev = __atomic_load_n(&h_word, __ATOMIC_RELAXED);
        uint64_t t = ticks() << 1;
        if (!__atomic_compare_exchange_n(&h_word, &prev, t | me, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            continue; /* preempted since the load: the other hog wrote */
        if ((prev & 1) != me && (prev >> 1) != 0 && n < MAX_GAPS)
            g[n++] = (int64_t)((t - (prev & ~(uint64_t)1)) >> 1);
        (*c)++;
    }
    ngaps[me] = n;
    gort_wg_done(&hog_wg);
}

/* Ticks per nanosecond, measured against CLOCK_MONOTONIC over 50 ms. */
static double tick_rate(void) {
#ifdef HAVE_TSC
    int64_t t0 = now_ns();
    uint64_t k0 = ticks();
    while (now_ns() - t0 < 50000000) {
    }
    return (double)(ticks() - k0) / (double)(now_ns() - t0);
#else
    return 1.0;
#endif
}

/* Runs `n` handoff hogs for `ms` ms; returns the elapsed ns. */
static int64_t run_handoff_hogs(int n, int ms) {
    __atomic_store_n(&stop_flag, 0, __ATOMIC_RELAXED);
    h_word = 1; /* owner: hog 1, time 0 (not a real sample) */
    for (int i = 0; i < n; i++) {
        counters[i].n = 0;
        ngaps[i] = 0;
    }
    CK(gort_wg_add(&hog_wg, n));
    start_stopper(ms);
    int64_t t0 = now_ns();
    for (int i = 0; i < n; i++) CK(gort_go(handoff_hog, (void *)(intptr_t)i));
    CK(gort_wg_wait(&hog_wg));
    return now_ns() - t0;
}

static void x4(void *arg) {
    (void)arg;
    const int ms = o.stop_ms > 0 ? o.stop_ms : 2000;
    const int base_ms = 500;
    double tpn = tick_rate();
    gaps[0] = xcalloc(MAX_GAPS, sizeof(int64_t));
    gaps[1] = xcalloc(MAX_GAPS, sizeof(int64_t));
    gort_stats s0, s1, s2;

    CK(gort_read_stats(&s0));
    int64_t e1 = run_handoff_hogs(1, base_ms);
    double rate1 = (double)counters[0].n / (double)e1; /* iterations per ns, alone */
    CK(gort_read_stats(&s1));
    int64_t e2 = run_handoff_hogs(2, ms);
    double work2 = (double)counters[0].n + (double)counters[1].n;
    CK(gort_read_stats(&s2));

    size_t n = ngaps[0] + ngaps[1];
    int64_t *all = xcalloc(n ? n : 1, sizeof(int64_t));
    memcpy(all, gaps[0], ngaps[0] * sizeof(int64_t));
    memcpy(all + ngaps[0], gaps[1], ngaps[1] * sizeof(int64_t));
    for (size_t i = 0; i < n; i++) all[i] = (int64_t)((double)all[i] / tpn);
    qsort(all, n, sizeof all[0], cmp_i64);

    uint64_t async2 = s2.preempt_async - s1.preempt_async;
    if (n == 0)
        die("X4: the two hogs never switched in %g s: preempt_signals=%" PRIu64 " preempt_async=%" PRIu64
            " preempt_unsafe=%" PRIu64 " (the second hog starved)", ms / 1000.0,
            s2.preempt_signals - s1.preempt_signals, async2, s2.preempt_unsafe - s1.preempt_unsafe);
    double lost_ns = (double)e2 - work2 / rate1; /* time the two hogs did not spend iterating */
    char p[256];
    snprintf(p, sizeof p, "hogs=2 secs=%g gortdebug=%s", ms / 1000.0, gortdebug());
    out("X4_preempt", p, "switches", (double)n, "count");
    out("X4_preempt", p, "preempt_async", (double)async2, "count");
    out("X4_preempt", p, "preempt_signals", (double)(s2.preempt_signals - s1.preempt_signals), "count");
    out("X4_preempt", p, "preempt_unsafe", (double)(s2.preempt_unsafe - s1.preempt_unsafe), "count");
    out("X4_preempt", p, "alone_preempt_async", (double)(s1.preempt_async - s0.preempt_async), "count");
    out("X4_preempt", p, "handoff_p50_ns", (double)pct(all, n, 50), "ns");
    out("X4_preempt", p, "handoff_p99_ns", (double)pct(all, n, 99), "ns");
    out("X4_preempt", p, "handoff_max_ns", (double)pct(all, n, 100), "ns");
    out("X4_preempt", p, "lost_ns_per_switch", lost_ns / (double)n, "ns");
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
    parse_opts(argc, argv, &o);
    g_workers = gort_maxprocs(0);
    if (!strcmp(o.w, "W5")) CK(gort_main(w5, NULL));
    else if (!strcmp(o.w, "W6")) w6();
    else if (!strcmp(o.w, "X4")) CK(gort_main(x4, NULL));
    else {
        fprintf(stderr, "unknown workload %s\n", o.w);
        return 2;
    }
    return 0;
}
