// Plain OS threads and goroutines meet on unbuffered channels in both
// directions: thread -> goroutine -> thread ping-pong, goroutine ->
// thread -> goroutine ping-pong, and thread <-> thread, every value
// answered in order.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// timeout: 90
#include "chan_test_util.h"

#define ROUNDS 20000
#define PAIRS 3

struct pair {
    gort_chan *ping, *pong;
};

/* Answers every ping with ping + 1 until ping is closed, then closes pong. */
static void echo(struct pair *p) {
    int64_t v;
    int r;
    while ((r = gort_chan_recv(p->ping, &v)) == 0) {
        v += 1;
        CHECK_EQ(gort_chan_send(p->pong, &v), 0);
    }
    CHECK_EQ(r, EPIPE);
    CHECK_EQ(gort_chan_close(p->pong), 0);
}

static void serve(struct pair *p) {
    for (int64_t i = 0; i < ROUNDS; i++) {
        int64_t v = i * 2, back = -1;
        CHECK_EQ(gort_chan_send(p->ping, &v), 0);
        CHECK_EQ(gort_chan_recv(p->pong, &back), 0);
        CHECK_EQ(back, i * 2 + 1);
    }
    CHECK_EQ(gort_chan_close(p->ping), 0);
    CHECK_EQ(gort_chan_recv(p->pong, NULL), EPIPE);
}

static void g_echo(void *arg) { echo(arg); }
static void g_serve(void *arg) { serve(arg); }
static void *t_echo(void *arg) {
    echo(arg);
    return NULL;
}
static void *t_serve(void *arg) {
    serve(arg);
    return NULL;
}

static void make_pair(struct pair *p) {
    p->ping = ct_chan(sizeof(int64_t), 0);
    p->pong = ct_chan(sizeof(int64_t), 0);
}

static void free_pair(struct pair *p) {
    gort_chan_release(p->ping);
    gort_chan_release(p->pong);
}

int main(void) {
    gt_watchdog(80);
    struct pair tg[PAIRS], gt[PAIRS], tt;
    pthread_t servers[PAIRS], echoers[PAIRS], tts, tte;
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    /* All three kinds at once, so goroutines and threads interleave. */
    for (int i = 0; i < PAIRS; i++) {
        make_pair(&tg[i]); /* thread serves, goroutine echoes */
        ct_go_wg(&wg, g_echo, &tg[i]);
        servers[i] = ct_thread(t_serve, &tg[i]);
        make_pair(&gt[i]); /* goroutine serves, thread echoes */
        echoers[i] = ct_thread(t_echo, &gt[i]);
        ct_go_wg(&wg, g_serve, &gt[i]);
    }
    make_pair(&tt); /* two plain threads */
    tte = ct_thread(t_echo, &tt);
    tts = ct_thread(t_serve, &tt);
    for (int i = 0; i < PAIRS; i++) {
        ct_join(servers[i]);
        ct_join(echoers[i]);
    }
    ct_join(tts);
    ct_join(tte);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    for (int i = 0; i < PAIRS; i++) {
        free_pair(&tg[i]);
        free_pair(&gt[i]);
    }
    free_pair(&tt);
    return 0;
}
