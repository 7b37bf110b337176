// The floating-point control state survives asynchronous preemption and
// cooperative switches: 8 goroutines on 2 Ps each set their own SSE mode
// (MXCSR rounding, FTZ, DAZ) and their own, different x87 mode (control word
// rounding and precision), spin call-free (in asm) long enough to be
// preempted several times per round, then read both control words back and
// divide 1 by +-3 under them (SSE divss and x87 fdiv, in the same asm, no
// call in between): the control words must be exactly what the goroutine
// set and the quotients exactly the ones this mode gives (computed on the
// main thread first). Between rounds goroutines yield, so they also move
// between threads. Runs until the runtime has made 2000 asynchronous
// preemptions (at most 8 s; at least 100 are required).
//
// The check is real: the main thread first shows that each of the modes in
// use gives a different pair of quotients, so a goroutine running under any
// other goroutine's mode fails the comparison.
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=1
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=2
// timeout: 90
#include "preempt_test_util.h"

#if !defined(__x86_64__)
int main(void) {
    printf("x86-64 only: skipped\n");
    return 0;
}
#else

#define WORKERS 8
#define TARGET_PREEMPTIONS 2000
#define MAX_RUN_MS 8000
#define ROUND_CPU_MS 10

/* MXCSR: bits 0-5 exception flags (sticky, ignored), 6 DAZ, 7-12 masks,
 * 13-14 rounding, 15 FTZ. x87 CW: 0-5 masks, 8-9 precision, 10-11 rounding. */
#define MXCSR_FLAGS 0x3fu
struct mode {
    uint32_t mxcsr;
    uint16_t fpucw;
};

struct result {
    uint32_t mxcsr, fsum_pos, fsum_neg;
    uint16_t fpucw;
    uint8_t x87_pos[10], x87_neg[10];
};

static struct mode modes[WORKERS];
static struct result expected[WORKERS];
static atomic_int stop_all;
static atomic_ullong checks;
static uint64_t iters_per_ms;

static struct mode mode_for(int id) {
    uint32_t rc = (uint32_t)id % 4, x87rc = (uint32_t)(id + 1) % 4;
    static const uint16_t pcs[3] = {0, 2, 3}; /* single, double, extended */
    uint16_t pc = pcs[id % 3];
    struct mode m;
    m.mxcsr = 0x1f80u | (rc << 13) | ((id & 4) ? (1u << 15) | (1u << 6) : 0); /* FTZ+DAZ for ids 4-7 */
    m.fpucw = (uint16_t)((0x037f & ~0x0f00) | (pc << 8) | (x87rc << 10));
    return m;
}

static void set_mode(const struct mode *m) {
    __asm__ volatile("ldmxcsr %0" : : "m"(m->mxcsr));
    __asm__ volatile("fldcw %0" : : "m"(m->fpucw));
}

/* Spins `iters` (call-free), then, in the same asm block, reads the
 * control words and divides 1 and -1 by 3 with SSE and x87. */
static __attribute__((noinline)) void spin_and_probe(uint64_t iters, struct result *r) {
    static const float one = 1.0f, minus_one = -1.0f, three = 3.0f;
    __asm__ volatile(
        "mov %[iters], %%rcx\n\t"
        "1: dec %%rcx\n\t"
        "jnz 1b\n\t"
        "stmxcsr %[mxcsr]\n\t"
        "fnstcw %[cw]\n\t"
        "movss %[one], %%xmm0\n\t"
        "divss %[three], %%xmm0\n\t"
        "movss %%xmm0, %[fpos]\n\t"
        "movss %[mone], %%xmm0\n\t"
        "divss %[three], %%xmm0\n\t"
        "movss %%xmm0, %[fneg]\n\t"
        "flds %[one]\n\t"
        "fdivs %[three]\n\t"
        "fstpt %[xpos]\n\t"
        "flds %[mone]\n\t"
        "fdivs %[three]\n\t"
        "fstpt %[xneg]\n\t"
        : [mxcsr] "=m"(r->mxcsr), [cw] "=m"(r->fpucw), [fpos] "=m"(r->fsum_pos), [fneg] "=m"(r->fsum_neg),
          [xpos] "=m"(r->x87_pos), [xneg] "=m"(r->x87_neg)
        : [iters] "r"(iters), [one] "m"(one), [mone] "m"(minus_one), [three] "m"(three)
        : "rcx", "xmm0", "st", "memory", "cc");
    r->mxcsr &= ~MXCSR_FLAGS;
}

static void print_result(const char *label, const struct result *r) {
    fprintf(stderr, "  %s: mxcsr %#06x fpucw %#06x sse 1/3 %08x -1/3 %08x x87 1/3 ", label, r->mxcsr, r->fpucw,
            r->fsum_pos, r->fsum_neg);
    for (int i = 9; i >= 0; i--) fprintf(stderr, "%02x", r->x87_pos[i]);
    fprintf(stderr, " -1/3 ");
    for (int i = 9; i >= 0; i--) fprintf(stderr, "%02x", r->x87_neg[i]);
    fprintf(stderr, "\n");
}

static int same(const struct result *a, const struct result *b) {
    return a->mxcsr == b->mxcsr && a->fpucw == b->fpucw && a->fsum_pos == b->fsum_pos &&
           a->fsum_neg == b->fsum_neg && memcmp(a->x87_pos, b->x87_pos, 10) == 0 &&
           memcmp(a->x87_neg, b->x87_neg, 10) == 0;
}

static void worker(void *arg) {
    int id = (int)(intptr_t)arg;
    set_mode(&modes[id]);
    uint64_t iters = iters_per_ms * ROUND_CPU_MS;
    for (uint64_t round = 0; !atomic_load(&stop_all); round++) {
        struct result r;
        memset(&r, 0, sizeof r);
        spin_and_probe(iters, &r);
        if (!same(&r, &expected[id])) {
            fprintf(stderr, "goroutine %d round %" PRIu64 ": floating-point state changed\n", id, round);
            print_result("expected", &expected[id]);
            print_result("got     ", &r);
            abort();
        }
        atomic_fetch_add(&checks, 1);
        if (round % 2 == 1) gort_yield(); /* a cooperative switch, maybe to another thread */
    }
}

static int64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(void) {
    gt_watchdog(80);
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep what was printed if a check aborts */
    struct mode dflt;
    __asm__ volatile("stmxcsr %0" : "=m"(dflt.mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(dflt.fpucw));

    /* calibrate the spin in CPU time */
    struct result r;
    uint64_t best = 0;
    for (int i = 0; i < 5; i++) {
        int64_t c0 = thread_cpu_ns();
        spin_and_probe(20000000, &r);
        int64_t c = thread_cpu_ns() - c0;
        uint64_t rate = c > 0 ? 20000000ull * 1000000 / (uint64_t)c : 0;
        if (rate > best) best = rate;
    }
    iters_per_ms = best ? best : 1000000;

    /* what each mode gives, computed here on the main thread */
    for (int i = 0; i < WORKERS; i++) {
        modes[i] = mode_for(i);
        set_mode(&modes[i]);
        spin_and_probe(1, &expected[i]);
        set_mode(&dflt);
        CHECK_EQ(expected[i].mxcsr, modes[i].mxcsr);
        CHECK_EQ(expected[i].fpucw, modes[i].fpucw);
    }
    /* the check can fail: each goroutine's mode gives different quotients
     * from every other goroutine's (SSE rounding differs between ids that
     * differ mod 4; the x87 pair differs for every pair of ids) */
    for (int i = 0; i < WORKERS; i++)
        for (int j = 0; j < WORKERS; j++) {
            if (i == j) continue;
            int sse_differs = expected[i].fsum_pos != expected[j].fsum_pos || expected[i].fsum_neg != expected[j].fsum_neg;
            int x87_differs = memcmp(expected[i].x87_pos, expected[j].x87_pos, 10) != 0 ||
                              memcmp(expected[i].x87_neg, expected[j].x87_neg, 10) != 0;
            CHECK(i % 4 == j % 4 || sse_differs);
            if (!x87_differs) {
                fprintf(stderr, "modes of goroutines %d and %d give the same x87 quotients\n", i, j);
                print_result("i", &expected[i]);
                print_result("j", &expected[j]);
                abort();
            }
        }

    gort_stats s0 = pt_stats();
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    for (intptr_t i = 0; i < WORKERS; i++) ct_go_wg(&wg, worker, (void *)i);
    pt_wait_preemptions(&s0, TARGET_PREEMPTIONS, MAX_RUN_MS);
    atomic_store(&stop_all, 1);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    gort_stats s1 = pt_stats();
    uint64_t preempts = s1.preempt_async - s0.preempt_async;
    printf("%llu rounds of %d ms CPU checked, all modes intact; preemptions: async %" PRIu64 " signals %" PRIu64
           " unsafe %" PRIu64 "\n",
           (unsigned long long)atomic_load(&checks), ROUND_CPU_MS, preempts, s1.preempt_signals - s0.preempt_signals,
           s1.preempt_unsafe - s0.preempt_unsafe);
    CHECK(atomic_load(&checks) >= 8 * WORKERS);
    CHECK(preempts >= 100);
    return 0;
}
#endif
