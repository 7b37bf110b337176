// Channels of zero-sized elements (elem_size 0, Go's chan struct{}) work:
// unbuffered ones rendezvous, buffered ones count values up to their
// capacity, close works, and receiving never writes to `out`.
// env: GORTMAXPROCS=2
// timeout: 60
#include "chan_test_util.h"

#define SIGNALLERS 100

static gort_chan *done;
static char token; /* a valid address to "send"; nothing is read from it */

static void signaller(void *arg) {
    (void)arg;
    CHECK_EQ(gort_chan_send(done, &token), 0);
}

static atomic_int recv_entered;
static void late_receiver(void *arg) {
    gort_chan *c = arg;
    ct_sleep_ms(50);
    atomic_store(&recv_entered, 1);
    CHECK_EQ(gort_chan_recv(c, NULL), 0);
}

static void body(void *arg) {
    (void)arg;
    unsigned char guard[8];
    memset(guard, 0xA5, sizeof guard);

    /* Unbuffered: try_send with nobody waiting would block. */
    gort_chan *u = ct_chan(0, 0);
    CHECK_EQ(gort_chan_cap(u), 0);
    CHECK_EQ(gort_chan_try_send(u, &token), EAGAIN);
    CHECK_EQ(gort_chan_try_recv(u, guard), EAGAIN);
    /* Rendezvous with a receiver that arrives late. */
    atomic_store(&recv_entered, 0);
    ct_go(late_receiver, u);
    CHECK_EQ(gort_chan_send(u, &token), 0);
    CHECK_EQ(atomic_load(&recv_entered), 1);
    CHECK_EQ(gort_chan_len(u), 0);

    /* Buffered: counts up to cap, then refuses. */
    gort_chan *b = ct_chan(0, 3);
    CHECK_EQ(gort_chan_cap(b), 3);
    for (int i = 0; i < 3; i++) CHECK_EQ(gort_chan_try_send(b, &token), 0);
    CHECK_EQ(gort_chan_len(b), 3);
    CHECK_EQ(gort_chan_try_send(b, &token), EAGAIN);
    CHECK_EQ(gort_chan_send_timeout(b, &token, CT_MS(5)), ETIMEDOUT);
    CHECK_EQ(gort_chan_recv(b, guard), 0);
    CHECK_EQ(gort_chan_recv(b, NULL), 0);
    CHECK_EQ(gort_chan_len(b), 1);
    CHECK_EQ(gort_chan_close(b), 0);
    CHECK_EQ(gort_chan_try_send(b, &token), EPIPE);
    CHECK_EQ(gort_chan_try_recv(b, guard), 0); /* drains the last one */
    CHECK_EQ(gort_chan_recv(b, guard), EPIPE);
    CHECK_EQ(gort_chan_recv(b, NULL), EPIPE);
    for (size_t k = 0; k < sizeof guard; k++) CHECK_EQ(guard[k], 0xA5); /* 0 bytes written */

    /* As a completion signal: exactly SIGNALLERS receives succeed. */
    done = ct_chan(0, 0);
    for (int i = 0; i < SIGNALLERS; i++) ct_go(signaller, NULL);
    for (int i = 0; i < SIGNALLERS; i++) CHECK_EQ(gort_chan_recv(done, guard), 0);
    CHECK_EQ(gort_chan_recv_timeout(done, NULL, CT_MS(20)), ETIMEDOUT);
    for (size_t k = 0; k < sizeof guard; k++) CHECK_EQ(guard[k], 0xA5);

    CHECK_EQ(gort_chan_close(u), 0);
    CHECK_EQ(gort_chan_recv(u, NULL), EPIPE);
    gort_chan_release(u);
    gort_chan_release(b);
    gort_chan_release(done);
}

int main(void) {
    gt_watchdog(50);
    CHECK_EQ(gort_main(body, NULL), 0);
    body(NULL);
    return 0;
}
