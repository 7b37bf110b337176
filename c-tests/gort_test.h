/* Shared helpers for gort's C integration tests.
 *
 * Every test calls gt_watchdog(seconds) first: a plain thread that ends the
 * process with a message (exit status 124) if the test has not finished by
 * then, so a deadlock fails instead of hanging. CHECK* macros print the
 * failing expression with its values and abort.
 */
#ifndef GORT_TEST_H
#define GORT_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gort.h"

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            fflush(stderr);                                                      \
            abort();                                                             \
        }                                                                        \
    } while (0)

#define CHECK_EQ(a, b)                                                           \
    do {                                                                         \
        long long _a = (long long)(a), _b = (long long)(b);                      \
        if (_a != _b) {                                                          \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld != %lld)\n", \
                    __FILE__, __LINE__, #a, #b, _a, _b);                         \
            fflush(stderr);                                                      \
            abort();                                                             \
        }                                                                        \
    } while (0)

/* Fails the test when `cond` does not become true within `ms` milliseconds,
 * running `pause` between checks. */
#define GT_POLL_WITHIN_MS(ms, cond, pause)                                       \
    do {                                                                         \
        int64_t _deadline = gt_now_ns() + (int64_t)(ms) * 1000000;               \
        while (!(cond)) {                                                        \
            if (gt_now_ns() > _deadline) {                                       \
                fprintf(stderr, "%s:%d: not true within %d ms: %s\n", __FILE__,  \
                        __LINE__, (int)(ms), #cond);                             \
                fflush(stderr);                                                  \
                abort();                                                         \
            }                                                                    \
            pause;                                                               \
        }                                                                        \
    } while (0)

/* Polls with usleep: blocks the calling thread between checks. */
#define CHECK_WITHIN_MS(ms, cond) GT_POLL_WITHIN_MS(ms, cond, usleep(1000))

static inline int64_t gt_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *gt_watchdog_main(void *arg) {
    int64_t deadline = gt_now_ns() + (int64_t)(intptr_t)arg * 1000000000;
    for (;;) {
        int64_t left = deadline - gt_now_ns();
        if (left <= 0) break;
        struct timespec ts = {left / 1000000000, left % 1000000000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "watchdog: test did not finish within %d s (deadlock?)\n", (int)(intptr_t)arg);
    fflush(stderr);
    _exit(124);
    return NULL;
}

/* Starts the watchdog thread; call first thing in main(). */
static inline void gt_watchdog(int seconds) {
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    CHECK(pthread_create(&t, &a, gt_watchdog_main, (void *)(intptr_t)seconds) == 0);
    pthread_attr_destroy(&a);
}

#endif
