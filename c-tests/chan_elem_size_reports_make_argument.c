// gort_chan_elem_size returns the elem_size the channel was made with, for
// zero, small, odd and large element sizes, buffered or not, before and
// after close; 0 for NULL. Code that adopts a channel from elsewhere checks
// its element type with it.
// timeout: 30
#include "chan_test_util.h"

int main(void) {
    gt_watchdog(25);
    static const size_t sizes[] = {0, 1, 3, 8, 24, 4096, 65536};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (size_t cap = 0; cap <= 4; cap += 4) {
            gort_chan *c = ct_chan(sizes[i], cap);
            CHECK_EQ(gort_chan_elem_size(c), sizes[i]);
            CHECK_EQ(gort_chan_close(c), 0);
            CHECK_EQ(gort_chan_elem_size(c), sizes[i]);
            gort_chan_release(c);
        }
    }
    CHECK_EQ(gort_chan_elem_size(NULL), 0);
    return 0;
}
