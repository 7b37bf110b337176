// tools/trace2html.py turns a GORTTRACE file into one self-contained HTML
// page (no network references) with a row per P and the goroutines' names.
// timeout: 120
#include "trace_workload.h"

int main(int argc, char **argv) {
    gt_watchdog(110);
    if (argc > 1 && strcmp(argv[1], "child") == 0) return tw_child();
    const char *dir = gt_tmpdir();
    const char *trace = tw_make_trace(dir);
    char html[PATH_MAX];
    snprintf(html, sizeof html, "%s/trace.html", dir);
    const char *args[] = {gt_repo_path("tools/trace2html.py"), trace, html, NULL};
    tw_python(args);
    size_t len;
    char *page = gt_read_file(html, &len);
    CHECK(page != NULL);
    CHECK(len > 10000);
    const char *want[] = {"<!DOCTYPE html>", "<canvas", "\"label\":\"P0\"", "\"label\":\"P1\"", "\"label\":\"world\"",
                          "\"ping-0\"", "\"pong-0\"", "\"ping-1\"", "\"pong-1\"", "\"hog-0\"", "\"hog-1\"",
                          "\"sleeper\"", "async preemption", "cooperative preemption", NULL};
    for (const char *const *w = want; *w; w++) {
        if (!strstr(page, *w)) {
            fprintf(stderr, "%s lacks %s\n", html, *w);
            abort();
        }
    }
    const char *banned[] = {"src=\"http", "href=\"http", "@import", "url(http", NULL};
    for (const char *const *b = banned; *b; b++) {
        if (strstr(page, *b)) {
            fprintf(stderr, "%s is not self-contained: it has %s\n", html, *b);
            abort();
        }
    }
    printf("%s: %zu bytes, all rows and names present\n", html, len);
    free(page);
    gt_rmtree(dir);
    return 0;
}
