// gort_main runs fn as a goroutine (gort_self() > 0 inside, with its
// argument) and returns 0 only after fn has returned, however long fn
// blocks; it can be called repeatedly and from several plain threads at
// once; a NULL fn gives EINVAL without running anything.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// timeout: 30
#include "chan_test_util.h"

struct ctx {
    int arg_seen;
    uint64_t self;
    atomic_int finished;
};

static void fn(void *arg) {
    struct ctx *c = arg;
    c->arg_seen = 1;
    c->self = gort_self();
    CHECK_EQ(gort_sleep(CT_MS(100)), 0);
    gort_yield();
    atomic_store(&c->finished, 1);
}

static void run_once(void) {
    struct ctx c = {0};
    int64_t t0 = gt_now_ns();
    CHECK_EQ(gort_main(fn, &c), 0);
    CHECK(gt_now_ns() - t0 >= CT_MS(100));
    CHECK_EQ(atomic_load(&c.finished), 1);
    CHECK_EQ(c.arg_seen, 1);
    CHECK(c.self > 0);
}

static void *thread_main(void *arg) {
    (void)arg;
    run_once();
    return NULL;
}

int main(void) {
    gt_watchdog(25);
    CHECK_EQ(gort_main(NULL, NULL), EINVAL);
    CHECK_EQ(gort_main(NULL, (void *)1), EINVAL);
    CHECK_EQ(gort_num_goroutines(), 0);
    for (int i = 0; i < 3; i++) run_once();
    pthread_t ts[4];
    for (int i = 0; i < 4; i++) ts[i] = ct_thread(thread_main, NULL);
    run_once();
    for (int i = 0; i < 4; i++) ct_join(ts[i]);
    return 0;
}
