/* gort versions of the Go peer benchmarks (go/bench/main.go of the peer
 * programs, see bench/README.md), plus gort-only figures (mutex,
 * thread<->goroutine ping-pong).
 *
 * Usage: gortbench -w W1|W2|W3|W4|W7|W7max|W8|W9|X1|X2|X3|version
 *                  [-prod P -cons C] [-n N] [-select_first 1]
 * Workers (Ps) come from GORTMAXPROCS. Output: one line per figure,
 * "gort <workload> workers=N key=value ... metric=value unit".
 *
 * Every workload except X3 runs inside gort_main(), i.e. on a goroutine, as
 * the Go peer runs on its main goroutine: spawns from there go to the
 * spawning P's run queue.
 */
#include "bench.h"

#include <stdatomic.h>

static struct opts o = {.w = "W1", .prod = 1, .cons = 1};

static inline gort_chan *xchan(size_t elem_size, size_t cap) {
    gort_chan *c = gort_chan_make(elem_size, cap);
    if (!c) die("gort_chan_make(%zu, %zu) failed: %s", elem_size, cap, strerror(errno));
    return c;
}

/* A counter on its own cache line. */
struct padded {
    _Alignas(64) int64_t n;
};

/* ------------------------------------------------------------ W1 spawn */

static int64_t w1_cnt;
static gort_waitgroup w1_wg;

static void w1_task(void *arg) {
    (void)arg;
    __atomic_fetch_add(&w1_cnt, 1, __ATOMIC_SEQ_CST); /* Go: atomic.AddInt64 */
    gort_wg_done(&w1_wg);
}

static int64_t spawn_round(int n) {
    w1_cnt = 0;
    CK(gort_wg_add(&w1_wg, n));
    int64_t t0 = now_ns();
    for (int i = 0; i < n; i++) CK(gort_go(w1_task, NULL));
    CK(gort_wg_wait(&w1_wg));
    int64_t el = now_ns() - t0;
    if (__atomic_load_n(&w1_cnt, __ATOMIC_SEQ_CST) != n)
        die("W1 count mismatch: %" PRId64 " != %d", w1_cnt, n);
    return el;
}

static void w1(void *arg) {
    (void)arg;
    const int n = o.n ? o.n : 100000;
    spawn_round(n); /* untimed warm-up round */
    int64_t el = spawn_round(n);
    char p[64];
    snprintf(p, sizeof p, "n=%d", n);
    out("W1_spawn", p, "ns_per_task", (double)el / n, "ns");
}

/* --------------------------------------------------------- W2 pingpong */

struct pingpong {
    gort_chan *a, *b;       /* main -> echo, echo -> main */
    gort_chan *quit, *done; /* W8 only */
};

/* W2's echo side: Go's `for v := range a { b <- v + 1 }`. */
static void echo_recv(void *arg) {
    struct pingpong *pp = arg;
    int64_t v;
    int rc;
    while ((rc = gort_chan_recv(pp->a, &v)) == 0) {
        v++;
        CK(gort_chan_send(pp->b, &v));
    }
    if (rc != EPIPE) die("echo: gort_chan_recv returned %d", rc);
}

/* W8's echo side: a 2-case select (recv a, recv quit). */
static void echo_select(void *arg) {
    struct pingpong *pp = arg;
    int64_t v;
    gort_case cs[2] = {
        {.chan = pp->a, .op = GORT_RECV, .elem = &v},
        {.chan = pp->quit, .op = GORT_RECV, .elem = NULL},
    };
    for (;;) {
        int i = gort_select(cs, 2, -1);
        if (i == 0) {
            if (cs[0].result != 0) die("W8 echo: recv on a gave %d", cs[0].result);
            v++;
            CK(gort_chan_send(pp->b, &v));
        } else if (i == 1) {
            CK(gort_chan_close(pp->done));
            return;
        } else {
            die("W8 echo: gort_select returned %d", i);
        }
    }
}

/* Main side shared by W2 and W8: n timed round trips after 1000 warm-up
 * ones. Returns elapsed ns. */
static int64_t pingpong_rounds(struct pingpong *pp, int n, const char *what) {
    int64_t v;
    for (int64_t i = 0; i < 1000; i++) { /* warm-up */
        CK(gort_chan_send(pp->a, &i));
        CK(gort_chan_recv(pp->b, &v));
    }
    int64_t t0 = now_ns();
    for (int64_t i = 0; i < n; i++) {
        CK(gort_chan_send(pp->a, &i));
        CK(gort_chan_recv(pp->b, &v));
        if (v != i + 1) die("%s bad value %" PRId64 " != %" PRId64, what, v, i + 1);
    }
    return now_ns() - t0;
}

static void w2(void *arg) {
    (void)arg;
    const int n = o.n ? o.n : 1000000;
    static struct pingpong pp; /* static: the echo goroutine outlives this frame */
    pp = (struct pingpong){.a = xchan(sizeof(int64_t), 0), .b = xchan(sizeof(int64_t), 0)};
    CK(gort_go(echo_recv, &pp));
    int64_t el = pingpong_rounds(&pp, n, "W2");
    CK(gort_chan_close(pp.a));
    char p[64];
    snprintf(p, sizeof p, "rt=%d", n);
    out("W2_pingpong", p, "ns_per_rt", (double)el / n, "ns");
}

/* ---------------------------------------------------------- W8 select */

static void w8(void *arg) {
    (void)arg;
    const int n = o.n ? o.n : 1000000;
    static struct pingpong pp; /* static: the echo goroutine outlives this frame */
    pp = (struct pingpong){
        .a = xchan(sizeof(int64_t), 0), .b = xchan(sizeof(int64_t), 0),
        .quit = xchan(0, 0), .done = xchan(0, 0),
    };
    CK(gort_go(echo_select, &pp));
    /* Which side blocks first decides the steady state at 1 P: by default
     * main's send blocks and the echo's select finds it waiting; with
     * -select_first 1 the select blocks and every send completes at once
     * (~20% slower). A preemption can switch a run from one to the other;
     * GORTDEBUG=asyncpreemptoff=1,preemptms=1000 keeps the first. */
    if (o.select_first) gort_yield();
    int64_t el = pingpong_rounds(&pp, n, "W8");
    CK(gort_chan_close(pp.quit));
    int rc = gort_chan_recv(pp.done, NULL);
    if (rc != EPIPE) die("W8: recv on done returned %d, want EPIPE", rc);
    char p[64];
    snprintf(p, sizeof p, "rt=%d cases=2", n);
    out("W8_select", p, "ns_per_rt", (double)el / n, "ns");
}

/* --------------------------------------------------------- W3 buffered */

static struct {
    gort_chan *ch;
    int per;
    gort_waitgroup pwg, cwg;
    struct padded *sums;
} w3s;

static void w3_producer(void *arg) {
    (void)arg;
    const int64_t one = 1;
    for (int i = 0; i < w3s.per; i++) CK(gort_chan_send(w3s.ch, &one));
    gort_wg_done(&w3s.pwg);
}

static void w3_consumer(void *arg) {
    int c = (int)(intptr_t)arg;
    int64_t v, s = 0;
    int rc;
    while ((rc = gort_chan_recv(w3s.ch, &v)) == 0) s += v;
    if (rc != EPIPE) die("W3 consumer: gort_chan_recv returned %d", rc);
    w3s.sums[c].n = s;
    gort_wg_done(&w3s.cwg);
}

static void w3(void *arg) {
    (void)arg;
    const int total = o.n ? o.n : 10000000;
    const int P = o.prod, C = o.cons;
    if (P < 1 || C < 1) die("W3: -prod and -cons must be >= 1");
    w3s.ch = xchan(sizeof(int64_t), 1024);
    w3s.per = total / P;
    w3s.sums = xcalloc((size_t)C, sizeof *w3s.sums);
    int64_t t0 = now_ns();
    CK(gort_wg_add(&w3s.pwg, P));
    for (int p = 0; p < P; p++) CK(gort_go(w3_producer, NULL));
    CK(gort_wg_add(&w3s.cwg, C));
    for (int c = 0; c < C; c++) CK(gort_go(w3_consumer, (void *)(intptr_t)c));
    CK(gort_wg_wait(&w3s.pwg));
    CK(gort_chan_close(w3s.ch));
    CK(gort_wg_wait(&w3s.cwg));
    int64_t el = now_ns() - t0;
    int64_t s = 0, msgs = (int64_t)w3s.per * P;
    for (int c = 0; c < C; c++) s += w3s.sums[c].n;
    if (s != msgs) die("W3 sum mismatch: %" PRId64 " != %" PRId64, s, msgs);
    char p[128];
    snprintf(p, sizeof p, "prod=%d cons=%d cap=1024 msgs=%" PRId64, P, C, msgs);
    out("W3_buffered", p, "ns_per_msg", (double)el / (double)msgs, "ns");
}

/* ------------------------------------------------------------ W4 yield */

static gort_waitgroup w4_wg;
static int w4_n;

static void w4_task(void *arg) {
    (void)arg;
    for (int i = 0; i < w4_n; i++) gort_yield();
    gort_wg_done(&w4_wg);
}

static void w4(void *arg) {
    (void)arg;
    w4_n = o.n ? o.n : 1000000;
    CK(gort_wg_add(&w4_wg, 2));
    int64_t t0 = now_ns();
    for (int t = 0; t < 2; t++) CK(gort_go(w4_task, NULL));
    CK(gort_wg_wait(&w4_wg));
    int64_t el = now_ns() - t0;
    char p[64];
    snprintf(p, sizeof p, "tasks=2 yields=%d", w4_n);
    out("W4_yield", p, "ns_per_yield", (double)el / (2.0 * w4_n), "ns");
}

/* ----------------------------------------------------------- W7 memory */

static struct {
    gort_chan *ch;      /* never sent on; closed at the end */
    int64_t started;
    gort_waitgroup wg;  /* parked goroutines that have not returned yet */
} w7s;

static void w7_task(void *arg) {
    (void)arg;
    __atomic_fetch_add(&w7s.started, 1, __ATOMIC_SEQ_CST);
    int rc = gort_chan_recv(w7s.ch, NULL);
    if (rc != EPIPE) die("W7 task: recv returned %d, want EPIPE", rc);
    gort_wg_done(&w7s.wg);
}

/* Closes the channel and waits until every parked goroutine has returned:
 * not part of the Go peer's figures, but it checks that they all wake. */
static double w7_teardown(void) {
    int64_t t0 = now_ns();
    CK(gort_chan_close(w7s.ch));
    CK(gort_wg_wait(&w7s.wg));
    return (double)(now_ns() - t0) / 1e9;
}

static void w7(void *arg) {
    (void)arg;
    const int n = o.n ? o.n : 100000;
    w7s.ch = xchan(sizeof(int64_t), 0);
    int64_t rss0 = rss_bytes();
    CK(gort_wg_add(&w7s.wg, n));
    for (int i = 0; i < n; i++) CK(gort_go(w7_task, NULL));
    while (__atomic_load_n(&w7s.started, __ATOMIC_SEQ_CST) < n) CK(gort_sleep(1000000));
    CK(gort_sleep(10000000));
    int64_t rss1 = rss_bytes();
    char p[64];
    snprintf(p, sizeof p, "tasks=%d", n);
    out("W7_mem", p, "bytes_per_task", (double)(rss1 - rss0) / n, "B");
    w7_teardown();
}

static void w7max(void *arg) {
    (void)arg;
    const int limit = o.n ? o.n : 1000000;
    const int batch = 10000;
    const int64_t cap_bytes = (int64_t)8 << 30;
    w7s.ch = xchan(sizeof(int64_t), 0);
    int64_t rss0 = rss_bytes();
    int created = 0;
    const char *reason = "limit";
    char why[64];
    int64_t t0 = now_ns();
    while (created < limit) {
        int rc = 0, i;
        CK(gort_wg_add(&w7s.wg, batch));
        for (i = 0; i < batch; i++) {
            rc = gort_go(w7_task, NULL);
            if (rc != 0) break;
        }
        created += i;
        if (rc != 0) {
            CK(gort_wg_add(&w7s.wg, -(int64_t)(batch - i)));
            snprintf(why, sizeof why, "gort_go=%s", rc == ENOMEM ? "ENOMEM" : rc == EAGAIN ? "EAGAIN" : "error");
            reason = why;
        }
        while (__atomic_load_n(&w7s.started, __ATOMIC_SEQ_CST) < created) gort_yield();
        if (rc != 0) break;
        if (rss_bytes() - rss0 > cap_bytes) {
            reason = "8GiB";
            break;
        }
    }
    double el = (double)(now_ns() - t0) / 1e9;
    int64_t rss1 = rss_bytes();
    char p[96];
    snprintf(p, sizeof p, "stop=%s", reason);
    out("W7_max", p, "max_tasks", created, "tasks");
    out("W7_max", p, "create_s", el, "s");
    out("W7_max", p, "rss_gib", (double)(rss1 - rss0) / (double)((int64_t)1 << 30), "GiB");
    out("W7_max", p, "teardown_s", w7_teardown(), "s");
}

/* ----------------------------------------------------------- W9 timers */

static struct {
    int64_t late;
    int sleeps;
    gort_waitgroup wg;
} w9s;

static void w9_task(void *arg) {
    (void)arg;
    int64_t l = 0;
    for (int i = 0; i < w9s.sleeps; i++) {
        int64_t s = now_ns();
        CK(gort_sleep(1000000));
        l += now_ns() - s - 1000000;
    }
    __atomic_fetch_add(&w9s.late, l, __ATOMIC_SEQ_CST);
    gort_wg_done(&w9s.wg);
}

static void w9(void *arg) {
    (void)arg;
    const int tasks = o.n ? o.n : 10000;
    w9s.sleeps = 100;
    CK(gort_wg_add(&w9s.wg, tasks));
    int64_t t0 = now_ns();
    for (int t = 0; t < tasks; t++) CK(gort_go(w9_task, NULL));
    CK(gort_wg_wait(&w9s.wg));
    int64_t el = now_ns() - t0;
    char p[96];
    snprintf(p, sizeof p, "tasks=%d sleeps=%d sleep=1ms", tasks, w9s.sleeps);
    out("W9_timers", p, "wall_ms", (double)el / 1e6, "ms");
    out("W9_timers", p, "mean_late_us", (double)w9s.late / ((double)tasks * w9s.sleeps) / 1e3, "us");
}

/* ------------------------------------------------ X1 mutex, uncontended */

/* One goroutine locks and unlocks an uncontended gort_mutex; the same loop
 * over a pthread mutex is printed alongside as a reference. */
static void x1(void *arg) {
    (void)arg;
    const int n = o.n ? o.n : 10000000;
    static gort_mutex m; /* zero value is an unlocked mutex */
    static pthread_mutex_t pm = PTHREAD_MUTEX_INITIALIZER;
    static volatile int64_t x;
    for (int i = 0; i < 100000; i++) { /* warm-up */
        CK(gort_mutex_lock(&m));
        CK(gort_mutex_unlock(&m));
    }
    int64_t t0 = now_ns();
    for (int i = 0; i < n; i++) {
        gort_mutex_lock(&m);
        x++;
        gort_mutex_unlock(&m);
    }
    int64_t el = now_ns() - t0;
    int64_t t1 = now_ns();
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(&pm);
        x++;
        pthread_mutex_unlock(&pm);
    }
    int64_t el_p = now_ns() - t1;
    if (x != 2LL * n) die("X1: counter %" PRId64 " != %d", x, 2 * n);
    char p[64];
    snprintf(p, sizeof p, "goroutines=1 locks=%d", n);
    out("X1_mutex", p, "ns_per_lock", (double)el / n, "ns");
    out("X1_mutex", p, "pthread_ns_per_lock", (double)el_p / n, "ns");
}

/* -------------------------------------------------- X2 mutex, contended */

static struct {
    gort_mutex m;
    int64_t counter;
    int per;
    gort_waitgroup wg;
} x2s;

static void x2_task(void *arg) {
    (void)arg;
    for (int i = 0; i < x2s.per; i++) {
        gort_mutex_lock(&x2s.m);
        x2s.counter++;
        gort_mutex_unlock(&x2s.m);
    }
    gort_wg_done(&x2s.wg);
}

/* 4 goroutines (on however many Ps; bench/run uses 2) increment one counter
 * under one gort_mutex: ns per lock, over all goroutines. */
static void x2(void *arg) {
    (void)arg;
    const int g = 4;
    x2s.per = o.n ? o.n : 1000000;
    CK(gort_wg_add(&x2s.wg, g));
    int64_t t0 = now_ns();
    for (int i = 0; i < g; i++) CK(gort_go(x2_task, NULL));
    CK(gort_wg_wait(&x2s.wg));
    int64_t el = now_ns() - t0;
    int64_t total = (int64_t)g * x2s.per;
    if (x2s.counter != total) die("X2: counter %" PRId64 " != %" PRId64 " (mutual exclusion broken)", x2s.counter, total);
    char p[64];
    snprintf(p, sizeof p, "goroutines=%d locks=%" PRId64, g, total);
    out("X2_mutex_contended", p, "ns_per_lock", (double)el / (double)total, "ns");
}

/* ------------------------------------- X3 thread <-> goroutine ping-pong */

/* The main OS thread (not a goroutine) bounces an int off an echo goroutine
 * over two unbuffered channels: the cost of waking a goroutine from a plain
 * thread and of a goroutine waking a blocked thread. */
static void x3(void) {
    const int n = o.n ? o.n : 200000;
    static struct pingpong pp; /* static: the echo goroutine outlives this frame */
    pp = (struct pingpong){.a = xchan(sizeof(int64_t), 0), .b = xchan(sizeof(int64_t), 0)};
    CK(gort_go(echo_recv, &pp));
    int64_t el = pingpong_rounds(&pp, n, "X3");
    CK(gort_chan_close(pp.a));
    char p[64];
    snprintf(p, sizeof p, "caller=thread rt=%d", n);
    out("X3_thread_pingpong", p, "ns_per_rt", (double)el / n, "ns");
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
    parse_opts(argc, argv, &o);
    if (!strcmp(o.w, "version")) {
        printf("%s\n", gort_version());
        return 0;
    }
    static const struct {
        const char *name;
        gort_func fn;
    } table[] = {
        {"W1", w1}, {"W2", w2}, {"W3", w3}, {"W4", w4}, {"W7", w7}, {"W7max", w7max},
        {"W8", w8}, {"W9", w9}, {"X1", x1}, {"X2", x2},
    };
    g_workers = gort_maxprocs(0);
    if (!strcmp(o.w, "X3")) {
        x3();
        return 0;
    }
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (!strcmp(o.w, table[i].name)) {
            CK(gort_main(table[i].fn, NULL));
            return 0;
        }
    }
    fprintf(stderr, "unknown workload %s\n", o.w);
    return 2;
}
