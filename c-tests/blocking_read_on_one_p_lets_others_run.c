// With one P, a goroutine blocked in read() on an empty pipe does not stop
// the others: a call-free ticker keeps counting all through the ~1 s block,
// first with the read unmarked (sysmon sees the thread blocked in the
// kernel and takes its P without a signal: the handoffs stat grows), then
// with the read wrapped in gort_blocking_begin/end (the P is handed over at
// once). Then the main thread writes to the pipe: the reader gets exactly
// the bytes written, returns into the runtime and runs on, although the
// ticker still holds the only P (it is preempted for the reader).
//
// "Keeps counting" is judged by the ticker's counter moving over the block
// and by its thread's state sampled every 5 ms: runnable (R) in most
// samples of every 100 ms window but the first. A machine too busy to run
// the thread leaves it R; a runtime that parked it shows S.
// env: GORTMAXPROCS=1 GORTDEBUG=preemptms=1
// env: GORTMAXPROCS=1 GORTDEBUG=preemptms=2
// env: GORTMAXPROCS=1
// timeout: 60
#include "preempt_test_util.h"

#include <sched.h>

#define BLOCK_MS 1000
#define WINDOW_MS 100

static struct pt_counter ticks;
static atomic_int stop_ticker;
static struct pt_hog ticker = {.counter = &ticks, .stop = &stop_ticker};

struct reader {
    int fd, marked;
    atomic_int reading, got, continued;
    char buf[64];
    ssize_t n;
    int err;
};

static void reader_main(void *arg) {
    struct reader *r = arg;
    atomic_store(&r->reading, 1);
    if (r->marked) gort_blocking_begin();
    r->n = read(r->fd, r->buf, sizeof r->buf);
    r->err = r->n < 0 ? ct_errno() : 0;
    if (r->marked) gort_blocking_end();
    atomic_store(&r->got, 1);
    /* back in the runtime: needs the P, which the ticker holds */
    CHECK_EQ(gort_sleep(CT_MS(1)), 0);
    gort_yield();
    atomic_store(&r->continued, 1);
}

static void run(int marked) {
    const char *how = marked ? "marked read" : "unmarked read";
    int fds[2];
    CHECK_EQ(pipe(fds), 0);
    struct reader r = {.fd = fds[0], .marked = marked};
    gort_stats s0 = pt_stats();
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    ct_go_wg(&wg, reader_main, &r);
    CHECK_WITHIN_MS(5000, atomic_load(&r.reading));
    pt_thread_sleep_ms(20); /* into the kernel by now */

    /* The ticker must run all through the block. Every 5 ms the main
     * thread looks at the ticker's thread: R (running, or runnable and
     * only waiting for a CPU the machine is busy with) is fine; S means the
     * runtime has it parked, waiting for the P. A window with mostly S
     * samples is a stall; the first may be one (the unmarked read's P is
     * taken after sysmon sees the thread blocked). */
    int windows = BLOCK_MS / WINDOW_MS, stalled = 0;
    uint64_t first = pt_count(&ticks), prev = first, delta[BLOCK_MS / WINDOW_MS];
    int parked[BLOCK_MS / WINDOW_MS], samples[BLOCK_MS / WINDOW_MS], pinned_waiting[BLOCK_MS / WINDOW_MS];
    int64_t cpu_delta[BLOCK_MS / WINDOW_MS], cpu_prev = pt_hog_cpu_ns(&ticker);
    for (int w = 0; w < windows; w++) {
        parked[w] = samples[w] = pinned_waiting[w] = 0;
        int64_t end_at = gt_now_ns() + CT_MS(WINDOW_MS), c_last = pt_hog_cpu_ns(&ticker);
        while (gt_now_ns() < end_at) {
            pt_thread_sleep_ms(5);
            char st = pt_thread_state(ticker.tid);
            int64_t c = pt_hog_cpu_ns(&ticker);
            samples[w]++;
            if (st != 'R') parked[w]++;
            /* diagnostics: runnable, not running, and allowed on one CPU only */
            cpu_set_t set;
            if (st == 'R' && c == c_last && sched_getaffinity((pid_t)ticker.tid, sizeof set, &set) == 0 &&
                CPU_COUNT(&set) == 1)
                pinned_waiting[w]++;
            c_last = c;
        }
        uint64_t now = pt_count(&ticks);
        int64_t cpu_now = pt_hog_cpu_ns(&ticker);
        delta[w] = now - prev;
        cpu_delta[w] = cpu_now - cpu_prev;
        if (2 * parked[w] > samples[w]) stalled++;
        prev = now;
        cpu_prev = cpu_now;
    }
    gort_stats s1 = pt_stats();
    CHECK_EQ(atomic_load(&r.got), 0); /* still blocked: nothing was written */
    printf("%s: ticker +%" PRIu64 " during the %d ms block, kept parked by the runtime in %d of %d windows of "
           "%d ms; handoffs +%" PRIu64 "\n",
           how, prev - first, BLOCK_MS, stalled, windows, WINDOW_MS, s1.handoffs - s0.handoffs);
    printf("  ticker per window (iterations, ms of CPU, samples not R/samples, samples R but not running and pinned "
           "to one CPU):");
    for (int w = 0; w < windows; w++)
        printf(" %" PRIu64 ",%.0f,%d/%d,%d", delta[w], cpu_delta[w] / 1e6, parked[w], samples[w], pinned_waiting[w]);
    printf("\n");
    CHECK(prev > first);
    CHECK(stalled <= 1);
    if (!marked) CHECK(s1.handoffs > s0.handoffs);

    static const char msg[] = "wake up, reader";
    CHECK_EQ(write(fds[1], msg, sizeof msg), (ssize_t)sizeof msg);
    int64_t t0 = gt_now_ns();
    CHECK_WITHIN_MS(3000, atomic_load(&r.got));
    int64_t t_got = gt_now_ns() - t0;
    CHECK_WITHIN_MS(3000, atomic_load(&r.continued));
    int64_t t_cont = gt_now_ns() - t0;
    CHECK_EQ(gort_wg_wait(&wg), 0);
    CHECK_EQ(r.n, (ssize_t)sizeof msg);
    CHECK_EQ(r.err, 0);
    CHECK(memcmp(r.buf, msg, sizeof msg) == 0);
    printf("%s: reader got the data %.2f ms after the write and ran on in the runtime after %.2f ms\n", how,
           t_got / 1e6, t_cont / 1e6);
    close(fds[0]);
    close(fds[1]);
}

int main(void) {
    gt_watchdog(50);
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep what was printed if a check aborts */
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    CHECK_EQ(pt_stats().maxprocs, 1);
    ct_go_wg(&wg, pt_hog_main, &ticker);
    CHECK_WITHIN_MS(5000, pt_count(&ticks) > 0);
    run(0);
    run(1);
    atomic_store(&stop_ticker, 1);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    return 0;
}
