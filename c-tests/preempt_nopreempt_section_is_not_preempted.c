// A goroutine inside gort_nopreempt_begin/end is not preempted: on 1 P with
// a 1 ms slice, it spins call-free inside the section for 300 ms of its own
// CPU time (~300 ms on an idle machine; longer if other processes load it)
// while a ticker goroutine (call-free too) is runnable. During the section the
// ticker's counter does not move, no asynchronous preemption happens (the
// signals keep coming and are refused: preempt_unsafe grows), and after
// gort_nopreempt_end the ticker runs again while the goroutine spins on.
// Sections nest: after begin, begin, end the goroutine is still protected;
// the outer end releases it.
// env: GORTMAXPROCS=1 GORTDEBUG=preemptms=1
// env: GORTMAXPROCS=1 GORTDEBUG=preemptms=2
// env: GORTMAXPROCS=1
// timeout: 60
#include "preempt_test_util.h"

#define SECTION_CPU_MS 300
#define SECTION_MAX_WALL_MS 10000

static struct pt_counter ticks, spins;
static atomic_int stop_all;
static struct pt_hog ticker = {.counter = &ticks, .stop = &stop_all};

/* phase, set by the main thread; the goroutine reports where it is */
static atomic_int release; /* main -> goroutine: leave the current stretch */
static atomic_int where;   /* goroutine -> main */
static clockid_t protected_clock; /* its thread's CPU clock, set before `where` */
enum { W_NONE, W_IN_SECTION, W_IN_NESTED, W_OUT, W_DONE };

static void spin_until_release(int gen) {
    uint64_t n = pt_count(&spins);
    while (atomic_load_explicit(&release, memory_order_relaxed) < gen) {
        n++;
        atomic_store_explicit(&spins.n, n, memory_order_relaxed);
    }
}

static void protected_goroutine(void *arg) {
    (void)arg;
    /* 1: a plain section */
    gort_nopreempt_begin();
    CHECK_EQ(pthread_getcpuclockid(pthread_self(), &protected_clock), 0);
    atomic_store(&where, W_IN_SECTION);
    spin_until_release(1);
    gort_nopreempt_end();
    atomic_store(&where, W_OUT);
    spin_until_release(2);
    /* 2: nested; the inner end must not re-enable preemption */
    gort_nopreempt_begin();
    gort_nopreempt_begin();
    gort_nopreempt_end();
    CHECK_EQ(pthread_getcpuclockid(pthread_self(), &protected_clock), 0);
    atomic_store(&where, W_IN_NESTED);
    spin_until_release(3);
    gort_nopreempt_end();
    atomic_store(&where, W_OUT);
    spin_until_release(4);
    atomic_store(&where, W_DONE);
}

static int64_t clock_ns(clockid_t c) {
    struct timespec ts;
    CHECK_EQ(clock_gettime(c, &ts), 0);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The goroutine is in a protected stretch: while it burns SECTION_CPU_MS of
 * CPU the ticker must not move and no goroutine may be preempted
 * asynchronously. */
static void check_protected(const char *what) {
    uint64_t t0 = pt_count(&ticks), s0 = pt_count(&spins);
    gort_stats a = pt_stats();
    int64_t c0 = clock_ns(protected_clock), w0 = gt_now_ns();
    while (clock_ns(protected_clock) - c0 < CT_MS(SECTION_CPU_MS) && gt_now_ns() - w0 < CT_MS(SECTION_MAX_WALL_MS))
        pt_thread_sleep_ms(10);
    uint64_t t1 = pt_count(&ticks), s1 = pt_count(&spins);
    gort_stats b = pt_stats();
    int64_t cpu = clock_ns(protected_clock) - c0, wall = gt_now_ns() - w0;
    printf("%s, %.0f ms of its CPU (%.0f ms wall): protected goroutine +%" PRIu64 " spins, ticker +%" PRIu64
           "; preempt_async +%" PRIu64 " preempt_signals +%" PRIu64 " preempt_unsafe +%" PRIu64 "\n",
           what, cpu / 1e6, wall / 1e6, s1 - s0, t1 - t0, b.preempt_async - a.preempt_async,
           b.preempt_signals - a.preempt_signals, b.preempt_unsafe - a.preempt_unsafe);
    CHECK(s1 > s0);   /* it ran */
    CHECK_EQ(t1, t0); /* alone */
    CHECK_EQ(b.preempt_async, a.preempt_async);
    CHECK(b.preempt_unsafe > a.preempt_unsafe); /* signals came and were refused */
}

/* Out of the section: the ticker must get the P back soon. */
static void check_unprotected(const char *what) {
    uint64_t t0 = pt_count(&ticks);
    int64_t start = gt_now_ns();
    CHECK_WITHIN_MS(2000, pt_count(&ticks) > t0);
    printf("%s: ticker ran again after %.1f ms\n", what, (gt_now_ns() - start) / 1e6);
    uint64_t s0 = pt_count(&spins);
    CHECK_WITHIN_MS(2000, pt_count(&spins) > s0); /* and so does the goroutine: they share */
}

int main(void) {
    gt_watchdog(50);
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep what was printed if a check aborts */
    CHECK_EQ(pt_stats().maxprocs, 1);
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    ct_go_wg(&wg, pt_hog_main, &ticker);
    CHECK_WITHIN_MS(5000, pt_count(&ticks) > 0);
    ct_go_wg(&wg, protected_goroutine, NULL);

    CHECK_WITHIN_MS(5000, atomic_load(&where) == W_IN_SECTION);
    check_protected("inside nopreempt_begin/end");
    atomic_store(&release, 1);
    CHECK_WITHIN_MS(5000, atomic_load(&where) == W_OUT);
    check_unprotected("after nopreempt_end");

    atomic_store(&release, 2);
    CHECK_WITHIN_MS(5000, atomic_load(&where) == W_IN_NESTED);
    check_protected("inside begin,begin,end (still nested)");
    atomic_store(&release, 3);
    CHECK_WITHIN_MS(5000, atomic_load(&where) == W_OUT);
    check_unprotected("after the outer end");

    atomic_store(&release, 4);
    CHECK_WITHIN_MS(5000, atomic_load(&where) == W_DONE);
    atomic_store(&stop_all, 1);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    return 0;
}
