// Goroutine dumps taken over and over, from a plain thread and from a
// goroutine, while goroutines living in malloc/free are preempted beside
// call-free hogs (often inside malloc, holding its lock): every dump
// completes quickly, the workers never stall, and some dump shows a
// goroutine preempted inside the allocator with its stack walked from the
// signal context down to the worker's own function.
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=1
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=1 MALLOC_CHECK_=3 LD_PRELOAD=libc_malloc_debug.so.0
// timeout: 90
#include "preempt_test_util.h"

#include <sys/mman.h>

#define WORKERS 6
#define HOGS 2
#define RUN_MS 3000

static atomic_int stop_dumping;
static atomic_int dumps, saw_preempted_in_malloc;
static atomic_llong slowest_ns;

/* Lives in malloc and free; fills blocks so the time goes there. */
static void churn(int id, struct pt_counter *progress, const atomic_int *stop) {
    void *live[32] = {0};
    uint64_t seed = 0x9E37ull * (uint64_t)(id + 1), n = 0;
    while (!atomic_load_explicit(stop, memory_order_relaxed)) {
        int slot = (int)(ct_rand(&seed) % 32);
        free(live[slot]);
        size_t size = 16 + ct_rand(&seed) % 8192;
        live[slot] = malloc(size);
        CHECK(live[slot] != NULL);
        memset(live[slot], (int)n, size);
        atomic_store_explicit(&progress->n, ++n, memory_order_relaxed);
    }
    for (int i = 0; i < 32; i++) free(live[i]);
}

/* One dump into an anonymous file; notes whether a goroutine preempted in
 * the allocator showed its way down to `churn`. */
static void dump_once(void) {
    int fd = memfd_create("dump", 0);
    CHECK(fd >= 0);
    int64_t t0 = gt_now_ns();
    CHECK_EQ(gort_dump(fd), 0);
    int64_t took = gt_now_ns() - t0;
    if (took > atomic_load(&slowest_ns)) atomic_store(&slowest_ns, took);
    off_t len = lseek(fd, 0, SEEK_END);
    char *text = malloc((size_t)len + 1);
    CHECK(text != NULL);
    CHECK_EQ(pread(fd, text, (size_t)len, 0), len);
    text[len] = 0;
    close(fd);
    for (char *b = strstr(text, "[preempted]"); b; b = strstr(b + 1, "[preempted]")) {
        char *end = strstr(b, "\n\n");
        if (end) *end = 0;
        int in_alloc = strstr(b, "malloc") || strstr(b, "free") || strstr(b, "_int_") || strstr(b, "memset");
        if (in_alloc && strstr(b, "churn(...)")) atomic_store(&saw_preempted_in_malloc, 1);
        if (end) *end = '\n';
    }
    free(text);
    atomic_fetch_add(&dumps, 1);
}

static void *dump_from_thread(void *arg) {
    (void)arg;
    while (!atomic_load(&stop_dumping)) {
        dump_once();
        pt_thread_sleep_ms(30);
    }
    return NULL;
}

static void dump_from_goroutine(void *arg) {
    gort_waitgroup *wg = arg;
    while (!atomic_load(&stop_dumping)) {
        dump_once();
        gort_sleep(40 * 1000000LL);
    }
    gort_wg_done(wg);
}

int main(void) {
    gt_watchdog(80);
    setvbuf(stdout, NULL, _IOLBF, 0);
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    CHECK_EQ(gort_wg_add(&wg, 1), 0);
    CHECK_EQ(gort_go(dump_from_goroutine, &wg), 0);
    pthread_t t = ct_thread(dump_from_thread, NULL);
    gort_stats d;
    pt_run_workers("malloc/free beside dumps", churn, WORKERS, HOGS, RUN_MS, 5000, &d);
    atomic_store(&stop_dumping, 1);
    ct_join(t);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    printf("%d dumps, slowest %.1f ms, preempted in the allocator seen: %d\n", atomic_load(&dumps),
           atomic_load(&slowest_ns) / 1e6, atomic_load(&saw_preempted_in_malloc));
    CHECK(d.preempt_async > 0);
    CHECK(atomic_load(&dumps) >= 5); /* under the malloc debugger a dump takes ~1 s */
    CHECK(atomic_load(&slowest_ns) < 5000 * 1000000LL);
    CHECK(atomic_load(&saw_preempted_in_malloc));
    return 0;
}
