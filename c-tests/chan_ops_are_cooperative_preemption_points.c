// Channel operations are cooperative preemption points: with preemption
// signals off and a single P, goroutines looping on channel calls that never
// block (buffered send+recv, try_recv, select with timeout 0) still let a
// sleeping goroutine run once its timer fires, so the loops see its flag.
// env: GORTMAXPROCS=1 GORTDEBUG=asyncpreemptoff=1
// timeout: 60
#include "chan_test_util.h"

static atomic_int flag;

static void setter(void *arg) {
    (void)arg;
    CHECK_EQ(gort_sleep(CT_MS(20)), 0);
    atomic_store(&flag, 1);
}

static void spin_send_recv(void *arg) {
    gort_chan *c = arg;
    int64_t v = 1;
    while (!atomic_load(&flag)) {
        CHECK_EQ(gort_chan_send(c, &v), 0); /* room: never blocks */
        CHECK_EQ(gort_chan_recv(c, &v), 0); /* a value: never blocks */
    }
}

static void spin_try(void *arg) {
    gort_chan *c = arg;
    while (!atomic_load(&flag)) CHECK_EQ(gort_chan_try_recv(c, NULL), EAGAIN);
}

static void spin_select(void *arg) {
    gort_chan *c = arg;
    int64_t v;
    while (!atomic_load(&flag)) {
        gort_case cs[1] = {{.chan = c, .op = GORT_RECV, .elem = &v, .result = -1}};
        CHECK_EQ(gort_select(cs, 1, 0), -EAGAIN);
    }
}

int main(void) {
    gt_watchdog(50);
    gort_func spinners[3] = {spin_send_recv, spin_try, spin_select};
    for (int k = 0; k < 3; k++) {
        gort_chan *c = ct_chan(sizeof(int64_t), k == 0 ? 1 : 0);
        atomic_store(&flag, 0);
        gort_waitgroup wg = GORT_WAITGROUP_INIT;
        int64_t t0 = gt_now_ns();
        ct_go_wg(&wg, setter, NULL);
        ct_go_wg(&wg, spinners[k], c);
        ct_go_wg(&wg, spinners[k], c); /* two spinners: the P is never idle */
        CHECK_EQ(gort_wg_wait(&wg), 0);
        printf("spinner %d released after %.1f ms\n", k, (gt_now_ns() - t0) / 1e6);
        gort_chan_release(c);
    }
    return 0;
}
