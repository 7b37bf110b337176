/* Helpers for the goroutine dump tests: take a dump into memory, find one
 * goroutine's block in it, check its lines. */
#ifndef DUMP_UTIL_H
#define DUMP_UTIL_H

#include "gort_test.h"

#include <sys/mman.h>

/* gort_dump into an anonymous file; returns the text (malloc'd). */
static inline char *du_dump(void) {
    int fd = memfd_create("gort-dump", 0);
    CHECK(fd >= 0);
    CHECK_EQ(gort_dump(fd), 0);
    off_t len = lseek(fd, 0, SEEK_END);
    CHECK(len > 0);
    char *text = malloc((size_t)len + 1);
    CHECK(text != NULL);
    CHECK_EQ(pread(fd, text, (size_t)len, 0), len);
    text[len] = 0;
    close(fd);
    return text;
}

/* The block of the goroutine named `name` (from its "goroutine " line to the
 * blank line after it), malloc'd; NULL if there is none. */
static inline char *du_block(const char *dump, const char *name) {
    char key[128];
    snprintf(key, sizeof key, "(name \"%s\")\n", name);
    const char *hit = strstr(dump, key);
    if (!hit) return NULL;
    const char *start = hit;
    while (start > dump && start[-1] != '\n') start--;
    const char *end = strstr(hit, "\n\n");
    if (!end) end = dump + strlen(dump);
    size_t n = (size_t)(end - start);
    char *block = malloc(n + 1);
    CHECK(block != NULL);
    memcpy(block, start, n);
    block[n] = 0;
    return block;
}

/* Fails unless `block` has a line starting with `prefix` and holding `text`
 * (text may be NULL). */
static inline void du_expect_line(const char *block, const char *prefix, const char *text) {
    for (const char *line = block; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        if (strncmp(line, prefix, strlen(prefix)) == 0) {
            char buf[1024];
            snprintf(buf, sizeof buf, "%.*s", (int)n, line);
            if (!text || strstr(buf, text)) return;
        }
        line = nl ? nl + 1 : NULL;
    }
    fprintf(stderr, "no line starting with \"%s\"%s%s%s in:\n%s\n", prefix, text ? " holding \"" : "", text ? text : "",
            text ? "\"" : "", block);
    abort();
}

/* "FILE:LINE" of this test file, for du_expect_line. */
#define DU_AT(line) du_at(__FILE__, line)
static inline const char *du_at(const char *file, int line) {
    static char buf[8][512];
    static int next;
    char *b = buf[next++ % 8];
    snprintf(b, 512, " at %s:%d", file, line);
    return b;
}

#endif
