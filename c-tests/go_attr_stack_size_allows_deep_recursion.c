// gort_go_attr's stack_size gives a goroutine that much stack: with 4 MiB a
// recursion using ~3 MiB (far beyond the 256 KiB default) completes with the
// right result; a small 64 KiB stack runs ordinary code; the default stack
// holds a ~128 KiB recursion; a name is accepted and copied.
// env: GORTMAXPROCS=2
// timeout: 60
#include "chan_test_util.h"

#define FRAME 4096

/* Each level keeps a FRAME-byte volatile array live across the recursive
 * call, so the compiler can neither shrink the frame nor make it a loop. */
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

struct job {
    int depth;
    uint64_t result;
};

static void run_deep(void *arg) {
    struct job *j = arg;
    j->result = deep(j->depth);
}

static void spawn_and_wait(const gort_attr *attr, struct job *j) {
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    struct ct_tracked *t = malloc(sizeof *t);
    CHECK(t != NULL);
    *t = (struct ct_tracked){.fn = run_deep, .arg = j, .wg = &wg};
    CHECK_EQ(gort_wg_add(&wg, 1), 0);
    if (attr)
        CHECK_EQ(gort_go_attr(ct_tracked_main, t, attr), 0);
    else
        CHECK_EQ(gort_go(ct_tracked_main, t), 0);
    CHECK_EQ(gort_wg_wait(&wg), 0);
    CHECK_EQ(j->result, expect(j->depth));
}

int main(void) {
    gt_watchdog(50);
    char name[32];
    strcpy(name, "deep-recursion");
    gort_attr big = {.stack_size = 4u << 20, .name = name};
    /* ~3 MiB of frames: 750 levels of a bit over 4 KiB */
    for (int i = 0; i < 4; i++) {
        struct job j = {.depth = 750};
        spawn_and_wait(&big, &j);
        memset(name, 'x', sizeof name - 1); /* the name was copied */
    }
    /* Several at once. */
    struct job js[8];
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    for (int i = 0; i < 8; i++) {
        js[i] = (struct job){.depth = 700 + i};
        struct ct_tracked *t = malloc(sizeof *t);
        *t = (struct ct_tracked){.fn = run_deep, .arg = &js[i], .wg = &wg};
        CHECK_EQ(gort_wg_add(&wg, 1), 0);
        CHECK_EQ(gort_go_attr(ct_tracked_main, t, &big), 0);
    }
    CHECK_EQ(gort_wg_wait(&wg), 0);
    for (int i = 0; i < 8; i++) CHECK_EQ(js[i].result, expect(js[i].depth));

    gort_attr small = {.stack_size = 64u << 10, .name = NULL};
    struct job j = {.depth = 4};
    spawn_and_wait(&small, &j);

    /* stack_size 0 and a NULL attr both mean the default (256 KiB):
     * ~128 KiB of recursion fits. */
    gort_attr dflt = {.stack_size = 0, .name = "default-sized"};
    j = (struct job){.depth = 30};
    spawn_and_wait(&dflt, &j);
    j = (struct job){.depth = 30};
    spawn_and_wait(NULL, &j);
    return 0;
}
