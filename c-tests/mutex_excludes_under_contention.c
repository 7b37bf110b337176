// gort_mutex gives mutual exclusion under heavy contention between
// goroutines and plain threads, even when the holder yields, sleeps or
// blocks on a channel inside the critical section: no two holders overlap
// and no increment of a plain (non-atomic) counter is lost.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// env: GORTMAXPROCS=4
// timeout: 120
#include "chan_test_util.h"

#define GOROUTINES 16
#define THREADS 3
#define ITERS 20000

static gort_mutex mu; /* zero value: unlocked */
static uint64_t counter;        /* protected by mu */
static volatile int inside;     /* protected by mu; checks overlap */
static gort_chan *token;         /* buffered, always has a value: a cheap blocking op */
static atomic_int overlaps;

static void work(int id) {
    for (int i = 0; i < ITERS; i++) {
        CHECK_EQ(gort_mutex_lock(&mu), 0);
        if (inside) atomic_fetch_add(&overlaps, 1);
        inside = 1;
        uint64_t c = counter;
        if (i % 16 == id % 16) gort_yield();        /* give others every chance */
        if (i % 4096 == 0) ct_sleep_ms(1);         /* park while holding it */
        if (i % 512 == 1) {                          /* a channel op while holding it */
            int64_t v;
            CHECK_EQ(gort_chan_recv(token, &v), 0);
            CHECK_EQ(gort_chan_send(token, &v), 0);
        }
        counter = c + 1;
        inside = 0;
        CHECK_EQ(gort_mutex_unlock(&mu), 0);
    }
}
static void g_work(void *arg) { work((int)(intptr_t)arg); }
static void *t_work(void *arg) {
    work((int)(intptr_t)arg);
    return NULL;
}

int main(void) {
    gt_watchdog(110);
    token = ct_chan(sizeof(int64_t), 1);
    int64_t v = 1;
    CHECK_EQ(gort_chan_send(token, &v), 0);
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    pthread_t ts[THREADS];
    for (intptr_t i = 0; i < GOROUTINES; i++) ct_go_wg(&wg, g_work, (void *)i);
    for (intptr_t i = 0; i < THREADS; i++) ts[i] = ct_thread(t_work, (void *)(GOROUTINES + i));
    for (int i = 0; i < THREADS; i++) ct_join(ts[i]);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    CHECK_EQ(atomic_load(&overlaps), 0);
    CHECK_EQ(counter, (uint64_t)(GOROUTINES + THREADS) * ITERS);
    CHECK_EQ(gort_mutex_trylock(&mu), 0); /* left unlocked */
    CHECK_EQ(gort_mutex_unlock(&mu), 0);
    gort_chan_release(token);
    return 0;
}
