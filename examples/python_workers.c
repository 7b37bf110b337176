/* python_workers.c: C goroutine bodies driven from Python by
 * examples/python_drives_c.py, which compiles this file into a shared
 * library with:
 *
 *   cc -shared -fPIC -O2 -pthread -Iinclude examples/python_workers.c -o libpython_workers.so -Ltarget/release -Wl,-rpath,"$PWD/target/release" -lgort
 *
 * Link against libgort.so (not libgort.a): the library must share the one
 * runtime that Python's `gort` package loaded.
 *
 * A worker receives jobs from Python over one channel, does CPU-bound work
 * in C (counting primes below a bound, by trial division: a loop without
 * function calls, which gort preempts like any other), and sends the result
 * back over a second channel. It returns when the jobs channel is closed
 * and drained, and says so on a WaitGroup that Python waits on.
 */
#include <gort.h>

#include <stdint.h>

/* The channel elements; python_drives_c.py declares the same layouts as
 * ctypes.Structure subclasses. */
struct job {
    int64_t id;
    int64_t below; /* count the primes below this */
};

struct result {
    int64_t id;
    int64_t primes;
    uint64_t goroutine; /* which goroutine did the work (gort_self) */
};

/* What every worker gets: the two channels and the WaitGroup, owned by
 * Python (it keeps them alive until the workers are done). */
struct pool {
    gort_chan *jobs;
    gort_chan *results;
    gort_waitgroup *done;
};

static int64_t count_primes(int64_t below) {
    int64_t count = 0;
    for (int64_t n = 2; n < below; n++) {
        int prime = 1;
        for (int64_t d = 2; d * d <= n; d++) {
            if (n % d == 0) {
                prime = 0;
                break;
            }
        }
        count += prime;
    }
    return count;
}

/* A goroutine body: void fn(void *arg), started from Python with
 * gort.go(lib.prime_worker, pool). */
void prime_worker(void *arg) {
    struct pool *pool = arg;
    struct job job;
    while (gort_chan_recv(pool->jobs, &job) == 0) {
        struct result r = {job.id, count_primes(job.below), gort_self()};
        if (gort_chan_send(pool->results, &r) != 0) break; /* results closed: stop */
    }
    gort_wg_done(pool->done);
}
