// Closing a channel wakes every sender blocked on it (send, send_timeout and
// select, goroutines and plain threads) with EPIPE; none of their values is
// delivered, and the values already buffered are still received in order.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// timeout: 60
#include "chan_test_util.h"

#define GOROUTINES 16
#define THREADS 3

enum { VIA_SEND, VIA_SEND_TIMEOUT, VIA_SELECT, VIA_COUNT };

struct sender {
    gort_chan *c;
    int via;
    int64_t value;
    int result;
};

static atomic_int ready;

static void block_on(struct sender *s) {
    atomic_fetch_add(&ready, 1);
    switch (s->via) {
    case VIA_SEND:
        s->result = gort_chan_send(s->c, &s->value);
        break;
    case VIA_SEND_TIMEOUT:
        s->result = gort_chan_send_timeout(s->c, &s->value, CT_MS(30000));
        break;
    default: {
        gort_case cs[2] = {
            {.chan = s->c, .op = GORT_SEND, .elem = &s->value},
            {.chan = NULL, .op = GORT_SEND, .elem = &s->value},
        };
        int i = gort_select(cs, 2, -1);
        CHECK_EQ(i, 0);
        s->result = cs[0].result;
    }
    }
}

static void g_sender(void *arg) { block_on(arg); }
static void *t_sender(void *arg) {
    block_on(arg);
    return NULL;
}

static void round_for(size_t cap) {
    gort_chan *c = ct_chan(sizeof(int64_t), cap);
    for (size_t i = 0; i < cap; i++) {
        int64_t v = 100 + (int64_t)i;
        CHECK_EQ(gort_chan_send(c, &v), 0); /* fill it: senders below block */
    }
    struct sender ss[GOROUTINES + THREADS];
    pthread_t ts[THREADS];
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    atomic_store(&ready, 0);
    for (int i = 0; i < GOROUTINES + THREADS; i++) {
        ss[i] = (struct sender){.c = c, .via = i % VIA_COUNT, .value = 1000 + i, .result = -1};
        if (i < GOROUTINES)
            ct_go_wg(&wg, g_sender, &ss[i]);
        else
            ts[i - GOROUTINES] = ct_thread(t_sender, &ss[i]);
    }
    CT_WITHIN_MS(10000, atomic_load(&ready) == GOROUTINES + THREADS);
    ct_sleep_ms(100); /* let them all block */
    for (int i = 0; i < GOROUTINES + THREADS; i++) CHECK_EQ(ss[i].result, -1);
    CHECK_EQ(gort_chan_len(c), cap);
    CHECK_EQ(gort_chan_close(c), 0);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    for (int i = 0; i < THREADS; i++) ct_join(ts[i]);
    for (int i = 0; i < GOROUTINES + THREADS; i++) CHECK_EQ(ss[i].result, EPIPE);
    /* Only the values buffered before the close come out, in order. */
    CHECK_EQ(gort_chan_len(c), cap);
    for (size_t i = 0; i < cap; i++) {
        int64_t v = -1;
        CHECK_EQ(gort_chan_recv(c, &v), 0);
        CHECK_EQ(v, 100 + (int64_t)i);
    }
    int64_t v = -1;
    CHECK_EQ(gort_chan_recv(c, &v), EPIPE);
    CHECK_EQ(v, 0);
    gort_chan_release(c);
}

int main(void) {
    gt_watchdog(50);
    round_for(0); /* unbuffered */
    round_for(3); /* buffered, full */
    return 0;
}
