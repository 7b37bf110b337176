// A goroutine's errno is its own across asynchronous preemption: 8
// goroutines on 2 Ps each set errno to their own value (new every round),
// spin call-free long enough to be preempted several times (the handler
// that parks them makes futex calls, which set errno on its thread), and
// read errno back: unchanged. Then across runtime calls (gort_yield,
// gort_sleep, channel operations, which may move the goroutine to another
// thread): unchanged too, as the C API promises. Runs until the runtime has
// made 2000 asynchronous preemptions (at most 8 s; at least 100 required).
//
// The check is real: errno is read through a fresh __errno_location() each
// time (ct_errno), and each goroutine first shows that a failing close(-1)
// is seen there as EBADF, so a changed errno cannot go unnoticed.
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=1
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=2
// timeout: 60
#include "preempt_test_util.h"

#define WORKERS 8
#define TARGET_PREEMPTIONS 2000
#define MAX_RUN_MS 8000
#define SPIN_ITERS 60000000ull /* ~20-30 ms of CPU: several ticks */

static atomic_int stop_all;
static atomic_ullong checks;
static gort_chan *ch, *empty; /* empty: nobody ever sends on it */

static __attribute__((noinline)) void spin(uint64_t n) {
    for (uint64_t i = 0; i < n; i++) __asm__ volatile("" ::: "memory"); /* call-free */
}

static void expect_errno(int want, int id, uint64_t round, const char *after) {
    int got = ct_errno();
    if (got != want) {
        fprintf(stderr, "goroutine %d round %" PRIu64 ": errno %d after %s, expected %d\n", id, round, got, after,
                want);
        abort();
    }
}

static void worker(void *arg) {
    int id = (int)(intptr_t)arg;
    /* the reader sees real changes */
    ct_set_errno(4242);
    CHECK_EQ(close(-1), -1);
    CHECK_EQ(ct_errno(), EBADF);
    for (uint64_t round = 0; !atomic_load(&stop_all); round++) {
        int v = 10000 + id * 1000 + (int)(round % 1000);
        ct_set_errno(v);
        spin(SPIN_ITERS);
        expect_errno(v, id, round, "a call-free spin (asynchronous preemption)");
        switch (round % 4) {
        case 0: gort_yield(); break;
        case 1: CHECK_EQ(gort_sleep(1000), 0); break;
        case 2: {
            int64_t x = v;
            CHECK_EQ(gort_chan_send(ch, &x), 0);
            CHECK_EQ(gort_chan_recv(ch, &x), 0);
            break;
        }
        default: CHECK_EQ(gort_chan_try_recv(empty, NULL), EAGAIN); break;
        }
        expect_errno(v, id, round, "a runtime call");
        atomic_fetch_add(&checks, 2);
    }
}

int main(void) {
    gt_watchdog(50);
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep what was printed if a check aborts */
    /* buffered, one slot per goroutine: send then receive never blocks for
     * long (another goroutine may take our value, and we theirs) */
    ch = ct_chan(sizeof(int64_t), WORKERS);
    empty = ct_chan(sizeof(int64_t), 0);
    gort_stats s0 = pt_stats();
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    for (intptr_t i = 0; i < WORKERS; i++) ct_go_wg(&wg, worker, (void *)i);
    pt_wait_preemptions(&s0, TARGET_PREEMPTIONS, MAX_RUN_MS);
    atomic_store(&stop_all, 1);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    gort_stats s1 = pt_stats();
    uint64_t preempts = s1.preempt_async - s0.preempt_async;
    printf("%llu errno checks passed; preemptions: async %" PRIu64 " signals %" PRIu64 " unsafe %" PRIu64
           " coop %" PRIu64 "\n",
           (unsigned long long)atomic_load(&checks), preempts, s1.preempt_signals - s0.preempt_signals,
           s1.preempt_unsafe - s0.preempt_unsafe, s1.preempt_coop - s0.preempt_coop);
    CHECK(preempts >= 100);
    gort_chan_release(ch);
    gort_chan_release(empty);
    return 0;
}
