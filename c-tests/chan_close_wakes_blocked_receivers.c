// Closing a channel wakes every receiver blocked on it, goroutines and plain
// threads, through recv, recv_timeout and select alike: each gets EPIPE and
// its `out` buffer zero-filled.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// timeout: 60
#include "chan_test_util.h"

#define GOROUTINES 16
#define THREADS 3

struct big {
    uint64_t a, b, c;
};

enum { VIA_RECV, VIA_RECV_TIMEOUT, VIA_SELECT, VIA_COUNT };

struct waiter {
    gort_chan *c;
    int via;
    int result;
    struct big out;
};

static atomic_int ready;

static void wait_on(struct waiter *w) {
    memset(&w->out, 0x5A, sizeof w->out);
    atomic_fetch_add(&ready, 1);
    switch (w->via) {
    case VIA_RECV:
        w->result = gort_chan_recv(w->c, &w->out);
        break;
    case VIA_RECV_TIMEOUT:
        w->result = gort_chan_recv_timeout(w->c, &w->out, CT_MS(30000));
        break;
    default: {
        gort_case cs[2] = {
            {.chan = NULL, .op = GORT_RECV, .elem = NULL},
            {.chan = w->c, .op = GORT_RECV, .elem = &w->out},
        };
        int i = gort_select(cs, 2, -1);
        CHECK_EQ(i, 1);
        w->result = cs[1].result;
    }
    }
}

static void g_waiter(void *arg) { wait_on(arg); }
static void *t_waiter(void *arg) {
    wait_on(arg);
    return NULL;
}

static void round_for(size_t cap) {
    gort_chan *c = ct_chan(sizeof(struct big), cap);
    struct waiter ws[GOROUTINES + THREADS];
    pthread_t ts[THREADS];
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    atomic_store(&ready, 0);
    for (int i = 0; i < GOROUTINES + THREADS; i++) {
        ws[i] = (struct waiter){.c = c, .via = i % VIA_COUNT, .result = -1};
        if (i < GOROUTINES)
            ct_go_wg(&wg, g_waiter, &ws[i]);
        else
            ts[i - GOROUTINES] = ct_thread(t_waiter, &ws[i]);
    }
    CT_WITHIN_MS(10000, atomic_load(&ready) == GOROUTINES + THREADS);
    ct_sleep_ms(100); /* let them all block */
    for (int i = 0; i < GOROUTINES + THREADS; i++) CHECK_EQ(ws[i].result, -1); /* nobody returned early */
    CHECK_EQ(gort_chan_close(c), 0);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    for (int i = 0; i < THREADS; i++) ct_join(ts[i]);
    for (int i = 0; i < GOROUTINES + THREADS; i++) {
        CHECK_EQ(ws[i].result, EPIPE);
        CHECK_EQ(ws[i].out.a, 0);
        CHECK_EQ(ws[i].out.b, 0);
        CHECK_EQ(ws[i].out.c, 0);
    }
    /* Later receivers see the same. */
    struct big late;
    memset(&late, 0x5A, sizeof late);
    CHECK_EQ(gort_chan_recv(c, &late), EPIPE);
    CHECK_EQ(late.a | late.b | late.c, 0);
    gort_chan_release(c);
}

int main(void) {
    gt_watchdog(50);
    round_for(0); /* unbuffered */
    round_for(4); /* buffered, empty */
    return 0;
}
