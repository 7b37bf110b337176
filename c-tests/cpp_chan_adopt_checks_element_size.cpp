// gort::chan<T>::adopt and ::share check a C channel's element size
// (gort_chan_elem_size) against sizeof(T): a mismatch throws
// std::system_error with EINVAL and leaves the caller's reference alone;
// a match, a nil pointer and chan<void> over a zero-size channel work.
// timeout: 30
#include "gort.hpp"
#include "gort_test.h"

#include <cstdint>
#include <string>
#include <system_error>

namespace {

template <class F>
void expect_einval(F &&f, const char *must_mention) {
    try {
        f();
    } catch (const std::system_error &e) {
        CHECK_EQ(e.code().value(), EINVAL);
        CHECK(e.code().category() == std::generic_category());
        CHECK(std::string(e.what()).find(must_mention) != std::string::npos);
        return;
    }
    CHECK(!"no std::system_error thrown");
}

struct triple {
    std::int32_t a, b, c;
};

}  // namespace

int main() {
    gt_watchdog(25);
    gort_chan *raw = gort_chan_make(sizeof(std::int64_t), 1);
    CHECK(raw != nullptr);
    expect_einval([&] { (void)gort::chan<std::int32_t>::adopt(raw); }, "8 bytes");
    expect_einval([&] { (void)gort::chan<triple>::share(raw); }, "12");
    expect_einval([&] { (void)gort::chan<void>::adopt(raw); }, "adopt");
    // The caller's reference is untouched: the channel works through it.
    std::int64_t in = 42, out = 0;
    CHECK_EQ(gort_chan_send(raw, &in), 0);
    CHECK_EQ(gort_chan_recv(raw, &out), 0);
    CHECK_EQ(out, 42);
    {
        auto shared = gort::chan<std::int64_t>::share(raw);
        CHECK(shared.send(7));
        CHECK_EQ(*shared.recv(), 7);
    }
    auto owner = gort::chan<std::uint64_t>::adopt(raw);  // same size: fine
    CHECK_EQ(owner.cap(), 1u);

    CHECK(!gort::chan<triple>::adopt(nullptr));
    CHECK(!gort::chan<void>::share(nullptr));

    gort_chan *empty = gort_chan_make(0, 0);
    CHECK(empty != nullptr);
    expect_einval([&] { (void)gort::chan<char>::share(empty); }, "0 bytes");
    auto signal = gort::chan<void>::adopt(empty);
    CHECK(signal.try_send() == gort::chan_status::would_block);
    return 0;
}
