// A buffered channel is a FIFO of its capacity: values come out in the order
// they went in, len/cap are reported, a full channel refuses try_send, and
// order holds with a concurrent producer and consumer.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2
// timeout: 60
#include "chan_test_util.h"

#define CAP 100
#define STREAM 200000

struct item {
    uint64_t seq;
    uint64_t check; /* ~seq: catches torn or mixed-up element copies */
    char pad[40];
};

static gort_chan *stream;

static void producer(void *arg) {
    (void)arg;
    for (uint64_t i = 0; i < STREAM; i++) {
        struct item it = {.seq = i, .check = ~i};
        memset(it.pad, (int)(i & 0xff), sizeof it.pad);
        CHECK_EQ(gort_chan_send(stream, &it), 0);
        if (i % 997 == 0) gort_yield();
    }
    CHECK_EQ(gort_chan_close(stream), 0);
}

static void body(void *arg) {
    (void)arg;
    /* Fill, check len, refuse one more, drain in order. */
    gort_chan *c = ct_chan(sizeof(uint64_t), CAP);
    CHECK_EQ(gort_chan_cap(c), CAP);
    CHECK_EQ(gort_chan_len(c), 0);
    for (uint64_t i = 0; i < CAP; i++) {
        uint64_t v = 1000 + i;
        CHECK_EQ(gort_chan_send(c, &v), 0);
        CHECK_EQ(gort_chan_len(c), i + 1);
    }
    uint64_t extra = 7;
    CHECK_EQ(gort_chan_try_send(c, &extra), EAGAIN);
    CHECK_EQ(gort_chan_len(c), CAP);
    /* Wrap the ring around a few times: take 30, put 30, ... */
    uint64_t next_out = 1000, next_in = 1000 + CAP;
    for (int round = 0; round < 10; round++) {
        for (int k = 0; k < 30; k++) {
            uint64_t v = 0;
            CHECK_EQ(gort_chan_recv(c, &v), 0);
            CHECK_EQ(v, next_out++);
        }
        for (int k = 0; k < 30; k++) {
            uint64_t v = next_in++;
            CHECK_EQ(gort_chan_try_send(c, &v), 0);
        }
        CHECK_EQ(gort_chan_len(c), CAP);
    }
    for (int k = 0; k < CAP; k++) {
        uint64_t v = 0;
        CHECK_EQ(gort_chan_try_recv(c, &v), 0);
        CHECK_EQ(v, next_out++);
    }
    CHECK_EQ(next_out, next_in);
    CHECK_EQ(gort_chan_len(c), 0);
    CHECK_EQ(gort_chan_try_recv(c, &extra), EAGAIN);
    gort_chan_release(c);

    /* Capacity 1 is a FIFO too. */
    c = ct_chan(sizeof(uint64_t), 1);
    for (uint64_t i = 0; i < 100; i++) {
        CHECK_EQ(gort_chan_try_send(c, &i), 0);
        CHECK_EQ(gort_chan_try_send(c, &i), EAGAIN);
        uint64_t v = 99999;
        CHECK_EQ(gort_chan_try_recv(c, &v), 0);
        CHECK_EQ(v, i);
    }
    gort_chan_release(c);

    /* Concurrent producer/consumer through a small buffer keeps order. */
    stream = ct_chan(sizeof(struct item), 7);
    ct_go(producer, NULL);
    uint64_t expect = 0;
    struct item it;
    int r;
    while ((r = gort_chan_recv(stream, &it)) == 0) {
        CHECK_EQ(it.seq, expect);
        CHECK_EQ(it.check, ~expect);
        for (size_t k = 0; k < sizeof it.pad; k++) CHECK_EQ((unsigned char)it.pad[k], expect & 0xff);
        expect++;
    }
    CHECK_EQ(r, EPIPE);
    CHECK_EQ(expect, STREAM);
    gort_chan_release(stream);
}

int main(void) {
    gt_watchdog(50);
    CHECK_EQ(gort_main(body, NULL), 0);
    body(NULL); /* and the same from a plain thread */
    return 0;
}
