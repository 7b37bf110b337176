// Registers survive asynchronous preemption: goroutines load known patterns
// into every SSE register (xmm0-15), every AVX register (ymm0-15, upper
// halves included), every AVX-512 register (zmm0-31, opmasks k1-7) and the
// general-purpose registers r8-r15, then spin in a counted loop inside the
// same asm block (no call, nothing touches them) long enough to be preempted
// several times, and store the registers back for comparison. 6 goroutines
// on 2 Ps, short slices, many rounds: until the runtime has made 2000
// asynchronous preemptions (at most 8 s; at least 100 are required).
//
// The check is shown to be real: each goroutine also runs rounds in which
// the asm deliberately overwrites one register after the spin, and the
// comparison must report exactly that register and nothing else.
// AVX and AVX-512 parts are skipped, with a note, on CPUs without them.
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

#define WORKERS 6
#define TARGET_PREEMPTIONS 2000
#define MAX_RUN_MS 8000
#define ROUND_CPU_NS CT_MS(12) /* spin per round, in CPU time: ~3 ticks */

enum { K_SSE, K_AVX, K_AVX512, NKINDS };
static const char *kind_name[NKINDS] = {"sse (xmm0-15 + r8-r15)", "avx (ymm0-15)", "avx-512 (zmm0-31, k1-7)"};
/* bytes of register state each kind loads and stores */
static const size_t kind_bytes[NKINDS] = {16 * 16 + 8 * 8, 16 * 32, 32 * 64 + 7 * 8};
static const size_t kind_regsize[NKINDS] = {16, 32, 64};
static int have[NKINDS];

static atomic_int stop_all;
static atomic_ullong rounds[NKINDS], canaries_caught;
static uint64_t iters_per_ms; /* calibrated spin speed */

/* Each spin function: load regs from in, spin `iters`, optionally clobber
 * one register (clobber != 0), store regs to out. */
static __attribute__((noinline)) void spin_sse(const uint8_t *in, uint8_t *out, uint64_t iters, uint64_t clobber) {
    __asm__ volatile(
        "movdqu 0(%[in]), %%xmm0\n\t"
        "movdqu 16(%[in]), %%xmm1\n\t"
        "movdqu 32(%[in]), %%xmm2\n\t"
        "movdqu 48(%[in]), %%xmm3\n\t"
        "movdqu 64(%[in]), %%xmm4\n\t"
        "movdqu 80(%[in]), %%xmm5\n\t"
        "movdqu 96(%[in]), %%xmm6\n\t"
        "movdqu 112(%[in]), %%xmm7\n\t"
        "movdqu 128(%[in]), %%xmm8\n\t"
        "movdqu 144(%[in]), %%xmm9\n\t"
        "movdqu 160(%[in]), %%xmm10\n\t"
        "movdqu 176(%[in]), %%xmm11\n\t"
        "movdqu 192(%[in]), %%xmm12\n\t"
        "movdqu 208(%[in]), %%xmm13\n\t"
        "movdqu 224(%[in]), %%xmm14\n\t"
        "movdqu 240(%[in]), %%xmm15\n\t"
        "mov 256(%[in]), %%r8\n\t"
        "mov 264(%[in]), %%r9\n\t"
        "mov 272(%[in]), %%r10\n\t"
        "mov 280(%[in]), %%r11\n\t"
        "mov 288(%[in]), %%r12\n\t"
        "mov 296(%[in]), %%r13\n\t"
        "mov 304(%[in]), %%r14\n\t"
        "mov 312(%[in]), %%r15\n\t"
        "mov %[iters], %%rcx\n\t"
        "1: dec %%rcx\n\t"
        "jnz 1b\n\t"
        "test %[clobber], %[clobber]\n\t"
        "jz 2f\n\t"
        "pcmpeqd %%xmm9, %%xmm9\n\t" /* the deliberate corruption */
        "2:\n\t"
        "movdqu %%xmm0, 0(%[out])\n\t"
        "movdqu %%xmm1, 16(%[out])\n\t"
        "movdqu %%xmm2, 32(%[out])\n\t"
        "movdqu %%xmm3, 48(%[out])\n\t"
        "movdqu %%xmm4, 64(%[out])\n\t"
        "movdqu %%xmm5, 80(%[out])\n\t"
        "movdqu %%xmm6, 96(%[out])\n\t"
        "movdqu %%xmm7, 112(%[out])\n\t"
        "movdqu %%xmm8, 128(%[out])\n\t"
        "movdqu %%xmm9, 144(%[out])\n\t"
        "movdqu %%xmm10, 160(%[out])\n\t"
        "movdqu %%xmm11, 176(%[out])\n\t"
        "movdqu %%xmm12, 192(%[out])\n\t"
        "movdqu %%xmm13, 208(%[out])\n\t"
        "movdqu %%xmm14, 224(%[out])\n\t"
        "movdqu %%xmm15, 240(%[out])\n\t"
        "mov %%r8, 256(%[out])\n\t"
        "mov %%r9, 264(%[out])\n\t"
        "mov %%r10, 272(%[out])\n\t"
        "mov %%r11, 280(%[out])\n\t"
        "mov %%r12, 288(%[out])\n\t"
        "mov %%r13, 296(%[out])\n\t"
        "mov %%r14, 304(%[out])\n\t"
        "mov %%r15, 312(%[out])\n\t"
        :
        : [in] "r"(in), [out] "r"(out), [iters] "r"(iters), [clobber] "r"(clobber)
        : "rcx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
          "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory",
          "cc");
}

static __attribute__((noinline, target("avx"))) void spin_avx(const uint8_t *in, uint8_t *out, uint64_t iters,
                                                              uint64_t clobber) {
    __asm__ volatile(
        "vmovdqu 0(%[in]), %%ymm0\n\t"
        "vmovdqu 32(%[in]), %%ymm1\n\t"
        "vmovdqu 64(%[in]), %%ymm2\n\t"
        "vmovdqu 96(%[in]), %%ymm3\n\t"
        "vmovdqu 128(%[in]), %%ymm4\n\t"
        "vmovdqu 160(%[in]), %%ymm5\n\t"
        "vmovdqu 192(%[in]), %%ymm6\n\t"
        "vmovdqu 224(%[in]), %%ymm7\n\t"
        "vmovdqu 256(%[in]), %%ymm8\n\t"
        "vmovdqu 288(%[in]), %%ymm9\n\t"
        "vmovdqu 320(%[in]), %%ymm10\n\t"
        "vmovdqu 352(%[in]), %%ymm11\n\t"
        "vmovdqu 384(%[in]), %%ymm12\n\t"
        "vmovdqu 416(%[in]), %%ymm13\n\t"
        "vmovdqu 448(%[in]), %%ymm14\n\t"
        "vmovdqu 480(%[in]), %%ymm15\n\t"
        "mov %[iters], %%rcx\n\t"
        "1: dec %%rcx\n\t"
        "jnz 1b\n\t"
        "test %[clobber], %[clobber]\n\t"
        "jz 2f\n\t"
        "vpcmpeqd %%ymm12, %%ymm12, %%ymm12\n\t" /* the deliberate corruption */
        "2:\n\t"
        "vmovdqu %%ymm0, 0(%[out])\n\t"
        "vmovdqu %%ymm1, 32(%[out])\n\t"
        "vmovdqu %%ymm2, 64(%[out])\n\t"
        "vmovdqu %%ymm3, 96(%[out])\n\t"
        "vmovdqu %%ymm4, 128(%[out])\n\t"
        "vmovdqu %%ymm5, 160(%[out])\n\t"
        "vmovdqu %%ymm6, 192(%[out])\n\t"
        "vmovdqu %%ymm7, 224(%[out])\n\t"
        "vmovdqu %%ymm8, 256(%[out])\n\t"
        "vmovdqu %%ymm9, 288(%[out])\n\t"
        "vmovdqu %%ymm10, 320(%[out])\n\t"
        "vmovdqu %%ymm11, 352(%[out])\n\t"
        "vmovdqu %%ymm12, 384(%[out])\n\t"
        "vmovdqu %%ymm13, 416(%[out])\n\t"
        "vmovdqu %%ymm14, 448(%[out])\n\t"
        "vmovdqu %%ymm15, 480(%[out])\n\t"
        "vzeroupper\n\t"
        :
        : [in] "r"(in), [out] "r"(out), [iters] "r"(iters), [clobber] "r"(clobber)
        : "rcx", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");
}

#define Z(i) "vmovdqu64 " #i "*64(%[in]), %%zmm" #i "\n\t"
#define ZO(i) "vmovdqu64 %%zmm" #i ", " #i "*64(%[out])\n\t"
static __attribute__((noinline, target("avx512f"))) void spin_avx512(const uint8_t *in, uint8_t *out, uint64_t iters,
                                                                     uint64_t clobber) {
    __asm__ volatile(
        Z(0) Z(1) Z(2) Z(3) Z(4) Z(5) Z(6) Z(7) Z(8) Z(9) Z(10) Z(11) Z(12) Z(13) Z(14) Z(15)
        Z(16) Z(17) Z(18) Z(19) Z(20) Z(21) Z(22) Z(23) Z(24) Z(25) Z(26) Z(27) Z(28) Z(29) Z(30) Z(31)
        "kmovw 2048(%[in]), %%k1\n\t"
        "kmovw 2056(%[in]), %%k2\n\t"
        "kmovw 2064(%[in]), %%k3\n\t"
        "kmovw 2072(%[in]), %%k4\n\t"
        "kmovw 2080(%[in]), %%k5\n\t"
        "kmovw 2088(%[in]), %%k6\n\t"
        "kmovw 2096(%[in]), %%k7\n\t"
        "mov %[iters], %%rcx\n\t"
        "1: dec %%rcx\n\t"
        "jnz 1b\n\t"
        "test %[clobber], %[clobber]\n\t"
        "jz 2f\n\t"
        "vpternlogd $0xff, %%zmm27, %%zmm27, %%zmm27\n\t" /* the deliberate corruption */
        "2:\n\t"
        ZO(0) ZO(1) ZO(2) ZO(3) ZO(4) ZO(5) ZO(6) ZO(7) ZO(8) ZO(9) ZO(10) ZO(11) ZO(12) ZO(13) ZO(14) ZO(15)
        ZO(16) ZO(17) ZO(18) ZO(19) ZO(20) ZO(21) ZO(22) ZO(23) ZO(24) ZO(25) ZO(26) ZO(27) ZO(28) ZO(29) ZO(30) ZO(31)
        "kmovw %%k1, 2048(%[out])\n\t"
        "kmovw %%k2, 2056(%[out])\n\t"
        "kmovw %%k3, 2064(%[out])\n\t"
        "kmovw %%k4, 2072(%[out])\n\t"
        "kmovw %%k5, 2080(%[out])\n\t"
        "kmovw %%k6, 2088(%[out])\n\t"
        "kmovw %%k7, 2096(%[out])\n\t"
        "vzeroupper\n\t"
        :
        : [in] "r"(in), [out] "r"(out), [iters] "r"(iters), [clobber] "r"(clobber)
        : "rcx", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",
          "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k1", "k2", "k3", "k4", "k5", "k6",
          "k7", "memory", "cc");
}

typedef void (*spin_fn)(const uint8_t *, uint8_t *, uint64_t, uint64_t);
static const spin_fn spin[NKINDS] = {spin_sse, spin_avx, spin_avx512};
/* which register each kind's clobber path overwrites (index in regs) */
static const int clobbered[NKINDS] = {9, 12, 27};

/* Register index of byte offset `off` of a kind's buffer, for reports:
 * vector registers first, then r8-r15 (sse) or k1-k7 (avx-512). */
static void reg_name(int kind, size_t off, char *buf, size_t n) {
    size_t vec = 16 * (kind == K_AVX512 ? 2 : 1) * kind_regsize[kind];
    const char *v = kind == K_SSE ? "xmm" : kind == K_AVX ? "ymm" : "zmm";
    if (off < vec)
        snprintf(buf, n, "%s%d", v, (int)(off / kind_regsize[kind]));
    else if (kind == K_SSE)
        snprintf(buf, n, "r%d", (int)(8 + (off - vec) / 8));
    else
        snprintf(buf, n, "k%d", (int)(1 + (off - vec) / 8));
}

static void make_pattern(uint8_t *buf, int kind, int id, uint64_t round) {
    uint64_t s = ((uint64_t)id << 48) ^ (round << 8) ^ (uint64_t)kind ^ 0xA5A5A5A5DEADBEEFull;
    for (size_t i = 0; i < kind_bytes[kind]; i += 8) {
        uint64_t v = ct_rand(&s);
        memcpy(buf + i, &v, 8);
    }
    if (kind == K_AVX512) {
        /* opmask registers are 16 bits wide with kmovw: zero the rest */
        for (size_t k = 0; k < 7; k++) memset(buf + 2048 + k * 8 + 2, 0, 6);
    }
}

/* Compares; returns the number of differing registers and, if exactly
 * one, its index in *which. Prints each difference when loud. */
static int compare(int kind, const uint8_t *want, const uint8_t *got, int id, uint64_t round, int loud, int *which) {
    int bad = 0;
    size_t vec = 16 * (kind == K_AVX512 ? 2 : 1) * kind_regsize[kind];
    for (size_t off = 0; off < kind_bytes[kind];) {
        size_t sz = off < vec ? kind_regsize[kind] : 8;
        if (memcmp(want + off, got + off, sz) != 0) {
            bad++;
            *which = (int)(off < vec ? off / sz : 100 + (off - vec) / 8);
            if (loud) {
                char name[32];
                reg_name(kind, off, name, sizeof name);
                fprintf(stderr, "goroutine %d round %" PRIu64 " %s: %s changed:", id, round, kind_name[kind], name);
                for (size_t i = 0; i < sz; i += 8) {
                    uint64_t a, b;
                    memcpy(&a, want + off + i, 8);
                    memcpy(&b, got + off + i, 8);
                    fprintf(stderr, " [%zu] %016" PRIx64 "->%016" PRIx64, i / 8, a, b);
                }
                fprintf(stderr, "\n");
            }
        }
        off += sz;
    }
    return bad;
}

static int64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void worker(void *arg) {
    int id = (int)(intptr_t)arg;
    _Alignas(64) uint8_t want[2112], got[2112];
    uint64_t iters = iters_per_ms * (uint64_t)(ROUND_CPU_NS / 1000000);
    for (uint64_t round = 0; !atomic_load(&stop_all); round++) {
        for (int k = 0; k < NKINDS; k++) {
            if (!have[k]) continue;
            /* every 8th round of each goroutine: the deliberate clobber */
            int canary = round % 8 == 3;
            make_pattern(want, k, id, round);
            memset(got, 0x5c, sizeof got);
            spin[k](want, got, iters, (uint64_t)canary);
            if (k == K_AVX512) /* kmovw stored 2 bytes per opmask slot */
                for (size_t m = 0; m < 7; m++) memset(got + 2048 + m * 8 + 2, 0, 6);
            int which = -1;
            int bad = compare(k, want, got, id, round, !canary, &which);
            if (canary) {
                /* exactly the clobbered register, and only it */
                if (bad != 1 || which != clobbered[k]) {
                    fprintf(stderr, "goroutine %d round %" PRIu64 " %s: the deliberate clobber of register %d was "
                                    "reported as %d differing registers (last %d)\n",
                            id, round, kind_name[k], clobbered[k], bad, which);
                    compare(k, want, got, id, round, 1, &which);
                    abort();
                }
                atomic_fetch_add(&canaries_caught, 1);
            } else {
                CHECK_EQ(bad, 0);
                atomic_fetch_add(&rounds[k], 1);
            }
        }
        if (round % 4 == 1) gort_yield(); /* sometimes move threads too */
    }
}

int main(void) {
    gt_watchdog(80);
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep what was printed if a check aborts */
    __builtin_cpu_init();
    have[K_SSE] = 1;
    have[K_AVX] = __builtin_cpu_supports("avx");
    have[K_AVX512] = __builtin_cpu_supports("avx512f");
    for (int k = 1; k < NKINDS; k++)
        if (!have[k]) printf("note: this CPU has no %s: that part is skipped\n", kind_name[k]);

    /* calibrate the spin on this thread, in CPU time (best of a few) */
    _Alignas(64) uint8_t a[2112] = {0}, b[2112];
    uint64_t best = 0;
    for (int i = 0; i < 5; i++) {
        int64_t c0 = thread_cpu_ns();
        spin_sse(a, b, 20000000, 0);
        int64_t c = thread_cpu_ns() - c0;
        uint64_t rate = c > 0 ? 20000000ull * 1000000 / (uint64_t)c : 0;
        if (rate > best) best = rate;
    }
    iters_per_ms = best ? best : 1000000;
    printf("spin: %" PRIu64 " iterations per ms of CPU; %" PRId64 " ms of CPU per round and kind\n", iters_per_ms,
           ROUND_CPU_NS / 1000000);

    gort_stats s0 = pt_stats();
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    for (intptr_t i = 0; i < WORKERS; i++) ct_go_wg(&wg, worker, (void *)i);
    pt_wait_preemptions(&s0, TARGET_PREEMPTIONS, MAX_RUN_MS);
    atomic_store(&stop_all, 1);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    gort_stats s1 = pt_stats();

    uint64_t preempts = s1.preempt_async - s0.preempt_async;
    for (int k = 0; k < NKINDS; k++)
        if (have[k]) printf("%s: %llu rounds intact\n", kind_name[k], (unsigned long long)atomic_load(&rounds[k]));
    printf("deliberate clobbers caught: %llu\n", (unsigned long long)atomic_load(&canaries_caught));
    printf("preemptions during the run: async %" PRIu64 ", signals %" PRIu64 ", unsafe %" PRIu64 "\n", preempts,
           s1.preempt_signals - s0.preempt_signals, s1.preempt_unsafe - s0.preempt_unsafe);
    for (int k = 0; k < NKINDS; k++)
        if (have[k]) CHECK(atomic_load(&rounds[k]) >= WORKERS);
    CHECK(atomic_load(&canaries_caught) >= WORKERS);
    /* nearly all the time is spent spinning with the registers loaded, so
     * nearly every preemption lands on loaded registers */
    CHECK(preempts >= 100);
    return 0;
}
#endif
