// The HTML from tools/trace2html.py renders in headless Chromium:
// tools/screenshot.sh writes a 1600x900 PNG with real content (not a blank
// page). Where /usr/bin/chromium is absent the test prints
// "SKIPPED: chromium not found" and passes.
// timeout: 180
#include "trace_workload.h"

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

int main(int argc, char **argv) {
    gt_watchdog(170);
    if (argc > 1 && strcmp(argv[1], "child") == 0) return tw_child();
    if (access("/usr/bin/chromium", X_OK) != 0) {
        printf("SKIPPED: chromium not found (/usr/bin/chromium)\n");
        fprintf(stderr, "SKIPPED: chromium not found (/usr/bin/chromium)\n");
        return 0;
    }
    const char *dir = gt_tmpdir();
    const char *trace = tw_make_trace(dir);
    char html[PATH_MAX], png[PATH_MAX];
    snprintf(html, sizeof html, "%s/trace.html", dir);
    snprintf(png, sizeof png, "%s/trace.png", dir);
    const char *args[] = {gt_repo_path("tools/trace2html.py"), trace, html, NULL};
    tw_python(args);
    const char *shot[] = {"sh", gt_repo_path("tools/screenshot.sh"), html, png, "1600x900", NULL};
    gt_child c;
    gt_run(shot, NULL, 150, &c);
    if (!gt_child_exited_ok(&c)) {
        gt_child_dump("screenshot.sh", &c);
        abort();
    }
    gt_child_free(&c);
    size_t len;
    unsigned char *img = (unsigned char *)gt_read_file(png, &len);
    CHECK(img != NULL);
    CHECK(len > 33);
    CHECK(memcmp(img, "\x89PNG\r\n\x1a\n", 8) == 0);
    CHECK(memcmp(img + 12, "IHDR", 4) == 0);
    CHECK_EQ(be32(img + 16), 1600);
    CHECK_EQ(be32(img + 20), 900);
    /* A blank 1600x900 page compresses to a few KB; the timeline does not. */
    if (len < 20000) {
        fprintf(stderr, "%s is only %zu bytes: a blank page?\n", png, len);
        abort();
    }
    printf("%s: %zu bytes, 1600x900\n", png, len);
    free(img);
    gt_rmtree(dir);
    return 0;
}
