// Goroutines printing to one shared FILE* (fprintf to a tmpfile: glibc's
// per-FILE lock, held across the whole formatted write) and formatting with
// snprintf/sscanf are preempted thousands of times beside call-free hogs on
// 2 Ps, often inside stdio with the FILE lock held: no deadlock (a stalled
// worker fails the test), every line arrives whole and in per-writer order,
// the line count equals what was written, every snprintf result parses back
// to its inputs, and preemptions really happened.
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=1
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=2
// timeout: 60
#include "preempt_test_util.h"

#define WRITERS 6
#define FORMATTERS 4
#define HOGS 2
#define RUN_MS 2500

static FILE *shared;
static uint64_t written[WRITERS];

static void work(int id, struct pt_counter *progress, const atomic_int *stop) {
    uint64_t n = 0, seed = (uint64_t)id * 7919 + 1;
    if (id < WRITERS) {
        /* a writer: each line names its writer and its sequence number, and
         * carries a checksum so a torn or interleaved line is caught */
        while (!atomic_load_explicit(stop, memory_order_relaxed)) {
            unsigned pad = (unsigned)(ct_rand(&seed) % 200);
            CHECK(fprintf(shared, "w%02d %010" PRIu64 " %03u %*s|%08" PRIx64 "\n", id, n, pad, (int)pad, "",
                          (uint64_t)id * 1000003u + n * 31 + pad) > 0);
            atomic_store_explicit(&progress->n, ++n, memory_order_relaxed);
        }
        written[id] = n;
        return;
    }
    /* a formatter */
    char buf[256], word[64];
    while (!atomic_load_explicit(stop, memory_order_relaxed)) {
        long long a = (long long)ct_rand(&seed) - (long long)(UINT64_MAX / 2);
        double d = (double)(ct_rand(&seed) % 1000000) / 64.0; /* exact in binary and decimal */
        unsigned u = (unsigned)ct_rand(&seed);
        int len = snprintf(buf, sizeof buf, "%lld|%.6f|%x|goroutine-%d-%" PRIu64 "|%-12s|%a", a, d, u, id, n, "pad", d);
        CHECK(len > 0 && len < (int)sizeof buf);
        CHECK_EQ(strlen(buf), len);
        long long a2;
        double d2, d3;
        unsigned u2;
        int id2;
        uint64_t n2;
        CHECK_EQ(sscanf(buf, "%lld|%lf|%x|goroutine-%d-%" SCNu64 "|%63[^|]|%la", &a2, &d2, &u2, &id2, &n2, word, &d3), 7);
        CHECK(a2 == a && d2 == d && u2 == u && id2 == id && n2 == n && d3 == d);
        CHECK(strcmp(word, "pad         ") == 0);
        atomic_store_explicit(&progress->n, ++n, memory_order_relaxed);
    }
}

int main(void) {
    gt_watchdog(50);
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep what was printed if a check aborts */
    shared = tmpfile();
    CHECK(shared != NULL);
    gort_stats d;
    pt_run_workers("stdio/snprintf", work, WRITERS + FORMATTERS, HOGS, RUN_MS, 5000, &d);

    CHECK_EQ(fflush(shared), 0);
    rewind(shared);
    uint64_t seen[WRITERS] = {0}, lines = 0, total = 0;
    char line[512];
    while (fgets(line, sizeof line, shared)) {
        int id;
        uint64_t n, sum;
        unsigned pad;
        int off = -1;
        size_t len = strlen(line);
        CHECK(len > 0 && line[len - 1] == '\n');
        if (sscanf(line, "w%d %" SCNu64 " %u %n", &id, &n, &pad, &off) != 3 || off < 0 || id < 0 || id >= WRITERS) {
            fprintf(stderr, "malformed line %" PRIu64 ": %s", lines, line);
            abort();
        }
        /* the padding was written as pad spaces (width pad, empty string) */
        const char *bar = strchr(line, '|');
        CHECK(bar != NULL);
        CHECK_EQ(sscanf(bar, "|%" SCNx64, &sum), 1);
        CHECK_EQ(sum, (uint64_t)id * 1000003u + n * 31 + pad);
        CHECK_EQ(n, seen[id]); /* each writer's lines in order, none lost */
        seen[id]++;
        lines++;
    }
    for (int i = 0; i < WRITERS; i++) {
        CHECK_EQ(seen[i], written[i]);
        total += written[i];
    }
    CHECK_EQ(lines, total);
    printf("%" PRIu64 " lines read back, all whole and in order\n", lines);
    CHECK(d.preempt_async > 0);
    fclose(shared);
    return 0;
}
