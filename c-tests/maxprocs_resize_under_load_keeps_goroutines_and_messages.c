// gort_maxprocs resizes the set of Ps up and down (2 -> 1 -> 4 -> 2 -> 3
// -> 1 -> 2 ...) while 50 goroutines ping-pong numbered messages over
// unbuffered channels and 3 call-free hogs run: each call returns the
// previous count, every goroutine keeps making progress after every
// resize, every message arrives exactly once and in order, and all
// goroutines finish. Resizes come from the main thread and from a goroutine.
// env: GORTMAXPROCS=2
// timeout: 180
#include "stw_test_util.h"

#define PAIRS 25
#define MSGS 3000
#define HOGS 3

typedef struct pair {
    gort_chan *to, *from;
    _Alignas(64) atomic_long progress; /* messages this side handled */
} pair;

static pair pings[PAIRS], pongs[PAIRS];
static atomic_long delivered;

static void ping(void *arg) {
    pair *p = arg;
    for (int64_t i = 0; i < MSGS; i++) {
        int64_t r = -1;
        CHECK_EQ(gort_chan_send(p->to, &i), 0);
        CHECK_EQ(gort_chan_recv(p->from, &r), 0);
        CHECK_EQ(r, i + 1);
        atomic_fetch_add(&p->progress, 1);
        atomic_fetch_add(&delivered, 2);
    }
}

static void pong(void *arg) {
    pair *p = arg;
    for (int64_t i = 0; i < MSGS; i++) {
        int64_t v = -1;
        CHECK_EQ(gort_chan_recv(p->from, &v), 0);
        CHECK_EQ(v, i); /* in order, none lost, none twice */
        v++;
        CHECK_EQ(gort_chan_send(p->to, &v), 0);
        atomic_fetch_add(&p->progress, 1);
    }
}

static int cur = 2;

/* Resizes to n, checks the returned previous value, then that every
 * unfinished goroutine moves again within 10 s. */
static void resize(int n) {
    CHECK_EQ(gort_maxprocs(n), cur);
    cur = n;
    CHECK_EQ(gort_maxprocs(0), n);
    CHECK_EQ(stw_stats().maxprocs, n);
    long base[2 * PAIRS];
    for (int k = 0; k < PAIRS; k++) {
        base[2 * k] = atomic_load(&pings[k].progress);
        base[2 * k + 1] = atomic_load(&pongs[k].progress);
    }
    int64_t deadline = gt_now_ns() + 10000000000LL;
    for (;;) {
        int stuck = 0;
        for (int k = 0; k < PAIRS; k++) {
            stuck += base[2 * k] < MSGS && atomic_load(&pings[k].progress) == base[2 * k];
            stuck += base[2 * k + 1] < MSGS && atomic_load(&pongs[k].progress) == base[2 * k + 1];
        }
        if (stuck == 0) break;
        if (gt_now_ns() > deadline) {
            fprintf(stderr, "after resizing to %d: %d goroutines made no progress in 10 s (delivered %ld)\n", n,
                    stuck, atomic_load(&delivered));
            abort();
        }
        CHECK_EQ(gort_sleep(1000000), 0);
    }
    uint64_t hogs[HOGS];
    stw_snapshot(HOGS, hogs);
    CHECK_EQ(stw_wait_all_moved(HOGS, hogs, 10000), 0);
}

static const int sizes[] = {1, 4, 2, 3, 1, 2};

static void resize_from_goroutine(void *arg) {
    (void)arg;
    for (int i = 0; i < 6; i++) resize(sizes[(i + 3) % 6]);
}

int main(void) {
    gt_watchdog(170);
    CHECK_EQ(gort_maxprocs(0), 2);
    stw_start_hogs(HOGS);
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    for (int k = 0; k < PAIRS; k++) {
        gort_chan *a = gort_chan_make(sizeof(int64_t), 0), *b = gort_chan_make(sizeof(int64_t), 0);
        CHECK(a && b);
        pings[k].to = a, pings[k].from = b;
        pongs[k].to = b, pongs[k].from = a;
        ct_go_wg(&wg, ping, &pings[k]);
        ct_go_wg(&wg, pong, &pongs[k]);
    }
    int rounds = 0;
    while (atomic_load(&delivered) < (long)PAIRS * MSGS * 2 * 3 / 4 || rounds < 2) {
        for (int i = 0; i < 6; i++) resize(sizes[i]);
        CHECK_EQ(gort_main(resize_from_goroutine, NULL), 0);
        rounds++;
        if (atomic_load(&delivered) == (long)PAIRS * MSGS * 2) break;
    }
    CHECK_EQ(gort_wg_wait(&wg), 0);
    CHECK_EQ(atomic_load(&delivered), (long)PAIRS * MSGS * 2);
    for (int k = 0; k < PAIRS; k++) {
        CHECK_EQ(atomic_load(&pings[k].progress), MSGS);
        CHECK_EQ(atomic_load(&pongs[k].progress), MSGS);
    }
    stw_stop_hogs();
    CHECK_WITHIN_MS(5000, gort_num_goroutines() == 0);
    CHECK_EQ(gort_maxprocs(2), cur); /* back to the start, now idle */
    CHECK_EQ(gort_maxprocs(0), 2);
    printf("%d rounds of 12 resizes; %ld messages delivered\n", rounds, atomic_load(&delivered));
    return 0;
}
