// gort::chan<T> (gort.hpp) carries a struct type intact, in order, over
// unbuffered and buffered channels; its try/timed variants report ok, closed,
// would_block and timeout; closing drains then ends a range-for; chan<void>
// is Go's chan struct{}; nil channels and failed construction throw.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=2
// timeout: 60
#include "gort.hpp"
#include "gort_test.h"

#include <chrono>
#include <cstdint>
#include <cstring>
#include <system_error>

using namespace std::chrono_literals;
using std::chrono::steady_clock;

namespace {

// Mixed sizes, padding and a char array: every byte must survive the copy.
struct point {
    std::int32_t x;
    std::int64_t y;
    double z;
    char tag[5];
};
static_assert(sizeof(point) > 16, "a struct wider than two words");

point make_point(int i) {
    point p{};
    p.x = i;
    p.y = -static_cast<std::int64_t>(i) * 1000000007LL;
    p.z = i * 0.5;
    std::memcpy(p.tag, "abcd", 5);
    return p;
}

void check_point(const point &p, int i) {
    const point want = make_point(i);
    CHECK_EQ(p.x, want.x);
    CHECK_EQ(p.y, want.y);
    CHECK(p.z == want.z);
    CHECK(std::memcmp(p.tag, want.tag, sizeof p.tag) == 0);
}

template <class F>
int thrown_errno(F &&f) {
    try {
        f();
    } catch (const std::system_error &e) {
        return e.code().value();
    }
    return 0;
}

long long ms_since(steady_clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - t0).count();
}

void unbuffered_structs_in_order() {
    gort::chan<point> ch;
    CHECK_EQ(ch.cap(), 0);
    gort::go([ch] {
        for (int i = 0; i < 2000; ++i) CHECK(ch.send(make_point(i)));
        CHECK(ch.close());
    });
    int n = 0;
    for (const point &p : ch) check_point(p, n++);
    CHECK_EQ(n, 2000);
    CHECK(!ch.recv().has_value());        // closed and drained
    CHECK(!ch.send(make_point(0)));       // send on closed: false, not a crash
    CHECK(!ch.close());                   // second close: false
}

void buffered_statuses() {
    gort::chan<point> ch(3);
    CHECK_EQ(ch.cap(), 3);
    CHECK_EQ(ch.len(), 0);

    point out = make_point(-1);
    CHECK(ch.try_recv(out) == gort::chan_status::would_block);
    check_point(out, -1);  // untouched unless ok
    CHECK(!ch.try_recv().has_value());

    for (int i = 0; i < 3; ++i) CHECK(ch.try_send(make_point(i)) == gort::chan_status::ok);
    CHECK(ch.try_send(make_point(3)) == gort::chan_status::would_block);
    CHECK_EQ(ch.len(), 3);

    auto t0 = steady_clock::now();
    CHECK(ch.send_for(make_point(3), 20ms) == gort::chan_status::timeout);
    CHECK(ms_since(t0) >= 20);

    CHECK(ch.try_recv(out) == gort::chan_status::ok);
    check_point(out, 0);
    check_point(*ch.recv(), 1);
    auto third = ch.recv_for(1s);
    CHECK(third.has_value());
    check_point(*third, 2);

    t0 = steady_clock::now();
    out = make_point(-1);
    CHECK(ch.recv_for(out, 20ms) == gort::chan_status::timeout);
    CHECK(ms_since(t0) >= 20);
    check_point(out, -1);
    CHECK(!ch.recv_for(5ms).has_value());

    // A zero or negative timeout polls once.
    CHECK(ch.recv_for(out, 0ms) == gort::chan_status::would_block ||
          ch.recv_for(out, 0ms) == gort::chan_status::timeout);
    CHECK(ch.send_for(make_point(10), -5ms) == gort::chan_status::ok);
    CHECK(ch.send_for(make_point(11), 1h) == gort::chan_status::ok);

    // Close: what is buffered still drains, then every receive says closed.
    CHECK(ch.close());
    CHECK(ch.try_send(make_point(12)) == gort::chan_status::closed);
    CHECK(ch.send_for(make_point(12), 1s) == gort::chan_status::closed);
    CHECK(ch.try_recv(out) == gort::chan_status::ok);
    check_point(out, 10);
    CHECK(ch.recv_for(out, 1s) == gort::chan_status::ok);
    check_point(out, 11);
    t0 = steady_clock::now();
    CHECK(ch.try_recv(out) == gort::chan_status::closed);
    CHECK(ch.recv_for(out, 5s) == gort::chan_status::closed);
    CHECK(ms_since(t0) < 2000);  // closed answers at once
    check_point(out, 11);
}

void timed_receive_gets_a_late_value() {
    gort::chan<point> ch;
    gort::go([ch] {
        gort::sleep(10ms);
        CHECK(ch.send_for(make_point(7), 10s) == gort::chan_status::ok);
    });
    point out{};
    CHECK(ch.recv_for(out, 10s) == gort::chan_status::ok);
    check_point(out, 7);
}

void close_wakes_a_blocked_receiver_and_sender() {
    gort::chan<point> a, b;
    gort::chan<int> results(2);
    gort::go([a, results] { results.send(a.recv().has_value() ? 1 : 0); });
    gort::go([b, results] { results.send(b.send(make_point(1)) ? 1 : 0); });
    gort::sleep(20ms);
    CHECK(a.close());
    CHECK(b.close());
    CHECK_EQ(*results.recv() + *results.recv(), 0);
}

void signal_channel() {
    gort::chan<void> done;
    CHECK_EQ(done.cap(), 0);
    gort::go([done] {
        gort::sleep(5ms);
        CHECK(done.send());
    });
    CHECK(done.recv());
    CHECK(done.try_recv() == gort::chan_status::would_block);
    CHECK(done.recv_for(5ms) == gort::chan_status::timeout);

    gort::chan<void> sem(2);
    CHECK(sem.try_send() == gort::chan_status::ok);
    CHECK(sem.send_for(1s) == gort::chan_status::ok);
    CHECK(sem.try_send() == gort::chan_status::would_block);
    CHECK_EQ(sem.len(), 2);
    CHECK(sem.close());
    CHECK(sem.recv());
    CHECK(sem.recv_for(1s) == gort::chan_status::ok);
    CHECK(!sem.recv());
    CHECK(sem.try_recv() == gort::chan_status::closed);
    CHECK(!sem.send());
}

void errors_are_exceptions() {
    auto nil = gort::chan<int>::nil();
    CHECK(!nil);
    CHECK_EQ(nil.len(), 0);
    CHECK_EQ(thrown_errno([&] { nil.send(1); }), EINVAL);
    CHECK_EQ(thrown_errno([&] { (void)nil.recv(); }), EINVAL);
    CHECK_EQ(thrown_errno([&] { (void)nil.try_recv(); }), EINVAL);
    CHECK_EQ(thrown_errno([&] { nil.close(); }), EINVAL);
    try {
        nil.send(1);
        CHECK(!"unreachable");
    } catch (const std::system_error &e) {
        CHECK(e.code() == std::errc::invalid_argument);
    }
    // An impossible buffer fails construction with a system_error (ENOMEM or EINVAL).
    int err = thrown_errno([] { gort::chan<point> huge(SIZE_MAX / 4); });
    CHECK(err == ENOMEM || err == EINVAL);
}

void plain_threads_and_goroutines_meet() {
    // main is a plain OS thread: it blocks; the goroutine parks.
    gort::chan<std::uint64_t> ids;
    gort::go([ids] { ids.send(gort::self()); });
    auto id = ids.recv();
    CHECK(id.has_value() && *id > 0);
    CHECK_EQ(gort::self(), 0);
}

}  // namespace

int main() {
    gt_watchdog(50);
    unbuffered_structs_in_order();
    buffered_statuses();
    timed_receive_gets_a_late_value();
    close_wakes_a_blocked_receiver_and_sender();
    signal_channel();
    errors_are_exceptions();
    plain_threads_and_goroutines_meet();
    gort::run(unbuffered_structs_in_order);  // the same, from a goroutine
    gort::run(buffered_statuses);
    gort::run(signal_channel);
    std::puts("ok");
    return 0;
}
