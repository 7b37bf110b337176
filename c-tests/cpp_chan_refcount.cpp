// gort::chan<T> handles (gort.hpp) are reference counted: copies share one
// channel; dropping copies neither closes nor frees it while another handle,
// a goroutine's capture or a blocked operation still uses it; moves leave a
// nil handle; adopt/share/release trade references with C code; copies made
// and dropped concurrently from many goroutines keep the count right.
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=1
// timeout: 60
#include "gort.hpp"
#include "gort_test.h"

#include <atomic>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

static_assert(std::is_nothrow_move_constructible_v<gort::chan<int>>);
static_assert(std::is_nothrow_copy_constructible_v<gort::chan<int>>);
static_assert(std::is_nothrow_move_assignable_v<gort::chan<int>>);

namespace {

void copies_share_one_channel() {
    gort::chan<int> a(4);
    {
        gort::chan<int> b = a;
        gort::chan<int> c(b);
        CHECK(a == b && b == c);
        CHECK(c.send(1));
        CHECK(b.send(2));
    }  // b and c gone: the channel is neither closed nor freed
    CHECK_EQ(a.len(), 2);
    CHECK(a.send(3));
    CHECK_EQ(*a.recv(), 1);
    CHECK_EQ(*a.recv(), 2);
    CHECK_EQ(*a.recv(), 3);
    CHECK(a.try_recv() == std::nullopt);

    gort::chan<int> other(4);
    CHECK(a != other);
    other = a;  // copy-assign: drops the other channel, shares a's
    CHECK(other == a);
    auto &same = other;
    other = same;  // self-assignment keeps it alive
    CHECK(other.send(5));
    CHECK_EQ(*a.recv(), 5);
}

void moves_leave_nil() {
    gort::chan<int> a(1);
    gort_chan *raw = a.native_handle();
    gort::chan<int> b = std::move(a);
    CHECK(!a && a.native_handle() == nullptr);  // NOLINT(bugprone-use-after-move): checking the moved-from state
    CHECK(b.native_handle() == raw);
    gort::chan<int> c(1);
    c = std::move(b);
    CHECK(!b && c.native_handle() == raw);  // NOLINT(bugprone-use-after-move)
    CHECK(c.send(1));
    swap(a, c);
    CHECK(a.native_handle() == raw && !c);
    CHECK_EQ(*a.recv(), 1);
}

void the_last_handle_may_be_a_goroutine() {
    gort::chan<int> results;
    for (int round = 0; round < 100; ++round) {
        {
            gort::chan<int> tmp(1);  // only the goroutine will keep it
            gort::go([tmp, results, round] {
                gort::yield();
                CHECK(tmp.send(round));
                results.send(*tmp.recv());
            });
        }
        CHECK_EQ(*results.recv(), round);
    }
}

void a_blocked_operation_holds_its_own_reference() {
    // The goroutine's timed receive holds no handle of its own; the last
    // handle goes while it is blocked; the receive must still time out
    // cleanly on a live channel.
    gort::chan<int> result;
    auto last = std::make_unique<gort::chan<int>>();
    gort_chan *raw = last->native_handle();
    gort::go([raw, result] {
        int v = 0;
        result.send(gort_chan_recv_timeout(raw, &v, 50 * 1000 * 1000));
    });
    gort::sleep(10ms);  // the receive is blocked by now
    last.reset();
    CHECK_EQ(*result.recv(), ETIMEDOUT);
}

void dropping_handles_does_not_close() {
    gort::chan<int> keep;
    gort::chan<int> verdict(1);
    {
        gort::chan<int> copy = keep;
        gort::go([copy, verdict] {
            int v = 0;
            // Not closed: a receive times out instead of reporting closed.
            verdict.send(copy.recv_for(v, 30ms) == gort::chan_status::timeout ? 1 : 0);
        });
    }
    CHECK_EQ(*verdict.recv(), 1);
}

void trades_with_c() {
    gort_chan *raw = gort_chan_make(sizeof(int), 2);
    CHECK(raw != nullptr);
    auto shared = gort::chan<int>::share(raw);  // retains: the C reference stays valid
    CHECK(shared.send(1));
    int v = 0;
    CHECK_EQ(gort_chan_recv(raw, &v), 0);
    CHECK_EQ(v, 1);
    auto owner = gort::chan<int>::adopt(raw);  // takes over the C reference
    CHECK(owner == shared);
    gort_chan *given = owner.release();  // and gives it back
    CHECK(!owner && given == raw);
    CHECK(shared.send(2));
    CHECK_EQ(gort_chan_recv(given, &v), 0);
    CHECK_EQ(v, 2);
    gort_chan_release(given);
    CHECK(shared.send(3));  // shared still holds its own reference
    CHECK_EQ(*shared.recv(), 3);
}

void concurrent_copies() {
    gort::chan<int> ch(1024);
    constexpr int goroutines = 16, copies = 20000;
    gort::wait_group wg;
    wg.add(goroutines);
    for (int g = 0; g < goroutines; ++g) {
        gort::go([ch, &wg] {
            std::vector<gort::chan<int>> held;
            for (int i = 0; i < copies; ++i) {
                held.push_back(ch);
                if (held.size() > 8) held.erase(held.begin(), held.begin() + 4);
                gort::chan<int> tmp = held.back();
                gort::chan<int> moved = std::move(tmp);
                if (i % 1000 == 0) CHECK(moved.send(i));
            }
            wg.done();
        });
    }
    wg.wait();
    CHECK_EQ(ch.len(), static_cast<std::size_t>(goroutines) * (copies / 1000));
    while (ch.try_recv()) {
    }
    CHECK(ch.send(7));
    CHECK_EQ(*ch.recv(), 7);
    CHECK(ch.close());
}

}  // namespace

int main() {
    gt_watchdog(50);
    copies_share_one_channel();
    moves_leave_nil();
    the_last_handle_may_be_a_goroutine();
    a_blocked_operation_holds_its_own_reference();
    dropping_handles_does_not_close();
    trades_with_c();
    concurrent_copies();
    std::puts("ok");
    return 0;
}
