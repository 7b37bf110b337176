/* select_timeout.c: an event loop with a ticker, an idle timeout and a quit
 * channel, the C version of this Go loop:
 *
 *   ticker := time.NewTicker(25 * time.Millisecond)
 *   for {
 *       select {
 *       case <-ticker.C:            // periodic work
 *       case ev := <-events:        // an event
 *       case <-quit:                // closed: shut down
 *           ticker.Stop(); return
 *       case <-time.After(idle):    // no event for a while
 *       }
 *   }
 *
 *   cc -O2 -pthread -Iinclude examples/select_timeout.c -o select_timeout -Ltarget/release -Wl,-rpath,"$PWD/target/release" -lgort
 *
 * The ticker is a goroutine whose "sleep" is a select on its stop channel
 * with a timeout, so stopping it takes effect at once instead of after the
 * current period. It sends with gort_chan_try_send on a channel of capacity
 * 1: when the loop is busy, ticks are dropped rather than queued, like Go's
 * time.Ticker. The idle timeout counts from the last event (a deadline, not
 * a fresh timeout per select), so ticks do not keep postponing it.
 *
 * Returns 0 when every event arrived and the loop ended through `quit`.
 */
#include <gort.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000LL
#define TICK_NS (25 * MS)
#define IDLE_NS (100 * MS)

static void check(int err, const char *what) {
    if (err != 0) {
        fprintf(stderr, "select_timeout: %s: %s\n", what, strerror(err));
        exit(1);
    }
}

static gort_chan *make_chan(size_t elem_size, size_t cap) {
    gort_chan *c = gort_chan_make(elem_size, cap);
    if (!c) check(errno, "gort_chan_make");
    return c;
}

/* ------------------------------------------------------------- ticker */

struct ticker {
    gort_chan *c;    /* int64_t ticks (the time), capacity 1 */
    gort_chan *stop; /* closed to stop the ticker (elements of size 0) */
    gort_waitgroup done;
};

static void ticker_main(void *arg) {
    struct ticker *t = arg;
    for (;;) {
        /* Sleep one period, or until stop is closed. */
        gort_case c[] = {{.chan = t->stop, .op = GORT_RECV}};
        if (gort_select(c, 1, TICK_NS) == 0) break; /* stop was closed */
        int64_t now = gort_now();
        (void)gort_chan_try_send(t->c, &now); /* EAGAIN: the last tick is unread, drop this one */
    }
    gort_wg_done(&t->done);
}

static void ticker_start(struct ticker *t) {
    t->c = make_chan(sizeof(int64_t), 1);
    t->stop = make_chan(0, 0);
    check(gort_wg_add(&t->done, 1), "gort_wg_add");
    check(gort_go(ticker_main, t), "gort_go");
}

static void ticker_stop(struct ticker *t) {
    check(gort_chan_close(t->stop), "close stop");
    check(gort_wg_wait(&t->done), "gort_wg_wait"); /* the goroutine is gone */
    gort_chan_release(t->stop);
    gort_chan_release(t->c);
}

/* ----------------------------------------------------------- producer */

struct producer {
    gort_chan *events; /* int, unbuffered */
    gort_chan *quit;   /* closed when there are no more events */
};

/* Pauses before each event, in ms; the 250 ms one exceeds the idle timeout. */
static const int pauses_ms[] = {10, 40, 5, 250, 30};
#define NEVENTS (int)(sizeof pauses_ms / sizeof pauses_ms[0])

static void producer_main(void *arg) {
    struct producer *p = arg;
    for (int i = 0; i < NEVENTS; i++) {
        check(gort_sleep(pauses_ms[i] * MS), "gort_sleep");
        check(gort_chan_send(p->events, &i), "send event");
    }
    check(gort_chan_close(p->quit), "close quit");
}

/* --------------------------------------------------------------- loop */

struct counts {
    int events, ticks, timeouts;
};

static void event_loop(void *arg) {
    struct counts *n = arg;
    struct ticker ticker = {0};
    struct producer prod = {make_chan(sizeof(int), 0), make_chan(0, 0)};
    ticker_start(&ticker);
    check(gort_go(producer_main, &prod), "gort_go");

    int64_t start = gort_now(), last_event = start;
    for (;;) {
        int64_t tick, left = last_event + IDLE_NS - gort_now();
        int ev;
        gort_case cases[] = {
            {.chan = ticker.c, .op = GORT_RECV, .elem = &tick},
            {.chan = prod.events, .op = GORT_RECV, .elem = &ev},
            {.chan = prod.quit, .op = GORT_RECV},
        };
        /* A timeout of 0 would mean "don't wait" (Go's default case). */
        int r = gort_select(cases, 3, left > 0 ? left : 1);
        int64_t at = (gort_now() - start) / MS;
        if (r == 0) {
            n->ticks++;
        } else if (r == 1) {
            printf("%4" PRId64 " ms  event %d\n", at, ev);
            n->events++;
            last_event = gort_now();
        } else if (r == 2) {
            printf("%4" PRId64 " ms  quit: %d events, %d ticks, %d idle timeouts\n", at, n->events, n->ticks,
                   n->timeouts);
            break;
        } else if (r == -ETIMEDOUT) {
            printf("%4" PRId64 " ms  idle for %lld ms\n", at, IDLE_NS / MS);
            n->timeouts++;
            last_event = gort_now(); /* report again after another idle period */
        } else {
            check(-r, "gort_select");
        }
    }
    ticker_stop(&ticker);
    gort_chan_release(prod.events);
    gort_chan_release(prod.quit);
}

int main(void) {
    struct counts n = {0};
    check(gort_main(event_loop, &n), "gort_main");
    return n.events == NEVENTS ? 0 : 1;
}
