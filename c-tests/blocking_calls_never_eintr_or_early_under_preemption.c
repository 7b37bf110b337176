// Blocking system calls made in goroutines never fail with EINTR and never
// return before their timeout, although the call-free hogs beside them are
// preempted by signal every slice: nanosleep, usleep, poll (on a pipe with
// no data), epoll_wait, select and timed futex waits (FUTEX_WAIT on a word
// that never changes), both unmarked and wrapped in gort_blocking_begin/end.
// Preemption signals come from each worker's CPU-time timer (a blocked
// thread burns no CPU, so it gets none) and from on-demand requests, which
// are only sent to threads seen running; Ps of blocked threads are taken
// without a signal. Prints how many calls and preemptions happened.
//
// The check is real: before the runtime starts, a plain thread makes each
// of the six calls with a 5 s timeout and is interrupted by a SIGUSR1
// handler installed without SA_RESTART; the same code must see every one
// of them as EINTR and as early.
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=1
// env: GORTMAXPROCS=1 GORTDEBUG=preemptms=1
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=2
// timeout: 60
#include "preempt_test_util.h"

#include <linux/futex.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <signal.h>

#define HOGS 4
#define BLOCKERS 12
#define RUN_MS 3000

enum { C_NANOSLEEP, C_USLEEP, C_POLL, C_EPOLL, C_SELECT, C_FUTEX, NCALLS };
static const char *call_name[NCALLS] = {"nanosleep", "usleep", "poll", "epoll_wait", "select", "futex_wait"};

static atomic_ullong calls[NCALLS][2], eintrs[NCALLS][2], earlies[NCALLS][2], others[NCALLS][2];
static atomic_llong worst_early[NCALLS][2];
static int pipefd[2], epfd;
static atomic_int stop_blockers;

static long futex_wait(atomic_int *word, int val, const struct timespec *rel) {
    return syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, rel, NULL, 0);
}

/* One call of kind c with timeout_ns (rounded to what the call can express;
 * the rounded value is the one checked). Returns the timeout used and sets
 * *res (the call's return value) and *err (errno right after it). */
static int64_t one_call(int c, int64_t timeout_ns, long *res, int *err) {
    static _Thread_local atomic_int word; /* never changes */
    switch (c) {
    case C_NANOSLEEP: {
        struct timespec ts = {timeout_ns / 1000000000, timeout_ns % 1000000000};
        *res = nanosleep(&ts, NULL);
        break;
    }
    case C_USLEEP:
        timeout_ns = timeout_ns / 1000 * 1000;
        *res = usleep((useconds_t)(timeout_ns / 1000));
        break;
    case C_POLL: {
        timeout_ns = (timeout_ns / 1000000 + 1) * 1000000;
        struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
        *res = poll(&p, 1, (int)(timeout_ns / 1000000));
        break;
    }
    case C_EPOLL: {
        timeout_ns = (timeout_ns / 1000000 + 1) * 1000000;
        struct epoll_event ev;
        *res = epoll_wait(epfd, &ev, 1, (int)(timeout_ns / 1000000));
        break;
    }
    case C_SELECT: {
        timeout_ns = timeout_ns / 1000 * 1000;
        fd_set r;
        FD_ZERO(&r);
        FD_SET(pipefd[0], &r);
        struct timeval tv = {timeout_ns / 1000000000, timeout_ns % 1000000000 / 1000};
        *res = select(pipefd[0] + 1, &r, NULL, NULL, &tv);
        break;
    }
    default: {
        struct timespec ts = {timeout_ns / 1000000000, timeout_ns % 1000000000};
        *res = futex_wait(&word, 0, &ts);
        break;
    }
    }
    *err = *res == -1 ? ct_errno() : 0;
    return timeout_ns;
}

static void blocker(void *arg) {
    int id = (int)(intptr_t)arg;
    uint64_t seed = (uint64_t)id * 2654435761u + 17;
    for (uint64_t i = 0; !atomic_load(&stop_blockers); i++) {
        int c = (int)((i + (uint64_t)id) % NCALLS);
        int marked = (int)((i / NCALLS + (uint64_t)id) % 2);
        int64_t want = 100000 + (int64_t)(ct_rand(&seed) % 2900000); /* 0.1 .. 3 ms */
        long res;
        int err;
        int64_t t0 = gt_now_ns();
        if (marked) gort_blocking_begin();
        want = one_call(c, want, &res, &err);
        int64_t elapsed = gt_now_ns() - t0;
        if (marked) gort_blocking_end();
        atomic_fetch_add(&calls[c][marked], 1);
        if (res == -1 && err == EINTR) {
            atomic_fetch_add(&eintrs[c][marked], 1);
        } else {
            int ok = c == C_FUTEX ? res == -1 && err == ETIMEDOUT : res == 0;
            if (!ok) {
                atomic_fetch_add(&others[c][marked], 1);
                fprintf(stderr, "%s (%s): returned %ld errno %d\n", call_name[c], marked ? "marked" : "unmarked", res,
                        err);
            }
        }
        if (elapsed < want) {
            atomic_fetch_add(&earlies[c][marked], 1);
            if (want - elapsed > atomic_load(&worst_early[c][marked])) atomic_store(&worst_early[c][marked], want - elapsed);
        }
    }
}

/* Self-check: each call interrupted by a signal is seen as EINTR. */
static atomic_int selfcheck_call = -1, selfcheck_done = -1;
static long selfcheck_res[NCALLS];
static int selfcheck_err[NCALLS];
static int64_t selfcheck_elapsed[NCALLS], selfcheck_want[NCALLS];

static void on_usr1(int sig) { (void)sig; }

static void *selfcheck_thread(void *arg) {
    (void)arg;
    for (int c = 0; c < NCALLS; c++) {
        atomic_store(&selfcheck_call, c);
        int64_t t0 = gt_now_ns();
        selfcheck_want[c] = one_call(c, CT_MS(5000) - 1, &selfcheck_res[c], &selfcheck_err[c]);
        selfcheck_elapsed[c] = gt_now_ns() - t0;
        atomic_store(&selfcheck_done, c);
    }
    return NULL;
}

static void eintr_selfcheck(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
    pthread_t t = ct_thread(selfcheck_thread, NULL);
    for (int c = 0; c < NCALLS; c++) {
        CHECK_WITHIN_MS(5000, atomic_load(&selfcheck_call) >= c);
        /* keep poking until it returns: it must be inside the call at one poke */
        while (atomic_load(&selfcheck_done) < c) {
            usleep(20000);
            pthread_kill(t, SIGUSR1);
        }
    }
    ct_join(t);
    for (int c = 0; c < NCALLS; c++) {
        int seen_eintr = selfcheck_res[c] == -1 && selfcheck_err[c] == EINTR;
        int seen_early = selfcheck_elapsed[c] < selfcheck_want[c];
        if (!seen_eintr || !seen_early) {
            fprintf(stderr, "self-check: interrupted %s returned %ld errno %d after %.1f ms: not seen as EINTR+early\n",
                    call_name[c], selfcheck_res[c], selfcheck_err[c], selfcheck_elapsed[c] / 1e6);
            abort();
        }
    }
    printf("self-check: all %d calls, interrupted on a plain thread, were seen as EINTR and early\n", NCALLS);
    sa.sa_handler = SIG_DFL;
    CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
}

static struct pt_counter hog_counters[HOGS];
static struct pt_hog hogs[HOGS];
static atomic_int stop_hogs;

int main(void) {
    gt_watchdog(50);
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep what was printed if a check aborts */
    CHECK_EQ(pipe(pipefd), 0);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    CHECK(epfd >= 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = pipefd[0]};
    CHECK_EQ(epoll_ctl(epfd, EPOLL_CTL_ADD, pipefd[0], &ev), 0);
    eintr_selfcheck(); /* before the runtime starts */

    gort_stats s0 = pt_stats();
    gort_waitgroup wg = GORT_WAITGROUP_INIT, hwg = GORT_WAITGROUP_INIT;
    for (int i = 0; i < HOGS; i++) {
        hogs[i] = (struct pt_hog){.counter = &hog_counters[i], .stop = &stop_hogs};
        ct_go_wg(&hwg, pt_hog_main, &hogs[i]);
    }
    for (intptr_t i = 0; i < BLOCKERS; i++) ct_go_wg(&wg, blocker, (void *)i);
    pt_thread_sleep_ms(RUN_MS);
    atomic_store(&stop_blockers, 1);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    gort_stats s1 = pt_stats();
    atomic_store(&stop_hogs, 1);
    CHECK_EQ(gort_wg_wait(&hwg), 0);

    uint64_t total = 0, total_eintr = 0, total_early = 0, total_other = 0;
    printf("%-11s %-9s %8s %6s %6s %6s\n", "call", "marking", "calls", "EINTR", "early", "other");
    for (int c = 0; c < NCALLS; c++)
        for (int m = 0; m < 2; m++) {
            uint64_t n = atomic_load(&calls[c][m]), e = atomic_load(&eintrs[c][m]), y = atomic_load(&earlies[c][m]),
                     o = atomic_load(&others[c][m]);
            printf("%-11s %-9s %8" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64, call_name[c],
                   m ? "marked" : "unmarked", n, e, y, o);
            if (y) printf("  (worst %.3f ms early)", atomic_load(&worst_early[c][m]) / 1e6);
            printf("\n");
            total += n;
            total_eintr += e;
            total_early += y;
            total_other += o;
        }
    uint64_t preempts = s1.preempt_async - s0.preempt_async;
    printf("%" PRIu64 " blocking calls, %" PRIu64 " EINTR, %" PRIu64 " early, %" PRIu64
           " unexpected results; beside %" PRIu64 " asynchronous preemptions (%" PRIu64 " signals, %" PRIu64
           " handoffs)\n",
           total, total_eintr, total_early, total_other, preempts, s1.preempt_signals - s0.preempt_signals,
           s1.handoffs - s0.handoffs);
    CHECK_EQ(total_eintr, 0);
    CHECK_EQ(total_early, 0);
    CHECK_EQ(total_other, 0);
    for (int c = 0; c < NCALLS; c++)
        for (int m = 0; m < 2; m++) CHECK(atomic_load(&calls[c][m]) > 0);
    CHECK(preempts >= 100);
    return 0;
}
