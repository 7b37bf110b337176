// When several select cases are ready, one is chosen uniformly at random:
// over 1000 rounds every ready case wins about equally often (a chi-square
// bound loose enough never to flake, tight enough that "always the first",
// a fixed rotation bias or never choosing a case fails), not-ready cases
// never win; for receive cases, send cases, and a mix; in goroutines and
// plain threads.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// timeout: 60
#include "chan_test_util.h"

#define ROUNDS 1000
#define MAXC 6

/* chi-square with k-1 degrees of freedom; the bounds are ~1e-9 tails. */
static double chi_square(const int *counts, int k, int total) {
    double expect = (double)total / k, chi = 0;
    for (int i = 0; i < k; i++) chi += (counts[i] - expect) * (counts[i] - expect) / expect;
    return chi;
}

static void check_uniform(const char *what, const int *counts, int k) {
    double bound = k <= 2 ? 38 : k <= 3 ? 42 : k <= 4 ? 46 : 52;
    double chi = chi_square(counts, k, ROUNDS);
    int ok = chi < bound;
    for (int i = 0; i < k; i++)
        if (counts[i] < ROUNDS / k / 3) ok = 0;
    if (!ok) {
        fprintf(stderr, "%s: not uniform (chi-square %.1f, bound %.0f):", what, chi, bound);
        for (int i = 0; i < k; i++) fprintf(stderr, " %d", counts[i]);
        fprintf(stderr, "\n");
        abort();
    }
}

static void body(void *arg) {
    (void)arg;
    int64_t buf[MAXC];
    gort_chan *c[MAXC];
    gort_case cs[MAXC];

    /* 4 receive cases, all ready (each channel holds one value). */
    int counts[MAXC] = {0};
    int repeats = 0, prev = -1; /* how often a round picks what the last one did */
    for (int i = 0; i < 4; i++) {
        c[i] = ct_chan(sizeof(int64_t), 1);
        int64_t v = i;
        CHECK_EQ(gort_chan_send(c[i], &v), 0);
    }
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < 4; i++) cs[i] = (gort_case){.chan = c[i], .op = GORT_RECV, .elem = &buf[i], .result = -1};
        int k = gort_select(cs, 4, r % 2 ? 0 : -1); /* default or blocking: the same when ready */
        CHECK(k >= 0 && k < 4);
        CHECK_EQ(cs[k].result, 0);
        CHECK_EQ(buf[k], k);
        counts[k]++;
        repeats += k == prev;
        prev = k;
        int64_t v = k;
        CHECK_EQ(gort_chan_send(c[k], &v), 0); /* ready again */
    }
    check_uniform("4 ready receives", counts, 4);
    /* Independent rounds repeat the previous pick about 1/4 of the time
     * (250 +- 14): a rotation (0) or a sticky choice fails. */
    if (repeats < 125 || repeats > 400) {
        fprintf(stderr, "4 ready receives: %d of %d rounds repeated the previous choice\n", repeats, ROUNDS);
        abort();
    }
    for (int i = 0; i < 4; i++) gort_chan_release(c[i]);

    /* 3 send cases with room. */
    memset(counts, 0, sizeof counts);
    for (int i = 0; i < 3; i++) c[i] = ct_chan(sizeof(int64_t), 1);
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < 3; i++) {
            buf[i] = 10 + i;
            cs[i] = (gort_case){.chan = c[i], .op = GORT_SEND, .elem = &buf[i], .result = -1};
        }
        int k = gort_select(cs, 3, -1);
        CHECK(k >= 0 && k < 3);
        CHECK_EQ(cs[k].result, 0);
        counts[k]++;
        int64_t v = -1;
        CHECK_EQ(gort_chan_try_recv(c[k], &v), 0);
        CHECK_EQ(v, 10 + k);
        for (int i = 0; i < 3; i++) CHECK_EQ(gort_chan_len(c[i]), 0);
    }
    check_uniform("3 ready sends", counts, 3);
    for (int i = 0; i < 3; i++) gort_chan_release(c[i]);

    /* A mix of 6 cases of which 4 are ready: 2 receives with a value, 2 sends
     * with room; a NULL channel, a receive on an empty channel never win. */
    memset(counts, 0, sizeof counts);
    gort_chan *empty = ct_chan(sizeof(int64_t), 1);
    for (int i = 0; i < 4; i++) c[i] = ct_chan(sizeof(int64_t), 1);
    int64_t one = 1;
    CHECK_EQ(gort_chan_send(c[0], &one), 0);
    CHECK_EQ(gort_chan_send(c[2], &one), 0);
    int map[MAXC] = {-1, 0, -1, 1, 2, 3}; /* case index -> counts slot */
    for (int r = 0; r < ROUNDS; r++) {
        cs[0] = (gort_case){.chan = NULL, .op = GORT_RECV, .elem = &buf[0]};
        cs[1] = (gort_case){.chan = c[0], .op = GORT_RECV, .elem = &buf[1]};
        cs[2] = (gort_case){.chan = empty, .op = GORT_RECV, .elem = &buf[2]};
        cs[3] = (gort_case){.chan = c[1], .op = GORT_SEND, .elem = &one};
        cs[4] = (gort_case){.chan = c[2], .op = GORT_RECV, .elem = &buf[4]};
        cs[5] = (gort_case){.chan = c[3], .op = GORT_SEND, .elem = &one};
        int k = gort_select(cs, 6, 0);
        CHECK(k >= 0 && k < 6);
        CHECK(map[k] >= 0);
        CHECK_EQ(cs[k].result, 0);
        counts[map[k]]++;
        /* restore readiness */
        if (k == 1) CHECK_EQ(gort_chan_send(c[0], &one), 0);
        if (k == 3) CHECK_EQ(gort_chan_recv(c[1], NULL), 0);
        if (k == 4) CHECK_EQ(gort_chan_send(c[2], &one), 0);
        if (k == 5) CHECK_EQ(gort_chan_recv(c[3], NULL), 0);
    }
    check_uniform("4 ready of 6 mixed", counts, 4);
    for (int i = 0; i < 4; i++) gort_chan_release(c[i]);
    gort_chan_release(empty);
}

static void *thread_body(void *arg) {
    body(arg);
    return NULL;
}

int main(void) {
    gt_watchdog(50);
    CHECK_EQ(gort_main(body, NULL), 0);
    ct_join(ct_thread(thread_body, NULL));
    return 0;
}
