// After close, receives still return every buffered value in order, and
// only then EPIPE with `out` zero-filled, through recv, try_recv,
// recv_timeout and select alike.
// timeout: 30
#include "chan_test_util.h"

struct rec {
    uint64_t id;
    char tag[24]; /* "value-" and any int */
};

static void fill(gort_chan *c, int n) {
    for (int i = 0; i < n; i++) {
        struct rec r = {.id = (uint64_t)i + 1};
        snprintf(r.tag, sizeof r.tag, "value-%d", i);
        CHECK_EQ(gort_chan_send(c, &r), 0);
    }
}

static void check_rec(const struct rec *r, int i) {
    char want[sizeof ((struct rec *)0)->tag];
    snprintf(want, sizeof want, "value-%d", i);
    CHECK_EQ(r->id, (uint64_t)i + 1);
    CHECK(strcmp(r->tag, want) == 0);
}

static int is_zero(const struct rec *r) {
    const unsigned char *p = (const unsigned char *)r;
    for (size_t i = 0; i < sizeof *r; i++)
        if (p[i]) return 0;
    return 1;
}

static void body(void *arg) {
    (void)arg;
    enum { N = 5 };
    struct rec r;
    /* Each receive flavour drains the buffer and then reports EPIPE. */
    for (int flavour = 0; flavour < 4; flavour++) {
        gort_chan *c = ct_chan(sizeof(struct rec), N);
        fill(c, N);
        CHECK_EQ(gort_chan_close(c), 0);
        CHECK_EQ(gort_chan_len(c), N);
        for (int i = 0; i <= N; i++) {
            memset(&r, 0x77, sizeof r);
            int res;
            switch (flavour) {
            case 0: res = gort_chan_recv(c, &r); break;
            case 1: res = gort_chan_try_recv(c, &r); break;
            case 2: res = gort_chan_recv_timeout(c, &r, CT_MS(20000)); break;
            default: {
                gort_case cs[1] = {{.chan = c, .op = GORT_RECV, .elem = &r, .result = -1}};
                CHECK_EQ(gort_select(cs, 1, -1), 0);
                res = cs[0].result;
            }
            }
            if (i < N) {
                CHECK_EQ(res, 0);
                check_rec(&r, i);
                CHECK_EQ(gort_chan_len(c), N - 1 - i);
            } else {
                CHECK_EQ(res, EPIPE);
                CHECK(is_zero(&r));
            }
        }
        /* Stays that way; out may be NULL. */
        CHECK_EQ(gort_chan_recv(c, NULL), EPIPE);
        CHECK_EQ(gort_chan_try_recv(c, NULL), EPIPE);
        CHECK_EQ(gort_chan_recv_timeout(c, NULL, 0), EPIPE);
        CHECK_EQ(gort_chan_recv_timeout(c, NULL, -1), EPIPE);
        gort_chan_release(c);
    }
    /* Receiving with out == NULL still consumes the value. */
    gort_chan *c = ct_chan(sizeof(struct rec), N);
    fill(c, N);
    CHECK_EQ(gort_chan_close(c), 0);
    CHECK_EQ(gort_chan_recv(c, NULL), 0);
    CHECK_EQ(gort_chan_recv(c, &r), 0);
    check_rec(&r, 1);
    CHECK_EQ(gort_chan_len(c), N - 2);
    gort_chan_release(c);
}

int main(void) {
    gt_watchdog(25);
    CHECK_EQ(gort_main(body, NULL), 0);
    body(NULL);
    return 0;
}
