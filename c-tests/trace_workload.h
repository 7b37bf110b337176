/* A known workload for the GORTTRACE tests, and a way to trace it: the test
 * runs itself as a child with GORTTRACE=<tmp>/trace.json, GORTMAXPROCS=2 and
 * GORTDEBUG=preemptms=1. The child runs
 *   - two call-free hogs, "hog-0" and "hog-1" (so async preemptions happen),
 *   - two ping-pong pairs, "ping-0"/"pong-0" and "ping-1"/"pong-1", over
 *     unbuffered channels (enough round trips to fill trace buffers),
 *   - "sleeper", which sleeps inside gort_blocking_begin/end a few times,
 *   - 20 goroutines named "from-thread", each spawned by its own short-lived
 *     plain thread,
 *   - one gort_stop_the_world / gort_start_the_world from main,
 * then calls exit(0) from main (or, with TW_EXIT_FROM=goroutine in the
 * test's environment, from a goroutine) while the hogs still run: the trace
 * must be complete anyway. With TW_END=abort the child calls abort()
 * instead, with TW_END=segv a goroutine dereferences a null pointer: the
 * trace must still parse and hold what was recorded.
 */
#ifndef TRACE_WORKLOAD_H
#define TRACE_WORKLOAD_H

#include "child_process.h"

#include <stdatomic.h>
#include <sys/resource.h>

#define TW_ROUND_TRIPS 10000

static gort_waitgroup tw_wg;

static void tw_hog(void *arg) {
    (void)arg;
    volatile uint64_t n = 0;
    for (;;) n++;
}

typedef struct tw_pair {
    gort_chan *to, *from;
} tw_pair;

static void tw_ping(void *arg) {
    tw_pair *p = arg;
    for (int64_t i = 0; i < TW_ROUND_TRIPS; i++) {
        int64_t r;
        CHECK_EQ(gort_chan_send(p->to, &i), 0);
        CHECK_EQ(gort_chan_recv(p->from, &r), 0);
        CHECK_EQ(r, i);
    }
    CHECK_EQ(gort_wg_done(&tw_wg), 0);
}

static void tw_pong(void *arg) {
    tw_pair *p = arg;
    for (int64_t i = 0; i < TW_ROUND_TRIPS; i++) {
        int64_t v;
        CHECK_EQ(gort_chan_recv(p->from, &v), 0);
        CHECK_EQ(gort_chan_send(p->to, &v), 0);
    }
    CHECK_EQ(gort_wg_done(&tw_wg), 0);
}

static void tw_sleeper(void *arg) {
    (void)arg;
    for (int i = 0; i < 5; i++) {
        gort_blocking_begin();
        usleep(10000);
        gort_blocking_end();
        CHECK_EQ(gort_sleep(5000000), 0);
    }
    CHECK_EQ(gort_wg_done(&tw_wg), 0);
}

static void tw_go(gort_func fn, void *arg, const char *name) {
    gort_attr a = {0, name};
    CHECK_EQ(gort_go_attr(fn, arg, &a), 0);
}

static void tw_short(void *arg) {
    (void)arg;
    CHECK_EQ(gort_wg_done(&tw_wg), 0);
}

/* A short-lived plain thread: traces from threads that hold no P (and,
 * as threads come and go, from reused thread ids). */
static void *tw_thread(void *arg) {
    (void)arg;
    tw_go(tw_short, NULL, "from-thread");
    return NULL;
}

static void tw_exit_now(void *arg) {
    (void)arg;
    exit(0); /* from a goroutine: atexit handlers run on its stack */
}

static void tw_segv_now(void *arg) {
    (void)arg;
    *(volatile int *)(uintptr_t)arg = 1; /* arg is NULL: SIGSEGV on a goroutine */
}

/* The child: runs the workload and exits with hogs running, from main or
 * (TW_EXIT_FROM=goroutine) from a goroutine. */
static inline int tw_child(void) {
    static tw_pair pairs[4];
    for (int k = 0; k < 2; k++) {
        gort_chan *a = gort_chan_make(sizeof(int64_t), 0), *b = gort_chan_make(sizeof(int64_t), 0);
        CHECK(a && b);
        pairs[2 * k] = (tw_pair){a, b};     /* ping: sends on a, receives on b */
        pairs[2 * k + 1] = (tw_pair){b, a}; /* pong: receives on a, sends on b */
    }
    tw_go(tw_hog, NULL, "hog-0");
    tw_go(tw_hog, NULL, "hog-1");
    CHECK_EQ(gort_wg_add(&tw_wg, 5), 0);
    tw_go(tw_ping, &pairs[0], "ping-0");
    tw_go(tw_pong, &pairs[1], "pong-0");
    tw_go(tw_ping, &pairs[2], "ping-1");
    tw_go(tw_pong, &pairs[3], "pong-1");
    tw_go(tw_sleeper, NULL, "sleeper");
    for (int i = 0; i < 20; i++) {
        pthread_t t;
        CHECK_EQ(gort_wg_add(&tw_wg, 1), 0);
        CHECK_EQ(pthread_create(&t, NULL, tw_thread, NULL), 0);
        CHECK_EQ(pthread_join(t, NULL), 0);
    }
    usleep(50000);
    CHECK_EQ(gort_stop_the_world(), 0);
    usleep(2000);
    CHECK_EQ(gort_start_the_world(), 0);
    CHECK_EQ(gort_wg_wait(&tw_wg), 0);
    /* Make sure preemption signals had time to stop the hogs a few times. */
    gort_stats st;
    int64_t deadline = gt_now_ns() + 5000000000LL;
    do {
        usleep(10000);
        CHECK_EQ(gort_read_stats(&st), 0);
    } while (st.preempt_async < 5 && gt_now_ns() < deadline);
    printf("child ok: preempt_async=%llu preempt_coop=%llu preempt_signals=%llu preempt_unsafe=%llu stw=%llu\n",
           (unsigned long long)st.preempt_async, (unsigned long long)st.preempt_coop,
           (unsigned long long)st.preempt_signals, (unsigned long long)st.preempt_unsafe,
           (unsigned long long)st.stw_count);
    fflush(stdout);
    const char *end = getenv("TW_END");
    if (end && strcmp(end, "exit") != 0) {
        struct rlimit no_core = {0, 0}; /* the crash is the test's: no core file */
        CHECK_EQ(setrlimit(RLIMIT_CORE, &no_core), 0);
    }
    if (end && strcmp(end, "abort") == 0) abort();
    if (end && strcmp(end, "segv") == 0) {
        tw_go(tw_segv_now, NULL, "crasher");
        for (;;) pause();
    }
    const char *from = getenv("TW_EXIT_FROM");
    if (from && strcmp(from, "goroutine") == 0) {
        tw_go(tw_exit_now, NULL, "exiter");
        for (;;) pause();
    }
    exit(0); /* hogs still running: the atexit flush must complete the trace */
}

/* Traces the workload into <dir>/trace.json, the child ending as `end`
 * says (TW_END: NULL or "exit", "abort", "segv"); returns the trace's path.
 * The child must exit 0, or die of the signal its ending raises. */
static inline const char *tw_make_trace_ending(const char *dir, const char *end) {
    static char path[PATH_MAX], env_trace[PATH_MAX + 16], env_end[64];
    snprintf(path, sizeof path, "%s/trace.json", dir);
    snprintf(env_trace, sizeof env_trace, "GORTTRACE=%s", path);
    snprintf(env_end, sizeof env_end, "TW_END=%s", end ? end : "exit");
    const char *env[] = {env_trace, "GORTMAXPROCS=2", "GORTDEBUG=preemptms=1", env_end, NULL};
    gt_child c;
    gt_run_self("child", env, 60, &c);
    int sig = !end || strcmp(end, "exit") == 0 ? 0 : strcmp(end, "abort") == 0 ? SIGABRT : SIGSEGV;
    int ended_right = sig == 0 ? gt_child_exited_ok(&c) : WIFSIGNALED(c.status) && WTERMSIG(c.status) == sig;
    if (!ended_right || !strstr(c.out, "child ok")) {
        gt_child_dump("traced child", &c);
        fprintf(stderr, "want the child to end with %s\n", sig ? strsignal(sig) : "exit status 0");
        abort();
    }
    printf("%s", c.out);
    gt_child_free(&c);
    return path;
}

/* Traces the workload into <dir>/trace.json; returns the trace's path. */
static inline const char *tw_make_trace(const char *dir) { return tw_make_trace_ending(dir, NULL); }

/* Runs python3 with `args` (NULL-terminated); fails the test unless it exits 0. */
static inline void tw_python(const char *const args[]) {
    const char *argv[32] = {"python3"};
    int n = 1;
    for (const char *const *a = args; *a && n < 31; a++) argv[n++] = *a;
    argv[n] = NULL;
    gt_child c;
    gt_run(argv, NULL, 120, &c);
    if (!gt_child_exited_ok(&c)) {
        gt_child_dump(args[0], &c);
        abort();
    }
    printf("%s", c.out);
    gt_child_free(&c);
}

#endif
