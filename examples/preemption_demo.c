/* preemption_demo.c: why asynchronous preemption matters.
 *
 * Build and run (from the repository root; examples/run-demo.sh does all of
 * this and also turns the trace into an HTML timeline):
 *
 *   cargo build --release
 *   cc -O2 -pthread -Iinclude examples/preemption_demo.c -o preemption_demo -Ltarget/release -Wl,-rpath,"$PWD/target/release" -lgort
 *   ./preemption_demo [--seconds S] [--hogs N] [--procs P] [--ascii]
 *
 * Eight goroutines ("hogs") spin in loops that make no function call at all:
 * each increments its own counter while a relaxed atomic load of a stop flag
 * reads 0. A ninth goroutine sleeps 1 ms in a loop and records how late each
 * wake-up is. All of them share 2 Ps (GORTMAXPROCS=2) for 2 seconds. A
 * plain thread (not a goroutine) does the same 1 ms sleeps with nanosleep,
 * for comparison: how late this machine wakes any thread right now.
 *
 * A cooperative scheduler (every C coroutine library; gort with
 * GORTDEBUG=asyncpreemptoff=1) can switch goroutines only when they call into
 * it, so the first two hogs keep the two Ps and everything else starves.
 * gort's default mode stops a goroutine that has used up its 10 ms slice with
 * a signal, on the thread it is running on, without touching its registers,
 * errno or libc state, and the hogs share the CPU equally.
 *
 * The program runs itself twice, once per mode (the runtime reads GORTDEBUG
 * once, when it starts), and prints a report for each: every hog's share of
 * the CPU as a bar (a full bar is one whole P), Jain's fairness index, the
 * sleeper's lateness, and gort's preemption counters. Set GORTTRACE=file.json
 * to get an execution trace of the preemptive run.
 *
 * A hog's CPU share is measured with its thread's CPU clock: a goroutine that
 * never calls into the runtime never changes threads (a preempted goroutine
 * resumes on the thread it was stopped on), so that clock is the hog's own.
 *
 * Exit status: 0 when both runs worked and the preemptive run preempted; 1
 * otherwise.
 */
#define _GNU_SOURCE
#include <gort.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_HOGS 64
#define MAX_SAMPLES 100000
#define BAR_WIDTH 40

/* ------------------------------------------------------------ settings */

static double seconds = 2.0;
static int nhogs = 8;
static int nprocs = 2;
static int ascii_only;

static void usage(const char *argv0) {
    fprintf(stderr, "usage: %s [--seconds S] [--hogs N (1..%d)] [--procs P] [--ascii]\n", argv0, MAX_HOGS);
    exit(2);
}

static void die(const char *what, int err) {
    fprintf(stderr, "preemption_demo: %s failed: %s\n", what, strerror(err));
    exit(1);
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleeps on a plain OS thread (the main thread is not a goroutine: it keeps
 * running however the goroutines are scheduled). */
static void thread_sleep_ns(int64_t ns) {
    int64_t deadline = now_ns() + ns;
    for (int64_t left; (left = deadline - now_ns()) > 0;) {
        struct timespec ts = {left / 1000000000, left % 1000000000};
        nanosleep(&ts, NULL);
    }
}

/* ---------------------------------------------------------------- hogs */

static atomic_int stop;

struct hog {
    /* One counter per cache line, so hogs do not slow each other down. */
    _Alignas(64) _Atomic uint64_t count;
    clockid_t clock; /* CPU clock of the hog's thread */
    int64_t cpu0;    /* that clock when the hog started */
    atomic_int started;
};
static struct hog hogs[MAX_HOGS];

static int64_t cpu_ns(clockid_t clock) {
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0) return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void hog_main(void *arg) {
    struct hog *h = arg;
    pthread_getcpuclockid(pthread_self(), &h->clock);
    h->cpu0 = cpu_ns(h->clock);
    atomic_store(&h->started, 1);
    /* The loop: a load of the flag, an increment, a store, a branch. No
     * call of any kind, so only a preemption signal can take the P away. */
    uint64_t n = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        n++;
        atomic_store_explicit(&h->count, n, memory_order_relaxed);
    }
}

/* ------------------------------------------------------------- sleeper */

static int64_t late[MAX_SAMPLES];
static size_t nlate;
static atomic_int sleeper_started;

static void sleeper_main(void *arg) {
    (void)arg;
    atomic_store(&sleeper_started, 1);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        int64_t t0 = now_ns();
        int err = gort_sleep(1000000);
        if (err) die("gort_sleep", err);
        if (nlate < MAX_SAMPLES) late[nlate++] = now_ns() - t0 - 1000000;
    }
}

/* The same loop on a plain OS thread with nanosleep: how late the machine
 * itself wakes a thread right now (other processes, a loaded VM). */
static int64_t control_late[MAX_SAMPLES];
static size_t ncontrol;

static void *control_main(void *arg) {
    (void)arg;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        int64_t t0 = now_ns();
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        if (ncontrol < MAX_SAMPLES) control_late[ncontrol++] = now_ns() - t0 - 1000000;
    }
    return NULL;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t percentile(const int64_t *sorted, size_t n, double q) {
    if (n == 0) return 0;
    double rank = q * (double)n; /* nearest-rank: the ceil(q * n)-th smallest */
    size_t i = (size_t)rank;
    if ((double)i < rank) i++;
    return sorted[i == 0 ? 0 : i - 1];
}

/* "0.41 ms", "12.3 ms", "2001 ms". */
static const char *fmt_ms(char *buf, size_t len, int64_t ns) {
    double ms = (double)ns / 1e6;
    snprintf(buf, len, ms < 10 ? "%.2f ms" : ms < 100 ? "%.1f ms" : "%.0f ms", ms);
    return buf;
}

/* ------------------------------------------------------------- report */

static void bar(double fraction) {
    int eighths = (int)(fraction * BAR_WIDTH * 8 + 0.5);
    if (eighths < 0) eighths = 0;
    if (eighths > BAR_WIDTH * 8) eighths = BAR_WIDTH * 8;
    int cols = 0;
    if (ascii_only) {
        for (; cols < (eighths + 4) / 8; cols++) putchar('#');
    } else {
        static const char *partial[8] = {"", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589"};
        for (; cols < eighths / 8; cols++) fputs("\u2588", stdout);
        if (eighths % 8) {
            fputs(partial[eighths % 8], stdout);
            cols++;
        }
    }
    for (; cols < BAR_WIDTH; cols++) putchar(' ');
}

static double jain(const double *x, int n) {
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        s += x[i];
        s2 += x[i] * x[i];
    }
    return s2 > 0 ? s * s / (n * s2) : 0;
}

/* One run in this process, in the mode the environment selects. */
static int run_child(int cooperative) {
    int err;
    gort_attr attr = {0, "sleeper"};
    if ((err = gort_go_attr(sleeper_main, NULL, &attr))) die("gort_go_attr", err);
    while (!atomic_load(&sleeper_started)) thread_sleep_ns(100000);
    if (gort_maxprocs(0) != nprocs) {
        fprintf(stderr, "preemption_demo: expected %d Ps, the runtime has %d\n", nprocs, gort_maxprocs(0));
        return 1;
    }

    gort_stats s0, s1;
    if ((err = gort_read_stats(&s0))) die("gort_read_stats", err);
    char names[MAX_HOGS][16];
    for (int i = 0; i < nhogs; i++) {
        snprintf(names[i], sizeof names[i], "hog %d", i);
        attr.name = names[i];
        if ((err = gort_go_attr(hog_main, &hogs[i], &attr))) die("gort_go_attr", err);
    }
    pthread_t control;
    if ((err = pthread_create(&control, NULL, control_main, NULL))) die("pthread_create", err);
    thread_sleep_ns((int64_t)(seconds * 1e9));

    /* Snapshot, then stop everyone. */
    double cpu[MAX_HOGS], total = 0;
    uint64_t count[MAX_HOGS];
    for (int i = 0; i < nhogs; i++) {
        count[i] = atomic_load(&hogs[i].count);
        cpu[i] = atomic_load(&hogs[i].started) ? (double)(cpu_ns(hogs[i].clock) - hogs[i].cpu0) : 0;
        total += cpu[i];
    }
    if ((err = gort_read_stats(&s1))) die("gort_read_stats", err);
    atomic_store(&stop, 1);
    pthread_join(control, NULL);
    /* Wait until every goroutine has returned (the starved ones run now,
     * see the flag and return at once). */
    for (int64_t t0 = now_ns(); gort_num_goroutines() > 0;) {
        if (now_ns() - t0 > 10000000000) {
            fprintf(stderr, "preemption_demo: goroutines did not finish\n");
            return 1;
        }
        thread_sleep_ns(1000000);
    }

    /* Per-hog bars. */
    int ran = 0;
    double share[MAX_HOGS], min = 1, max = 0;
    for (int i = 0; i < nhogs; i++) {
        share[i] = total > 0 ? cpu[i] / total : 0;
        if (cpu[i] > 0) ran++;
        if (share[i] < min) min = share[i];
        if (share[i] > max) max = share[i];
        printf("  hog %-2d %s ", i, ascii_only ? "|" : "\u2502");
        bar(share[i] * nprocs); /* a full bar is one whole P */
        printf(" %5.1f%%  %6.1f M loops\n", 100 * share[i], (double)count[i] / 1e6);
    }
    double j = jain(share, nhogs);
    printf("  %-16s %.3f (1 = perfectly even, %.3f = %d of %d ran)\n", "fairness (Jain)", j, (double)nprocs / nhogs,
           nprocs, nhogs);
    printf("  %-16s %.1f%% / %.1f%%\n", "min/max share", 100 * min, 100 * max);

    qsort(late, nlate, sizeof late[0], cmp_i64);
    char a[32], b[32], c[32];
    printf("  %-16s %zu wake-up%s (of ~%.0f); late by p50 %s, p99 %s, max %s\n", "sleeper (1 ms)", nlate,
           nlate == 1 ? "" : "s", seconds * 1000, fmt_ms(a, sizeof a, percentile(late, nlate, 0.50)),
           fmt_ms(b, sizeof b, percentile(late, nlate, 0.99)), fmt_ms(c, sizeof c, nlate ? late[nlate - 1] : 0));
    qsort(control_late, ncontrol, sizeof control_late[0], cmp_i64);
    printf("  %-16s the same 1 ms sleeps with nanosleep: late by p50 %s, p99 %s, max %s\n", "plain thread",
           fmt_ms(a, sizeof a, percentile(control_late, ncontrol, 0.50)),
           fmt_ms(b, sizeof b, percentile(control_late, ncontrol, 0.99)),
           fmt_ms(c, sizeof c, ncontrol ? control_late[ncontrol - 1] : 0));
    printf("  %-16s preempt_async %" PRIu64 ", preempt_coop %" PRIu64 ", signals %" PRIu64 ", unsafe %" PRIu64 "\n",
           "preemptions", s1.preempt_async - s0.preempt_async, s1.preempt_coop - s0.preempt_coop,
           s1.preempt_signals - s0.preempt_signals, s1.preempt_unsafe - s0.preempt_unsafe);

    printf("  %-16s ", "verdict");
    if (ran < nhogs)
        printf("starved: %d of %d goroutines never ran\n", nhogs - ran, nhogs);
    else if (j >= 0.98)
        printf("fair: every goroutine got %.1f-%.1f%% of the CPU\n", 100 * min, 100 * max);
    else
        printf("uneven: goroutines got %.1f-%.1f%% of the CPU\n", 100 * min, 100 * max);

    if (cooperative) return 0;
    /* The preemptive run must have preempted: more hogs ran than there are Ps. */
    if (s1.preempt_async == s0.preempt_async || ran <= nprocs) {
        fprintf(stderr, "preemption_demo: the preemptive run did not preempt (%d hogs ran)\n", ran);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------- parent */

/* The environment for one child: ours, with GORTMAXPROCS and GORTDEBUG set
 * for the mode, and GORTTRACE only for the preemptive run. */
static char **child_env(int cooperative, char *maxprocs_var, char *debug_var) {
    size_t n = 0;
    while (environ[n]) n++;
    char **env = calloc(n + 3, sizeof *env);
    if (!env) die("calloc", ENOMEM);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(environ[i], "GORTMAXPROCS=", 13) || !strncmp(environ[i], "GORTDEBUG=", 10)) continue;
        if (cooperative && !strncmp(environ[i], "GORTTRACE=", 10)) continue;
        env[k++] = environ[i];
    }
    const char *debug = getenv("GORTDEBUG");
    snprintf(maxprocs_var, 32, "GORTMAXPROCS=%d", nprocs);
    if (cooperative)
        snprintf(debug_var, 512, "GORTDEBUG=%s%sasyncpreemptoff=1", debug ? debug : "", debug && *debug ? "," : "");
    else if (debug && strstr(debug, "asyncpreemptoff"))
        snprintf(debug_var, 512, "GORTDEBUG=%s,asyncpreemptoff=0", debug);
    else
        snprintf(debug_var, 512, "GORTDEBUG=%s", debug ? debug : "");
    env[k++] = maxprocs_var;
    env[k++] = debug_var;
    return env;
}

static int spawn_child(int cooperative) {
    char secs[32], hogs_arg[16], procs_arg[16], maxprocs_var[32], debug_var[512];
    snprintf(secs, sizeof secs, "%g", seconds);
    snprintf(hogs_arg, sizeof hogs_arg, "%d", nhogs);
    snprintf(procs_arg, sizeof procs_arg, "%d", nprocs);
    char *argv[] = {"preemption_demo", "--child", cooperative ? "coop" : "preempt", "--seconds", secs, "--hogs",
                    hogs_arg, "--procs", procs_arg, ascii_only ? "--ascii" : NULL, NULL};
    char **env = child_env(cooperative, maxprocs_var, debug_var);

    printf("\n%s %s\n", cooperative ? "Without preemption" : "With gort's preemption",
           cooperative ? "(GORTDEBUG=asyncpreemptoff=1: cooperative, like C coroutine libraries)"
                       : "(the default: a goroutine is stopped after a 10 ms slice)");
    fflush(stdout);
    pid_t pid;
    int err = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, env);
    free(env);
    if (err) die("posix_spawn", err);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) die("waitpid", errno);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int utf8_locale(void) {
    const char *vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *child = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--hogs") && i + 1 < argc)
            nhogs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--procs") && i + 1 < argc)
            nprocs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--child") && i + 1 < argc)
            child = argv[++i];
        else if (!strcmp(argv[i], "--ascii"))
            ascii_only = 1;
        else
            usage(argv[0]);
    }
    if (!(seconds > 0 && seconds <= 3600) || nhogs < 1 || nhogs > MAX_HOGS || nprocs < 1 || nprocs > nhogs)
        usage(argv[0]);
    if (!child && !ascii_only && !utf8_locale()) ascii_only = 1;

    if (child) {
        /* A safety net: a run that hangs ends the process. */
        alarm((unsigned)(seconds * 4) + 60);
        return run_child(!strcmp(child, "coop"));
    }

    /* The parent never starts the runtime: it only runs the two children. */
    printf("gort %s: %d goroutines in call-free loops on %d Ps for %g s, plus one sleeping 1 ms at a time.\n",
           "preemption demo", nhogs, nprocs, seconds);
    printf("Each bar is a goroutine's share of the CPU; a full bar is one whole P.\n");
    int coop = spawn_child(1);
    int preempt = spawn_child(0);
    const char *trace = getenv("GORTTRACE");
    if (trace && *trace) printf("\nTrace of the preemptive run: %s\n", trace);
    if (coop || preempt) {
        fprintf(stderr, "preemption_demo: a run failed (exit status %d, %d)\n", coop, preempt);
        return 1;
    }
    return 0;
}
