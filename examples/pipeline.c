/* pipeline.c: a generator, a pool of workers and a collector connected by
 * channels, Go's pipeline pattern in C.
 *
 *   cc -O2 -pthread -Iinclude examples/pipeline.c -o pipeline -Ltarget/release -Wl,-rpath,"$PWD/target/release" -lgort
 *
 *   generator --jobs--> worker x4 --results--> collector
 *
 * The generator sends the numbers 1..N and closes `jobs`. Each worker
 * receives until `jobs` is closed and drained, and sends one result per job.
 * A WaitGroup counts the workers; the goroutine that waits on it closes
 * `results` once the last worker is done, which ends the collector's loop.
 * Nobody needs to know how many results are coming: closing a channel is
 * the broadcast "no more values", exactly as in Go:
 *
 *   go func() { for n := 1; n <= N; n++ { jobs <- n }; close(jobs) }()
 *   for i := 0; i < W; i++ { wg.Add(1); go func() { defer wg.Done(); for n := range jobs { results <- work(n) } }() }
 *   go func() { wg.Wait(); close(results) }()
 *   for r := range results { ... }
 *
 * The work is counting the steps of n's Collatz sequence; main checks the
 * total against a plain loop and returns 0 when they agree.
 */
#include <gort.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 200000
#define WORKERS 4

struct result {
    int64_t n;
    int64_t steps;
};

struct pipeline {
    gort_chan *jobs;    /* int64_t, buffered */
    gort_chan *results; /* struct result, buffered */
    gort_waitgroup workers;
};

static void check(int err, const char *what) {
    if (err != 0) {
        fprintf(stderr, "pipeline: %s: %s\n", what, strerror(err));
        exit(1);
    }
}

static int64_t collatz_steps(int64_t n) {
    int64_t steps = 0;
    for (; n != 1; steps++) n = n % 2 ? 3 * n + 1 : n / 2;
    return steps;
}

static void generator(void *arg) {
    struct pipeline *p = arg;
    for (int64_t n = 1; n <= N; n++) check(gort_chan_send(p->jobs, &n), "send job");
    check(gort_chan_close(p->jobs), "close jobs");
}

static void worker(void *arg) {
    struct pipeline *p = arg;
    int64_t n;
    /* gort_chan_recv returns EPIPE once `jobs` is closed and drained. */
    while (gort_chan_recv(p->jobs, &n) == 0) {
        struct result r = {n, collatz_steps(n)};
        check(gort_chan_send(p->results, &r), "send result");
    }
    gort_wg_done(&p->workers);
}

static void closer(void *arg) {
    struct pipeline *p = arg;
    check(gort_wg_wait(&p->workers), "wait for the workers");
    check(gort_chan_close(p->results), "close results");
}

struct outcome {
    int64_t count, total, longest_n, longest;
};

/* The collector runs as a goroutine too (gort_main), like Go's main. */
static void collector(void *arg) {
    struct outcome *out = arg;
    struct pipeline p = {0};
    p.jobs = gort_chan_make(sizeof(int64_t), 64);
    p.results = gort_chan_make(sizeof(struct result), 64);
    if (!p.jobs || !p.results) check(errno, "gort_chan_make");

    check(gort_go(generator, &p), "gort_go");
    check(gort_wg_add(&p.workers, WORKERS), "gort_wg_add");
    for (int i = 0; i < WORKERS; i++) check(gort_go(worker, &p), "gort_go");
    check(gort_go(closer, &p), "gort_go");

    struct result r;
    while (gort_chan_recv(p.results, &r) == 0) { /* until closed and drained */
        out->count++;
        out->total += r.steps;
        if (r.steps > out->longest) {
            out->longest = r.steps;
            out->longest_n = r.n;
        }
    }
    /* `results` is closed only after every worker is done and the generator
     * closed `jobs` before that: nobody uses the channels any more. */
    gort_chan_release(p.jobs);
    gort_chan_release(p.results);
}

int main(void) {
    struct outcome out = {0};
    check(gort_main(collector, &out), "gort_main");

    int64_t expected = 0;
    for (int64_t n = 1; n <= N; n++) expected += collatz_steps(n);
    printf("pipeline: %" PRId64 " results from %d workers; %" PRId64 " Collatz steps in all, "
           "the longest %" PRId64 " (n = %" PRId64 ")\n",
           out.count, WORKERS, out.total, out.longest, out.longest_n);
    if (out.count != N || out.total != expected) {
        fprintf(stderr, "pipeline: expected %d results and %" PRId64 " steps\n", N, expected);
        return 1;
    }
    return 0;
}
