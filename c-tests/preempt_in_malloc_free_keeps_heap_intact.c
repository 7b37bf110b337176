// Goroutines that live in malloc/free (random sizes from a few bytes to
// mmap'd blocks, each block filled with a pattern and verified before it is
// freed) are preempted thousands of times, often inside malloc with an arena
// lock held, beside call-free hogs on 2 Ps: no deadlock (a stalled worker
// fails the test), no heap corruption (a wrong pattern fails it; glibc
// aborts on a corrupted heap, and checks harder with MALLOC_CHECK_=3), and
// preemptions really happened.
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=1
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=1 MALLOC_CHECK_=3 LD_PRELOAD=libc_malloc_debug.so.0
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=2 MALLOC_ARENA_MAX=1
// timeout: 60
#include "preempt_test_util.h"

#define WORKERS 8
#define HOGS 2
#define LIVE 64
#define RUN_MS 2500

static atomic_ullong bytes_checked;

static uint64_t pattern(uint64_t key, size_t i) { return (key + i) * 0x9E3779B97F4A7C15ull; }

static void fill(uint64_t *p, size_t words, uint64_t key) {
    for (size_t i = 0; i < words; i++) p[i] = pattern(key, i);
}

static void verify(const uint64_t *p, size_t words, uint64_t key, int id) {
    for (size_t i = 0; i < words; i++) {
        if (p[i] != pattern(key, i)) {
            fprintf(stderr, "worker %d: block %p word %zu of %zu is %#" PRIx64 ", expected %#" PRIx64 "\n", id,
                    (void *)p, i, words, p[i], pattern(key, i));
            abort();
        }
    }
    atomic_fetch_add_explicit(&bytes_checked, words * 8, memory_order_relaxed);
}

static size_t random_size(uint64_t *seed) {
    uint64_t r = ct_rand(seed);
    switch (r % 16) {
    case 0: return 128 * 1024 + r % (512 * 1024); /* above the mmap threshold */
    case 1: case 2: case 3: return 4096 + r % 60000;
    default: return 8 + (r >> 8) % 1024;
    }
}

static void work(int id, struct pt_counter *progress, const atomic_int *stop) {
    struct {
        uint64_t *p;
        size_t words;
        uint64_t key;
    } live[LIVE] = {{0}};
    uint64_t seed = 0x1234567ull * (uint64_t)(id + 1), key = (uint64_t)id << 40;
    uint64_t n = 0;
    while (!atomic_load_explicit(stop, memory_order_relaxed)) {
        int slot = (int)(ct_rand(&seed) % LIVE);
        if (live[slot].p) {
            verify(live[slot].p, live[slot].words, live[slot].key, id);
            free(live[slot].p);
            live[slot].p = NULL;
        }
        size_t size = random_size(&seed);
        uint64_t *p;
        switch (ct_rand(&seed) % 4) {
        case 0: p = calloc(1, size); CHECK(p != NULL); for (size_t i = 0; i < size / 8; i++) CHECK(p[i] == 0); break;
        case 1: {
            /* grow a fresh block with realloc, keeping its first words */
            p = malloc(64);
            CHECK(p != NULL);
            fill(p, 8, key + 7);
            p = realloc(p, size < 64 ? 64 : size);
            CHECK(p != NULL);
            verify(p, 8, key + 7, id);
            break;
        }
        default: p = malloc(size); CHECK(p != NULL); break;
        }
        key++;
        fill(p, size / 8, key);
        live[slot].p = p;
        live[slot].words = size / 8;
        live[slot].key = key;
        atomic_store_explicit(&progress->n, ++n, memory_order_relaxed);
    }
    for (int i = 0; i < LIVE; i++) {
        if (live[i].p) {
            verify(live[i].p, live[i].words, live[i].key, id);
            free(live[i].p);
        }
    }
}

int main(void) {
    gt_watchdog(50);
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep what was printed if a check aborts */
    gort_stats d;
    pt_run_workers("malloc/free", work, WORKERS, HOGS, RUN_MS, 5000, &d);
    printf("verified %.1f MB of block contents\n", atomic_load(&bytes_checked) / 1e6);
    CHECK(d.preempt_async > 0);
    return 0;
}
