// gort_chan_make refuses sizes it cannot allocate (or whose byte count
// overflows) by returning NULL with errno set to ENOMEM or EINVAL, and the
// runtime stays usable afterwards.
// timeout: 30
#include "chan_test_util.h"

static void expect_fail(size_t elem_size, size_t cap) {
    errno = 0;
    gort_chan *c = gort_chan_make(elem_size, cap);
    if (c != NULL) {
        fprintf(stderr, "gort_chan_make(%zu, %zu) succeeded\n", elem_size, cap);
        abort();
    }
    int e = errno;
    if (e != ENOMEM && e != EINVAL) {
        fprintf(stderr, "gort_chan_make(%zu, %zu): errno %d (%s), want ENOMEM or EINVAL\n", elem_size, cap, e,
                strerror(e));
        abort();
    }
}

int main(void) {
    gt_watchdog(25);
    expect_fail(8, SIZE_MAX);                    /* byte count overflows */
    expect_fail(SIZE_MAX / 2 + 1, 2);            /* byte count overflows */
    expect_fail(SIZE_MAX, SIZE_MAX);             /* byte count overflows */
    expect_fail(1, SIZE_MAX / 2);                /* 9 EiB */
    expect_fail(4096, (size_t)1 << 40);          /* 4 PiB: more than the address space */
    expect_fail(1, ((size_t)1 << 48) + 1);       /* 256 TiB: more than the address space */

    /* Still works afterwards, from a plain thread and a goroutine alike. */
    gort_chan *c = gort_chan_make(8, 4);
    CHECK(c != NULL);
    uint64_t v = 42, w = 0;
    CHECK_EQ(gort_chan_send(c, &v), 0);
    CHECK_EQ(gort_chan_recv(c, &w), 0);
    CHECK_EQ(w, 42);
    gort_chan_release(c);
    return 0;
}
