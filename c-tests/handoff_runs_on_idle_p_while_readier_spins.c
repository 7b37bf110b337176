// A goroutine readied by a hand-off (a send to it lands in the sender's
// P's `next` slot) runs on an idle P even when the sender then spins in a
// call-free loop and is never preempted (asyncpreemptoff=1). A hand-off
// wakes no spinning M by itself (the sender usually blocks at once and
// runs the receiver itself); for a sender that never comes back to the
// runtime, sysmon does. Without that the receiver would wait forever here.
// env: GORTMAXPROCS=2 GORTDEBUG=asyncpreemptoff=1
// timeout: 60
#include "chan_test_util.h"

#define ROUNDS 20

static gort_chan *c;
static atomic_int received;
static int64_t worst_wait;

static void receiver(void *arg) {
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        int64_t v;
        CHECK_EQ(gort_chan_recv(c, &v), 0);
        CHECK_EQ(v, i);
        atomic_store(&received, i + 1);
    }
}

/* Sends one value per round once the receiver is blocked again, then spins
 * without calling the runtime until the receiver has it. */
static void sender(void *arg) {
    (void)arg;
    for (int64_t i = 0; i < ROUNDS; i++) {
        CHECK_EQ(gort_sleep(2000000), 0); /* let the receiver block in recv */
        CHECK_EQ(gort_chan_send(c, &i), 0);
        int64_t t0 = gt_now_ns();
        while (atomic_load(&received) <= i) {
            CHECK(gt_now_ns() - t0 < 10 * 1000000000LL);
        }
        int64_t waited = gt_now_ns() - t0;
        if (waited > worst_wait) worst_wait = waited;
    }
}

static void main_g(void *arg) {
    (void)arg;
    c = ct_chan(sizeof(int64_t), 0);
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    ct_go_wg(&wg, receiver, NULL);
    ct_go_wg(&wg, sender, NULL);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    gort_chan_release(c);
}

int main(void) {
    gt_watchdog(50);
    CHECK_EQ(gort_main(main_g, NULL), 0);
    /* sysmon looks at least every 10 ms (measured here: 1.5-3 ms worst of
     * 20); a generous bound for a loaded CI machine, far below the 10 s a
     * stranded receiver would wait. */
    CHECK(worst_wait < 1000000000LL);
    printf("%d hand-offs to a receiver behind a spinning sender: worst wait %.2f ms\n", ROUNDS, worst_wait / 1e6);
    return 0;
}
