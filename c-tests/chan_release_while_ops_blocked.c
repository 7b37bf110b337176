// Releasing references to a channel while operations are blocked on it is
// safe: they complete normally when a remaining reference sends, receives
// or closes, when their timeout expires after the last user reference is
// gone, or when a select fires on another channel and comes back to unlink
// itself from the released one (freed memory is poisoned by MALLOC_PERTURB_
// and reused, so a use-after-free shows).
// env: GORTMAXPROCS=2 MALLOC_PERTURB_=165
// env: GORTMAXPROCS=1 MALLOC_PERTURB_=90
// timeout: 60
#include "chan_test_util.h"

#define N 6

struct op {
    gort_chan *c;
    int kind; /* 0 recv, 1 send, 2 select recv, 3 select send */
    int64_t timeout;
    int64_t value;
    atomic_int result;
};

static atomic_int started;

static void run_op(struct op *o) {
    atomic_fetch_add(&started, 1);
    int r;
    switch (o->kind) {
    case 0: r = gort_chan_recv_timeout(o->c, &o->value, o->timeout); break;
    case 1: r = gort_chan_send_timeout(o->c, &o->value, o->timeout); break;
    default: {
        gort_case cs[1] = {{.chan = o->c, .op = o->kind == 2 ? GORT_RECV : GORT_SEND, .elem = &o->value, .result = -1}};
        int i = gort_select(cs, 1, o->timeout);
        r = i == 0 ? cs[0].result : i == -ETIMEDOUT ? ETIMEDOUT : 1000 - i;
    }
    }
    atomic_store(&o->result, r);
}
static void g_op(void *arg) { run_op(arg); }

/* A two-case select: receive from `gone` (released while it waits) or
 * from `live`; `result` is the chosen case's index. */
struct sel {
    gort_chan *gone, *live;
    int64_t value;
    atomic_int result;
};

static void g_sel(void *arg) {
    struct sel *s = arg;
    atomic_fetch_add(&started, 1);
    gort_case cs[2] = {
        {.chan = s->gone, .op = GORT_RECV, .elem = &s->value},
        {.chan = s->live, .op = GORT_RECV, .elem = &s->value},
    };
    atomic_store(&s->result, gort_select(cs, 2, -1));
}
static void *t_op(void *arg) {
    run_op(arg);
    return NULL;
}

/* Makes and releases channels until glibc's per-thread cache for their
 * sizes is full, so that the next channel freed goes past it and
 * MALLOC_PERTURB_ poisons its memory. */
static void fill_malloc_cache(void) {
    gort_chan *fill[32];
    for (int i = 0; i < 32; i++) fill[i] = ct_chan(sizeof(int64_t), (size_t)(i % 2));
    for (int i = 0; i < 32; i++) gort_chan_release(fill[i]);
}

/* Allocate, fill and free memory of many sizes so a freed channel's memory
 * is reused and overwritten. */
static void churn(void) {
    for (int round = 0; round < 4; round++) {
        gort_chan *cs[256];
        for (int i = 0; i < 256; i++) {
            cs[i] = ct_chan(sizeof(int64_t), (size_t)(i % 3));
            int64_t v = -1;
            (void)gort_chan_try_send(cs[i], &v);
        }
        for (int i = 0; i < 256; i++) gort_chan_release(cs[i]);
        for (size_t sz = 16; sz <= 4096; sz *= 2) {
            void *p = malloc(sz);
            memset(p, 0xEE, sz);
            free(p);
        }
    }
}

static int wait_started(int n) {
    CT_WITHIN_MS(10000, atomic_load(&started) >= n);
    ct_sleep_ms(50); /* and let them block */
    return n;
}

int main(void) {
    gt_watchdog(50);

    /* A: the owner releases; another reference completes the blocked ops. */
    {
        gort_chan *rc = ct_chan(sizeof(int64_t), 0); /* blocked receivers */
        gort_chan *sc = ct_chan(sizeof(int64_t), 1); /* full: blocked senders */
        int64_t v = 500;
        CHECK_EQ(gort_chan_send(sc, &v), 0);
        gort_chan_retain(rc);
        gort_chan_retain(sc);
        gort_chan *rkeep = rc, *skeep = sc;
        struct op rops[N], sops[N];
        pthread_t rt, st;
        atomic_store(&started, 0);
        for (int i = 0; i < N; i++) {
            rops[i] = (struct op){.c = rc, .kind = i % 2 ? 2 : 0, .timeout = -1, .value = -1};
            sops[i] = (struct op){.c = sc, .kind = i % 2 ? 3 : 1, .timeout = -1, .value = 600 + i};
            atomic_store(&rops[i].result, -100);
            atomic_store(&sops[i].result, -100);
        }
        for (int i = 0; i < N - 1; i++) {
            ct_go(g_op, &rops[i]);
            ct_go(g_op, &sops[i]);
        }
        rt = ct_thread(t_op, &rops[N - 1]);
        st = ct_thread(t_op, &sops[N - 1]);
        wait_started(2 * N);
        gort_chan_release(rc); /* the owner's references go */
        gort_chan_release(sc);
        churn();
        for (int i = 0; i < N; i++) {
            CHECK_EQ(atomic_load(&rops[i].result), -100);
            CHECK_EQ(atomic_load(&sops[i].result), -100);
        }
        /* Half the receivers get a value, the rest see the close. */
        for (int i = 0; i < N / 2; i++) {
            int64_t x = 700 + i;
            CHECK_EQ(gort_chan_send(rkeep, &x), 0);
        }
        CHECK_EQ(gort_chan_close(rkeep), 0);
        /* Half the senders get through (one value is buffered), the rest
         * see the close. */
        int64_t got_sum = 0;
        for (int i = 0; i < N / 2; i++) {
            int64_t x = -1;
            CHECK_EQ(gort_chan_recv(skeep, &x), 0);
            got_sum += x;
        }
        CHECK_EQ(gort_chan_close(skeep), 0);
        ct_join(rt);
        ct_join(st);
        int rok = 0, rpipe = 0, sok = 0, spipe = 0;
        int64_t rsum = 0, ssum = 0;
        for (int i = 0; i < N; i++) {
            CT_WITHIN_MS(10000, atomic_load(&rops[i].result) != -100);
            CT_WITHIN_MS(10000, atomic_load(&sops[i].result) != -100);
            int r = atomic_load(&rops[i].result), s = atomic_load(&sops[i].result);
            CHECK(r == 0 || r == EPIPE);
            CHECK(s == 0 || s == EPIPE);
            if (r == 0) {
                rok++;
                rsum += rops[i].value;
            } else {
                rpipe++;
                CHECK_EQ(rops[i].value, 0);
            }
            if (s == 0) {
                sok++;
                ssum += sops[i].value;
            } else {
                spipe++;
            }
        }
        CHECK_EQ(rok, N / 2);
        CHECK_EQ(rpipe, N - N / 2);
        CHECK_EQ(rsum, 700 * (N / 2) + (N / 2) * (N / 2 - 1) / 2);
        /* each receive let one sender through (its value moved into the
         * buffer): the buffered 500 and the successful senders' values all
         * come out, nothing else */
        int64_t rest = 0, x;
        while (gort_chan_recv(skeep, &x) == 0) rest += x;
        CHECK_EQ(got_sum + rest, 500 + ssum);
        CHECK_EQ(sok, N / 2);
        CHECK_EQ(sok + spipe, N);
        gort_chan_release(rkeep);
        gort_chan_release(skeep);
    }

    /* B: the last user reference goes while operations wait with a timeout;
     * they time out normally afterwards. Mode 0 leaves the memory a wrongly
     * freed channel would have had poisoned (glibc's per-thread cache for its
     * sizes is filled first, so a free really perturbs it); mode 1 reuses
     * it at once. */
    for (int mode = 0; mode < 2; mode++) {
        gort_chan *u = ct_chan(sizeof(int64_t), 0);
        gort_chan *full = ct_chan(sizeof(int64_t), 1);
        int64_t v = 1;
        CHECK_EQ(gort_chan_send(full, &v), 0);
        struct op ops[2 * N];
        pthread_t t1, t2;
        atomic_store(&started, 0);
        for (int i = 0; i < 2 * N; i++) {
            int send = i % 2;
            ops[i] = (struct op){.c = send ? full : u, .kind = (i / 2) % 2 ? 2 + send : send,
                                 .timeout = CT_MS(300) + i * CT_MS(10), .value = send ? 9 : -1};
            atomic_store(&ops[i].result, -100);
        }
        for (int i = 0; i < 2 * N - 2; i++) ct_go(g_op, &ops[i]);
        t1 = ct_thread(t_op, &ops[2 * N - 2]);
        t2 = ct_thread(t_op, &ops[2 * N - 1]);
        wait_started(2 * N);
        fill_malloc_cache();
        gort_chan_release(u);
        gort_chan_release(full);
        if (mode == 1) churn();
        ct_join(t1);
        ct_join(t2);
        for (int i = 0; i < 2 * N; i++) {
            CT_WITHIN_MS(10000, atomic_load(&ops[i].result) != -100);
            CHECK_EQ(atomic_load(&ops[i].result), ETIMEDOUT);
            if (ops[i].kind % 2 == 0) CHECK_EQ(ops[i].value, -1); /* nothing received */
        }
        churn();
    }

    /* C: a goroutine blocked forever on a channel nobody else can reach
     * (leaked, as in Go) does not disturb anything else. */
    {
        gort_chan *lost = ct_chan(sizeof(int64_t), 0);
        static struct op leak = {.kind = 0, .timeout = -1};
        leak.c = lost;
        atomic_store(&leak.result, -100);
        atomic_store(&started, 0);
        ct_go(g_op, &leak);
        wait_started(1);
        gort_chan_release(lost);
        churn();
        ct_sleep_ms(20);
        CHECK_EQ(atomic_load(&leak.result), -100);
    }

    /* D: selects wait on a channel whose last reference goes and on one
     * that stays; they fire on the one that stays and unlink themselves
     * from the released one afterwards (the last of them frees it). */
    for (int round = 0; round < 20; round++) {
        gort_chan *gone = ct_chan(sizeof(int64_t), 0), *live = ct_chan(sizeof(int64_t), 0);
        static struct sel sels[N];
        atomic_store(&started, 0);
        for (int i = 0; i < N; i++) {
            sels[i] = (struct sel){.gone = gone, .live = live, .value = -1};
            atomic_store(&sels[i].result, -100);
            ct_go(g_sel, &sels[i]);
        }
        wait_started(N);
        fill_malloc_cache();
        gort_chan_release(gone);
        if (round % 2) churn();
        for (int i = 0; i < N; i++) {
            int64_t x = 800 + i;
            CHECK_EQ(gort_chan_send(live, &x), 0);
        }
        int64_t sum = 0;
        for (int i = 0; i < N; i++) {
            CT_WITHIN_MS(10000, atomic_load(&sels[i].result) != -100);
            CHECK_EQ(atomic_load(&sels[i].result), 1); /* the live case */
            sum += sels[i].value;
        }
        CHECK_EQ(sum, 800 * N + N * (N - 1) / 2);
        gort_chan_release(live);
        churn();
    }
    return 0;
}
