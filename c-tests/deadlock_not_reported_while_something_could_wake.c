// No deadlock is reported while something could still wake a goroutine:
// gort_main's goroutine waits on a channel nobody else has, but also
//   - outside: a thread the runtime does not know sleeps outside gort (it
//     could send on the channel when it wakes);
//   - sleeper: another goroutine sleeps (its timer will fire);
//   - blocking: another goroutine is in a marked blocking call (read on a
//     pipe);
//   - timed: the main thread waits on the channel too, but with a timeout
//     (it wakes by itself: a thread outside gort for the purpose);
// and the report does come once the thread outside gort has gone
// (outside-then-gone). Each case runs in a child without a watchdog thread
// (which would count as a thread outside gort); an alarm ends it.
// env: DL_CASE=outside
// env: DL_CASE=sleeper
// env: DL_CASE=blocking
// env: DL_CASE=timed
// env: DL_CASE=outside-then-gone
// timeout: 60
#include "child_process.h"

static gort_chan *nobody;
static volatile int sink;
static int pipefd[2];

static void wait_forever(void *arg) {
    (void)arg;
    sink = gort_chan_recv(nobody, NULL);
}

static void sleep_long(void *arg) {
    (void)arg;
    sink = gort_sleep(60 * 1000000000LL);
}

static void read_pipe(void *arg) {
    (void)arg;
    char c;
    gort_blocking_begin();
    sink = (int)read(pipefd[0], &c, 1);
    gort_blocking_end();
}

static void *outside(void *arg) {
    usleep((useconds_t)(intptr_t)arg);
    return NULL;
}

static int child(const char *which) {
    nobody = gort_chan_make(sizeof(int), 0);
    CHECK(nobody != NULL);
    CHECK_EQ(pipe(pipefd), 0);
    alarm(2);
    if (strcmp(which, "timed") == 0) {
        CHECK_EQ(gort_go(wait_forever, NULL), 0);
        for (;;) sink = gort_chan_recv_timeout(nobody, NULL, 100 * 1000000LL);
    }
    pthread_t t;
    if (strcmp(which, "outside") == 0) CHECK_EQ(pthread_create(&t, NULL, outside, (void *)(intptr_t)10000000), 0);
    if (strcmp(which, "outside-then-gone") == 0) {
        /* Gone after 300 ms: the report follows (sysmon looks again, backing
         * off from 50 ms). */
        CHECK_EQ(pthread_create(&t, NULL, outside, (void *)(intptr_t)300000), 0);
        CHECK_EQ(pthread_detach(t), 0);
    }
    if (strcmp(which, "sleeper") == 0) CHECK_EQ(gort_go(sleep_long, NULL), 0);
    if (strcmp(which, "blocking") == 0) CHECK_EQ(gort_go(read_pipe, NULL), 0);
    return gort_main(wait_forever, NULL);
}

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "child") == 0) return child(argv[2]);
    gt_watchdog(50);
    const char *which = getenv("DL_CASE");
    CHECK(which != NULL);
    static char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    self[n] = 0;
    const char *argv_child[] = {self, "child", which, NULL};
    gt_child c;
    gt_run(argv_child, NULL, 30, &c);
    int reports = gt_count_lines(c.err, "gort: all goroutines are asleep - deadlock!");
    int want = strcmp(which, "outside-then-gone") == 0;
    if (!WIFSIGNALED(c.status) || WTERMSIG(c.status) != SIGALRM || reports != want) {
        gt_child_dump(which, &c);
        fprintf(stderr, "want death by the alarm and %d report(s), got %d\n", want, reports);
        abort();
    }
    printf("%s: %d report(s)\n", which, reports);
    gt_child_free(&c);
    return 0;
}
