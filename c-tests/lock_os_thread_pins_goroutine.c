// gort_lock_os_thread keeps a goroutine on one OS thread (same gettid,
// pthread_self and __thread storage) across yields, sleeps, channel
// operations and mutex waits, while other goroutines compete for the Ps;
// after unlock the goroutine still runs normally. A plain thread gets EPERM.
// env: GORTMAXPROCS=2
// env: GORTMAXPROCS=4
// timeout: 60
#include "chan_test_util.h"

#include <sys/syscall.h>

#define PINNED 4
#define BUSY 8
#define ITERS 300

static __thread int tls_marker;
static atomic_int stop_busy;
static gort_chan *ping;
static gort_mutex mu;

static pid_t tid(void) { return (pid_t)syscall(SYS_gettid); }

static void busy(void *arg) {
    (void)arg;
    uint64_t seed = (uint64_t)(uintptr_t)&arg;
    while (!atomic_load(&stop_busy)) {
        int64_t v = 1;
        (void)gort_chan_try_send(ping, &v);
        (void)gort_chan_try_recv(ping, &v);
        if (ct_rand(&seed) % 4 == 0) ct_sleep_ms(0);
        gort_yield();
    }
}

static void pinned(void *arg) {
    int id = (int)(intptr_t)arg;
    CHECK_EQ(gort_lock_os_thread(), 0);
    pid_t my_tid = tid();
    pthread_t me = pthread_self();
    tls_marker = 1000 + id;
    uint64_t seed = (uint64_t)id + 1;
    for (int i = 0; i < ITERS; i++) {
        switch (ct_rand(&seed) % 5) {
        case 0: gort_yield(); break;
        case 1: CHECK_EQ(gort_sleep((int64_t)(ct_rand(&seed) % 200000)), 0); break;
        case 2: {
            int64_t v = i;
            (void)gort_chan_send_timeout(ping, &v, 100000);
            break;
        }
        case 3:
            CHECK_EQ(gort_mutex_lock(&mu), 0);
            gort_yield();
            CHECK_EQ(gort_mutex_unlock(&mu), 0);
            break;
        default: (void)gort_chan_recv_timeout(ping, NULL, 100000); break;
        }
        CHECK_EQ(tid(), my_tid);
        CHECK(pthread_equal(pthread_self(), me));
        CHECK_EQ(tls_marker, 1000 + id);
    }
    CHECK_EQ(gort_unlock_os_thread(), 0);
    /* unpinned: keeps working (it may move now) */
    for (int i = 0; i < 50; i++) {
        gort_yield();
        CHECK_EQ(gort_sleep(10000), 0);
    }
}

static void *plain(void *arg) {
    (void)arg;
    CHECK_EQ(gort_lock_os_thread(), EPERM);
    return NULL;
}

int main(void) {
    gt_watchdog(50);
    CHECK_EQ(gort_lock_os_thread(), EPERM); /* the main thread is not a goroutine */
    ct_join(ct_thread(plain, NULL));
    ping = ct_chan(sizeof(int64_t), 1);
    gort_waitgroup busy_wg = GORT_WAITGROUP_INIT, pinned_wg = GORT_WAITGROUP_INIT;
    for (int i = 0; i < BUSY; i++) ct_go_wg(&busy_wg, busy, NULL);
    for (intptr_t i = 0; i < PINNED; i++) ct_go_wg(&pinned_wg, pinned, (void *)i);
    CHECK_EQ(gort_wg_wait(&pinned_wg), 0);
    atomic_store(&stop_busy, 1);
    CHECK_EQ(gort_wg_wait(&busy_wg), 0);
    gort_chan_release(ping);
    return 0;
}
