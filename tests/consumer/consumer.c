/* A C program that uses an installed gort: built by tests/consumer/run.sh
 * with find_package(gort) (shared and static) and with pkg-config. */
#include <gort.h>

#include <stdint.h>
#include <stdio.h>

static gort_waitgroup wg;

static void produce(void *arg) {
    gort_chan *ch = arg;
    for (int64_t i = 1; i <= 100; i++) gort_chan_send(ch, &i);
    gort_wg_done(&wg);
}

int main(void) {
    gort_chan *ch = gort_chan_make(sizeof(int64_t), 8);
    if (!ch) return 1;
    gort_wg_add(&wg, 2);
    if (gort_go(produce, ch) != 0 || gort_go(produce, ch) != 0) return 1;
    int64_t sum = 0, v;
    for (int i = 0; i < 200; i++) {
        if (gort_chan_recv(ch, &v) != 0) return 1;
        sum += v;
    }
    gort_wg_wait(&wg);
    gort_chan_close(ch);
    gort_chan_release(ch);
    printf("consumer.c: sum=%lld (%s)\n", (long long)sum, gort_version());
    return sum == 2 * 5050 ? 0 : 1;
}
