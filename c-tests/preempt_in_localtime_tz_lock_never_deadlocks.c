// Goroutines converting times with localtime_r/mktime/strftime (all behind
// glibc's time-zone lock, real here: TZ=Europe/Paris with its DST rules)
// are preempted thousands of times beside call-free hogs on 2 Ps, often
// inside libc with that lock held: no deadlock (a stalled worker fails the
// test, the watchdog catches the rest), every conversion is right
// (localtime_r then mktime gives the time back; the offset and zone name
// agree: CET +1h or CEST +2h), and preemptions really happened.
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=1 TZ=Europe/Paris
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=2 TZ=Europe/Paris
// timeout: 60
#include "preempt_test_util.h"

#define WORKERS 8
#define HOGS 2
#define RUN_MS 2500

static void work(int id, struct pt_counter *progress, const atomic_int *stop) {
    uint64_t n = 0, seed = (uint64_t)id * 104729 + 3;
    char zone[16];
    while (!atomic_load_explicit(stop, memory_order_relaxed)) {
        /* 1980..2037: Paris has been CET/CEST all along */
        time_t t = (time_t)(315532800 + ct_rand(&seed) % (2145916800 - 315532800));
        struct tm tm;
        CHECK(localtime_r(&t, &tm) != NULL);
        CHECK(tm.tm_isdst == 0 || tm.tm_isdst == 1);
        CHECK_EQ(tm.tm_gmtoff, tm.tm_isdst ? 7200 : 3600);
        CHECK(strftime(zone, sizeof zone, "%Z", &tm) > 0);
        CHECK(strcmp(zone, tm.tm_isdst ? "CEST" : "CET") == 0);
        struct tm copy = tm;
        time_t back = mktime(&copy);
        if (back != t) {
            fprintf(stderr, "worker %d: mktime(localtime_r(%lld)) = %lld\n", id, (long long)t, (long long)back);
            abort();
        }
        if (n % 64 == 0) tzset(); /* takes the lock too, and re-reads TZ */
        atomic_store_explicit(&progress->n, ++n, memory_order_relaxed);
    }
}

int main(void) {
    gt_watchdog(50);
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep what was printed if a check aborts */
    /* before the runtime starts: no goroutine reads the environment yet */
    CHECK_EQ(setenv("TZ", "Europe/Paris", 1), 0);
    tzset();
    struct tm tm;
    time_t summer = 1719835200; /* 2024-07-01 12:00 UTC */
    CHECK(localtime_r(&summer, &tm) != NULL);
    if (tm.tm_gmtoff != 7200) {
        /* no zoneinfo for Paris on this machine: the lock is still real,
         * but the DST checks would be wrong */
        fprintf(stderr, "TZ=Europe/Paris gives offset %ld in July: zoneinfo missing?\n", tm.tm_gmtoff);
        return 1;
    }
    gort_stats d;
    pt_run_workers("localtime_r/mktime", work, WORKERS, HOGS, RUN_MS, 5000, &d);
    CHECK(d.preempt_async > 0);
    return 0;
}
