// gort_dump names every goroutine with its state and wait reason, and shows
// its stack as the program's own functions with file:line, innermost first,
// then "created by" the function that spawned it: goroutines parked in a
// receive, a send, a select, a sleep, a mutex and a wait group, three
// call-free loops being preempted, and the calling goroutine itself. The
// functions are static and compiled -O2 without frame pointers, so the
// stacks are unwound with DWARF call frame information. Then 10,000 parked
// goroutines are dumped in under 500 ms, and the world runs again after each
// dump: the hogs keep counting and every parked goroutine finishes.
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=2
// timeout: 120
#include "dump_util.h"

/* Compiled -O2 like every test; no frame pointers (clang omits them at -O2
 * already). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("omit-frame-pointer")
#endif

#include <stdatomic.h>

#define NPARKED 10000

static gort_chan *never, *full, *release;
static gort_mutex mu;
static gort_waitgroup wg, done, dumped;
static volatile int sink;
static atomic_long spins[3];
static int line_recv, line_send, line_select, line_sleep, line_lock, line_wait, line_hog, line_spawn, line_dump;

/* Each waits in one way, then reports done. Not inlined into each other,
 * and each does something after its call so the call is not a tail call. */
__attribute__((noinline)) static void recv_deeper(int depth) {
    if (depth > 0) {
        recv_deeper(depth - 1);
        sink++;
        return;
    }
    line_recv = __LINE__ + 1;
    sink = gort_chan_recv(never, NULL);
    sink++;
}

static void receiver(void *arg) {
    (void)arg;
    recv_deeper(2);
    gort_wg_done(&done);
}

static void sender(void *arg) {
    (void)arg;
    int v = 7;
    line_send = __LINE__ + 1;
    sink = gort_chan_send(full, &v);
    gort_wg_done(&done);
}

static void selector(void *arg) {
    (void)arg;
    gort_case cases[2] = {{never, GORT_RECV, NULL, 0}, {NULL, GORT_SEND, NULL, 0}};
    line_select = __LINE__ + 1;
    sink = gort_select(cases, 2, -1);
    gort_wg_done(&done);
}

static void sleeper(void *arg) {
    (void)arg;
    line_sleep = __LINE__ + 1;
    sink = gort_sleep(1000 * 1000000LL);
    gort_wg_done(&done);
}

static void locker(void *arg) {
    (void)arg;
    line_lock = __LINE__ + 1;
    sink = gort_mutex_lock(&mu);
    gort_mutex_unlock(&mu);
    gort_wg_done(&done);
}

static void waiter(void *arg) {
    (void)arg;
    line_wait = __LINE__ + 1;
    sink = gort_wg_wait(&wg);
    gort_wg_done(&done);
}

static void hog(void *arg) {
    atomic_long *n = arg;
    line_hog = __LINE__ + 1;
    for (;;) atomic_fetch_add_explicit(n, 1, memory_order_relaxed);
}

static void parked(void *arg) {
    (void)arg;
    sink = gort_chan_recv(release, NULL);
    gort_wg_done(&done);
}

static void go_named(gort_func fn, void *arg, const char *name) {
    gort_attr a = {0, name};
    line_spawn = __LINE__ + 1;
    CHECK_EQ(gort_go_attr(fn, arg, &a), 0);
}

static char *dump_text;

static void dumper(void *arg) {
    (void)arg;
    line_dump = __LINE__ + 1;
    dump_text = du_dump();
    gort_wg_done(&dumped);
}

static void check_block(const char *name, const char *state, const char *function, int line) {
    char *b = du_block(dump_text, name);
    if (!b) {
        fprintf(stderr, "no goroutine named %s in:\n%s\n", name, dump_text);
        abort();
    }
    du_expect_line(b, "goroutine ", state);
    char fn[128];
    snprintf(fn, sizeof fn, "%s(...)", function);
    du_expect_line(b, fn, line ? DU_AT(line) : " at ");
    du_expect_line(b, "created by go_named", DU_AT(line_spawn));
    free(b);
}

static void spawn_all(void) {
    gort_wg_add(&done, 6);
    go_named(receiver, NULL, "receiver"), go_named(sender, NULL, "sender"), go_named(selector, NULL, "selector"),
        go_named(sleeper, NULL, "sleeper"), go_named(locker, NULL, "locker"), go_named(waiter, NULL, "waiter"),
        go_named(hog, &spins[0], "hog0"), go_named(hog, &spins[1], "hog1"), go_named(hog, &spins[2], "hog2");
}

int main(void) {
    gt_watchdog(110);
    never = gort_chan_make(sizeof(int), 0);
    full = gort_chan_make(sizeof(int), 1);
    release = gort_chan_make(0, 0);
    int one = 1;
    CHECK_EQ(gort_chan_send(full, &one), 0);
    CHECK_EQ(gort_mutex_lock(&mu), 0);
    CHECK_EQ(gort_wg_add(&wg, 1), 0);
    spawn_all();
    usleep(100 * 1000); /* everyone parked, the hogs preempted many times */

    /* The dump from a goroutine: it is "running" and shows itself. */
    CHECK_EQ(gort_wg_add(&dumped, 1), 0);
    go_named(dumper, NULL, "dumper");
    CHECK_EQ(gort_wg_wait(&dumped), 0);
    fputs(dump_text, stdout);
    check_block("receiver", "[chan receive]", "recv_deeper", line_recv);
    check_block("sender", "[chan send]", "sender", line_send);
    check_block("selector", "[select]", "selector", line_select);
    check_block("sleeper", "[sleep]", "sleeper", line_sleep);
    check_block("locker", "[sync.Mutex]", "locker", line_lock);
    check_block("waiter", "[sync.WaitGroup]", "waiter", line_wait);
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "hog%d", i);
        char *b = du_block(dump_text, name);
        CHECK(b != NULL);
        du_expect_line(b, "goroutine ", "[preempted]");
        du_expect_line(b, "hog(...)", DU_AT(line_hog));
        free(b);
    }
    char *me = du_block(dump_text, "dumper");
    CHECK(me != NULL);
    CHECK(strncmp(dump_text, me, strlen(me)) == 0); /* the caller comes first */
    du_expect_line(me, "goroutine ", "[running]");
    du_expect_line(me, "gort_dump(...)", NULL);
    du_expect_line(me, "dumper(...)", DU_AT(line_dump));
    free(me);
    free(dump_text);

    /* 10,000 parked goroutines: dumped quickly, from a plain thread. */
    CHECK_EQ(gort_wg_add(&done, NPARKED), 0);
    for (int i = 0; i < NPARKED; i++) CHECK_EQ(gort_go(parked, NULL), 0);
    CHECK_WITHIN_MS(10000, gort_num_goroutines() >= NPARKED + 8);
    usleep(50 * 1000);
    long before = atomic_load(&spins[0]);
    int64_t t0 = gt_now_ns();
    dump_text = du_dump();
    int64_t took = gt_now_ns() - t0;
    size_t blocks = 0;
    for (const char *p = dump_text; (p = strstr(p, "goroutine ")); p++)
        if (p == dump_text || p[-1] == '\n') blocks++;
    printf("dump of %zu goroutines: %.1f ms, %zu bytes\n", blocks, took / 1e6, strlen(dump_text));
    CHECK(blocks >= NPARKED + 8);
    CHECK(took < 500 * 1000000LL);
    free(dump_text);

    /* The world runs again: hogs count on, everyone parked can finish. */
    CHECK_WITHIN_MS(5000, atomic_load(&spins[0]) > before);
    for (int i = 0; i < NPARKED; i++) CHECK_EQ(gort_chan_send(release, NULL), 0);
    CHECK_EQ(gort_chan_recv(full, NULL), 0); /* the sender's turn */
    CHECK_EQ(gort_chan_close(never), 0);     /* receiver and selector */
    CHECK_EQ(gort_mutex_unlock(&mu), 0);
    CHECK_EQ(gort_wg_done(&wg), 0);
    CHECK_EQ(gort_wg_wait(&done), 0);
    printf("ok\n");
    return 0;
}
