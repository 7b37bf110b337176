// gort::select (gort.hpp) over typed cases: a ready receive or send runs its
// handler with the value; default_case runs when nothing is ready;
// timeout(d) runs after at least d; a closed channel gives a receive handler
// std::nullopt and a send handler false (or an EPIPE exception when it takes
// no bool); nil channels are never ready; ready cases are chosen at random;
// chan<void> cases work; the return value is the position of the case.
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=2
// timeout: 60
#include "gort.hpp"
#include "gort_test.h"

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

using namespace std::chrono_literals;
using std::chrono::steady_clock;

namespace {

long long ms_since(steady_clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - t0).count();
}

void default_when_nothing_ready() {
    gort::chan<int> in, out;  // unbuffered, nobody on the other side
    std::string ran;
    std::size_t i = gort::select(gort::recv(in, [&](std::optional<int>) { ran += "recv"; }),
                                 gort::send(out, 1, [&] { ran += "send"; }),
                                 gort::default_case([&] { ran += "default"; }));
    CHECK_EQ(i, 2);
    CHECK(ran == "default");
    // default_case may stand anywhere; the index is its position.
    CHECK_EQ(gort::select(gort::default_case(), gort::recv(in)), 0);
}

void timeout_after_at_least_d() {
    gort::chan<int> in;
    bool timed_out = false;
    auto t0 = steady_clock::now();
    std::size_t i = gort::select(gort::recv(in, [](std::optional<int>) { CHECK(!"no sender"); }),
                                 gort::timeout(30ms, [&] { timed_out = true; }));
    CHECK_EQ(i, 1);
    CHECK(timed_out);
    CHECK(ms_since(t0) >= 30);

    t0 = steady_clock::now();
    CHECK_EQ(gort::select(gort::timeout(15ms)), 0);  // a timeout alone sleeps
    CHECK(ms_since(t0) >= 15);
}

void ready_cases_run_their_handlers() {
    gort::chan<int> in(1), out(1);
    CHECK(in.send(41));
    int got = 0;
    std::size_t i = gort::select(gort::recv(in, [&](std::optional<int> v) { got = v.value_or(-1); }),
                                 gort::timeout(5s));
    CHECK_EQ(i, 0);
    CHECK_EQ(got, 41);

    bool sent = false;
    i = gort::select(gort::recv(in), gort::send(out, 99, [&] { sent = true; }), gort::timeout(5s));
    CHECK_EQ(i, 1);
    CHECK(sent);
    CHECK_EQ(*out.recv(), 99);

    // A case may be built before the select and passed as an lvalue.
    auto c = gort::recv(out, [&](std::optional<int> v) { got = *v; });
    CHECK(out.send(7));
    CHECK_EQ(gort::select(gort::default_case(), c), 1);
    CHECK_EQ(got, 7);
}

void blocks_until_another_goroutine_is_ready() {
    gort::chan<long> data;
    gort::chan<void> quit;
    gort::chan<long> total(1);
    gort::go([data, quit, total] {
        long sum = 0;
        for (bool done = false; !done;) {
            gort::select(gort::recv(data, [&](std::optional<long> v) { sum += v.value_or(0); }),
                         gort::recv(quit, [&] { done = true; }));
        }
        total.send(sum);
    });
    for (long v = 1; v <= 1000; ++v) data.send(v);
    quit.close();
    CHECK_EQ(*total.recv(), 500500);

    // Unbuffered send case meeting a receiver that arrives later.
    gort::chan<int> late;
    gort::go([late] {
        gort::sleep(5ms);
        CHECK_EQ(late.recv().value_or(-1), 5);
    });
    CHECK_EQ(gort::select(gort::send(late, 5), gort::timeout(10s, [] { CHECK(!"receiver arrived"); })), 0);
}

void closed_channels() {
    gort::chan<int> c(1);
    CHECK(c.close());
    bool saw_closed = false;
    gort::select(gort::recv(c, [&](std::optional<int> v) { saw_closed = !v; }));
    CHECK(saw_closed);

    int result = -1;
    gort::select(gort::send(c, 1, [&](bool ok) { result = ok; }));
    CHECK_EQ(result, 0);

    int err = 0;
    try {
        gort::select(gort::send(c, 1, [] { CHECK(!"not sent"); }), gort::timeout(1s));
    } catch (const std::system_error &e) {
        err = e.code().value();
    }
    CHECK_EQ(err, EPIPE);

    // A receive handler that takes nothing runs on close too (Go's `case <-c:`).
    bool ran = false;
    gort::select(gort::recv(c, [&] { ran = true; }), gort::timeout(1s));
    CHECK(ran);

    // A close while select waits wakes it.
    gort::chan<int> w;
    gort::go([w] {
        gort::sleep(5ms);
        w.close();
    });
    std::optional<int> seen = 123;
    gort::select(gort::recv(w, [&](std::optional<int> v) { seen = v; }), gort::timeout(10s));
    CHECK(!seen.has_value());
}

void nil_channels_are_never_ready() {
    auto nil = gort::chan<int>::nil();
    gort::chan<int> ready(1);
    CHECK(ready.send(3));
    for (int k = 0; k < 50; ++k) {
        std::size_t i = gort::select(gort::recv(nil), gort::send(nil, 1), gort::default_case());
        CHECK_EQ(i, 2);
    }
    CHECK_EQ(gort::select(gort::recv(nil), gort::recv(ready), gort::timeout(1s)), 1);
    auto t0 = steady_clock::now();
    CHECK_EQ(gort::select(gort::recv(nil), gort::timeout(10ms)), 1);
    CHECK(ms_since(t0) >= 10);
}

void ready_cases_are_chosen_at_random() {
    gort::chan<int> a(1), b(1);
    int counts[2] = {0, 0};
    constexpr int rounds = 4000;
    for (int k = 0; k < rounds; ++k) {
        CHECK(a.try_send(1) != gort::chan_status::closed);
        CHECK(b.try_send(2) != gort::chan_status::closed);
        std::size_t i = gort::select(gort::recv(a, [&](std::optional<int> v) { CHECK_EQ(*v, 1); }),
                                     gort::recv(b, [&](std::optional<int> v) { CHECK_EQ(*v, 2); }));
        ++counts[i];
    }
    CHECK(counts[0] > rounds * 4 / 10);
    CHECK(counts[1] > rounds * 4 / 10);
}

void signal_cases() {
    gort::chan<void> sig(1);
    bool sent = false;
    CHECK_EQ(gort::select(gort::send(sig, [&] { sent = true; }), gort::default_case()), 0);
    CHECK(sent);
    bool got = false;
    CHECK_EQ(gort::select(gort::recv(sig, [&](bool ok) { got = ok; }), gort::default_case()), 0);
    CHECK(got);
    CHECK_EQ(gort::select(gort::recv(sig), gort::default_case()), 1);
    CHECK(sig.close());
    got = true;
    gort::select(gort::recv(sig, [&](bool ok) { got = ok; }));
    CHECK(!got);
}

void handler_exceptions_propagate() {
    gort::chan<int> c(1);
    CHECK(c.send(1));
    bool caught = false;
    try {
        gort::select(gort::recv(c, [](std::optional<int>) { throw std::runtime_error("from a handler"); }));
    } catch (const std::runtime_error &) {
        caught = true;
    }
    CHECK(caught);
    CHECK_EQ(c.len(), 0);  // the receive itself happened
}

void all() {
    default_when_nothing_ready();
    timeout_after_at_least_d();
    ready_cases_run_their_handlers();
    blocks_until_another_goroutine_is_ready();
    closed_channels();
    nil_channels_are_never_ready();
    ready_cases_are_chosen_at_random();
    signal_cases();
    handler_exceptions_propagate();
}

}  // namespace

int main() {
    gt_watchdog(50);
    all();            // from a plain thread
    gort::run(all);   // from a goroutine
    std::puts("ok");
    return 0;
}
