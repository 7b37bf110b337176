// Stops right after starts: each start hands the Ps out to Ms that are
// still waking up when the next stop comes, and that stop takes those Ps
// back before the Ms get them. Thousands of back-to-back stop/start pairs,
// with call-free hogs, a channel ping-pong and a sleeper running, and a
// resize in between, must lose no P and no goroutine: afterwards every hog
// runs again, the ping-pong and the sleeper finish, and every stop is
// counted.
// env: GORTMAXPROCS=2 STW_FROM=thread
// env: GORTMAXPROCS=2 STW_FROM=goroutine
// env: GORTMAXPROCS=3 STW_FROM=goroutine
// timeout: 120
#include "stw_test_util.h"

#define HOGS 4
#define PAIRS 3000
#define MESSAGES 20000

static gort_chan *ping, *pong;
static gort_waitgroup side_wg;

static void echo(void *arg) {
    (void)arg;
    int64_t v;
    while (gort_chan_recv(ping, &v) == 0) {
        v++;
        CHECK_EQ(gort_chan_send(pong, &v), 0);
    }
    gort_wg_done(&side_wg);
}

static void pinger(void *arg) {
    (void)arg;
    for (int64_t i = 0; i < MESSAGES; i++) {
        int64_t v;
        CHECK_EQ(gort_chan_send(ping, &i), 0);
        CHECK_EQ(gort_chan_recv(pong, &v), 0);
        CHECK_EQ(v, i + 1);
    }
    CHECK_EQ(gort_chan_close(ping), 0);
    gort_wg_done(&side_wg);
}

static void sleeper(void *arg) {
    (void)arg;
    for (int i = 0; i < 200; i++) CHECK_EQ(gort_sleep(100000), 0);
    gort_wg_done(&side_wg);
}

static void stops(int n) {
    for (int i = 0; i < n; i++) {
        CHECK_EQ(gort_stop_the_world(), 0);
        CHECK_EQ(gort_start_the_world(), 0);
    }
}

static void run(void *arg) {
    (void)arg;
    stops(PAIRS);
    int old = gort_maxprocs(4);
    stops(PAIRS);
    CHECK_EQ(gort_maxprocs(old), 4);
    stops(PAIRS);
}

int main(void) {
    gt_watchdog(110);
    ping = gort_chan_make(sizeof(int64_t), 0);
    pong = gort_chan_make(sizeof(int64_t), 0);
    CHECK(ping && pong);
    stw_start_hogs(HOGS);
    uint64_t zero[HOGS] = {0};
    CHECK_EQ(stw_wait_all_moved(HOGS, zero, 5000), 0);
    CHECK_EQ(gort_wg_add(&side_wg, 3), 0);
    CHECK_EQ(gort_go(echo, NULL), 0);
    CHECK_EQ(gort_go(pinger, NULL), 0);
    CHECK_EQ(gort_go(sleeper, NULL), 0);
    gort_stats before = stw_stats();

    const char *from = getenv("STW_FROM");
    if (from && strcmp(from, "goroutine") == 0)
        CHECK_EQ(gort_main(run, NULL), 0);
    else
        run(NULL);

    gort_stats after = stw_stats();
    /* 3 * PAIRS stops of ours, plus the two resizes. */
    CHECK_EQ(after.stw_count - before.stw_count, 3 * PAIRS + 2);
    uint64_t base[HOGS];
    stw_snapshot(HOGS, base);
    CHECK_EQ(stw_wait_all_moved(HOGS, base, 5000), 0); /* every hog still gets a P */
    CHECK_EQ(gort_wg_wait(&side_wg), 0);                 /* the ping-pong and the sleeper finished */
    stw_stop_hogs();
    CHECK_WITHIN_MS(5000, gort_num_goroutines() == 0); /* exiting after wg_done */
    printf("%d stop/start pairs from a %s: max stop %llu us\n", 3 * PAIRS, from ? from : "thread",
           (unsigned long long)after.stw_max_ns / 1000);
    gort_chan_release(ping);
    gort_chan_release(pong);
    return 0;
}
