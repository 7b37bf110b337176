// A GORTMAXPROCS above the maximum (1024), however many digits, is clamped
// to 1024, as gort_maxprocs(n) clamps: the runtime prints exactly one
// "gort:" warning line naming the value, runs 1024 Ps, runs goroutines
// normally and exits 0.
// timeout: 120
#include "env_warning_util.h"

static int clamped_child(void) {
    int64_t sum = ew_fan_in();
    CHECK_EQ(gort_maxprocs(0), 1024);
    printf("child ok: maxprocs=%d sum=%lld\n", gort_maxprocs(0), (long long)sum);
    /* The call clamps the same way. */
    CHECK_EQ(gort_maxprocs(2), 1024);
    CHECK_EQ(gort_maxprocs(5000), 2);
    CHECK_EQ(gort_maxprocs(0), 1024);
    return 0;
}

int main(int argc, char **argv) {
    gt_watchdog(110);
    if (argc > 1 && strcmp(argv[1], "child") == 0) return clamped_child();
    static const char *const cases[][2] = {
        {"GORTMAXPROCS=1025", "\"1025\""},
        {"GORTMAXPROCS=99999", "\"99999\""},
        {"GORTMAXPROCS=123456789012345678901234567890", "\"123456789012345678901234567890\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *env[] = {cases[i][0], NULL};
        const char *want[] = {"GORTMAXPROCS", cases[i][1], "1024", NULL};
        ew_expect_one_warning(env, want);
    }
    return 0;
}
