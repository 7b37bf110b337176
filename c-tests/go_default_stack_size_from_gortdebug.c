// GORTDEBUG=stacksize=KB sets the default goroutine stack: with 4096 KiB,
// goroutines started by gort_go, by gort_go_attr with stack_size 0, and the
// gort_main goroutine all complete a ~3 MiB recursion.
// env: GORTDEBUG=stacksize=4096
// timeout: 60
#include "chan_test_util.h"

#define FRAME 4096

static __attribute__((noinline)) uint64_t deep(int depth) {
    volatile unsigned char buf[FRAME];
    for (int i = 0; i < FRAME; i += 512) buf[i] = (unsigned char)(depth + i);
    if (depth == 0) return buf[0];
    uint64_t below = deep(depth - 1);
    return below + buf[FRAME - 512] + buf[0];
}

static uint64_t expect(int depth) {
    uint64_t s = 0;
    for (int d = depth; d >= 0; d--) {
        s += (unsigned char)d;
        if (d > 0) s += (unsigned char)(d + FRAME - 512);
    }
    return s;
}

#define DEPTH 750

static uint64_t results[3];

static void run_deep(void *arg) { results[(intptr_t)arg] = deep(DEPTH); }

int main(void) {
    gt_watchdog(50);
    const char *env = getenv("GORTDEBUG");
    CHECK(env != NULL && strstr(env, "stacksize=4096") != NULL);
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    ct_go_wg(&wg, run_deep, (void *)0);
    CHECK_EQ(gort_wg_wait(&wg), 0);

    struct ct_tracked *t = malloc(sizeof *t);
    *t = (struct ct_tracked){.fn = run_deep, .arg = (void *)1, .wg = &wg};
    gort_attr attr = {.stack_size = 0, .name = "default-from-env"};
    CHECK_EQ(gort_wg_add(&wg, 1), 0);
    CHECK_EQ(gort_go_attr(ct_tracked_main, t, &attr), 0);
    CHECK_EQ(gort_wg_wait(&wg), 0);

    CHECK_EQ(gort_main(run_deep, (void *)2), 0);
    for (int i = 0; i < 3; i++) CHECK_EQ(results[i], expect(DEPTH));
    return 0;
}
