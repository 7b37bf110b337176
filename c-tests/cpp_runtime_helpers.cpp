// The small helpers of gort.hpp: yield, sleep (never early), self (0 on a
// plain thread, distinct ids on goroutines), maxprocs (query/set/restore),
// world_stopper (no other goroutine runs while it lives), lock_os_thread (a
// pinned goroutine stays on its thread; EPERM as std::system_error on a
// plain thread), the nopreempt/blocking guards, stats and version, and
// dump (a parked goroutine's block, with the lambda's file and line).
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=2
// timeout: 60
#include "gort.hpp"
#include "gort_test.h"

#include <atomic>
#include <chrono>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>

using namespace std::chrono_literals;
using std::chrono::steady_clock;

namespace {

void sleep_never_returns_early() {
    for (auto d : {1ms, 5ms, 15ms}) {
        auto t0 = steady_clock::now();
        gort::sleep(d);
        CHECK(steady_clock::now() - t0 >= d);
    }
    auto t0 = steady_clock::now();
    gort::sleep(std::chrono::duration<double, std::milli>(2.5));  // fractional: rounded up
    CHECK(steady_clock::now() - t0 >= std::chrono::microseconds(2500));
    gort::sleep(0ms);
    gort::sleep(-1s);  // already over: returns
}

void ids() {
    CHECK_EQ(gort::self(), 0);
    constexpr int n = 50;
    gort::chan<std::uint64_t> ids(n);
    for (int i = 0; i < n; ++i) gort::go([ids] { ids.send(gort::self()); });
    std::set<std::uint64_t> seen;
    for (int i = 0; i < n; ++i) {
        std::uint64_t id = *ids.recv();
        CHECK(id > 0);
        seen.insert(id);
    }
    CHECK_EQ(seen.size(), n);
}

void yield_lets_others_run() {
    // On one goroutine stream, yields interleave two goroutines' progress.
    std::atomic<int> turns{0};
    gort::wait_group wg;
    wg.add(2);
    for (int g = 0; g < 2; ++g) {
        gort::go([&] {
            for (int i = 0; i < 1000; ++i) {
                ++turns;
                gort::yield();
            }
            wg.done();
        });
    }
    gort::yield();  // on a plain thread: sched_yield
    wg.wait();
    CHECK_EQ(turns.load(), 2000);
}

void maxprocs_query_set_restore() {
    int before = gort::maxprocs();
    CHECK(before >= 1);
    CHECK_EQ(gort::maxprocs(1), before);
    CHECK_EQ(gort::maxprocs(), 1);
    CHECK_EQ(gort::maxprocs(3), 1);
    CHECK_EQ(gort::maxprocs(), 3);
    gort::maxprocs(before);
    CHECK_EQ(gort::maxprocs(), before);
}

void world_stopper_stops_everyone_else() {
    std::atomic<bool> stop{false};
    std::atomic<long> progress[2] = {{0}, {0}};
    gort::wait_group wg;
    wg.add(2);
    for (int g = 0; g < 2; ++g) {
        gort::go([&, g] {  // call-free spinners: only preemption stops them
            while (!stop.load(std::memory_order_relaxed)) progress[g].fetch_add(1, std::memory_order_relaxed);
            wg.done();
        });
    }
    CHECK_WITHIN_MS(5000, progress[0].load() > 0 && progress[1].load() > 0);
    auto stopped_from_goroutine = [&] {
        auto stopped = gort::stop_the_world();
        long a = progress[0].load(), b = progress[1].load();
        std::this_thread::sleep_for(20ms);
        CHECK_EQ(progress[0].load(), a);
        CHECK_EQ(progress[1].load(), b);
    };
    {
        gort::world_stopper stopped;  // from a plain thread
        long a = progress[0].load(), b = progress[1].load();
        std::this_thread::sleep_for(20ms);
        CHECK_EQ(progress[0].load(), a);
        CHECK_EQ(progress[1].load(), b);
    }
    long a = progress[0].load(), b = progress[1].load();
    CHECK_WITHIN_MS(5000, progress[0].load() > a && progress[1].load() > b);  // started again
    gort::run(stopped_from_goroutine);
    a = progress[0].load();
    CHECK_WITHIN_MS(5000, progress[0].load() > a);
    stop = true;
    wg.wait();
    CHECK(gort::stats().stw_count >= 2);
}

void lock_os_thread_pins() {
    int err = 0;
    try {
        auto pinned = gort::lock_os_thread();
    } catch (const std::system_error &e) {
        err = e.code().value();
    }
    CHECK_EQ(err, EPERM);  // main is a plain thread

    gort::chan<int> moved(1);
    gort::wait_group wg;
    wg.add(4);
    for (int g = 0; g < 4; ++g) {
        gort::go([&] {
            int changes = 0;
            {
                auto pinned = gort::lock_os_thread();
                pthread_t me = pthread_self();
                for (int i = 0; i < 200; ++i) {
                    if (i % 2) gort::yield(); else gort::sleep(50us);
                    if (!pthread_equal(me, pthread_self())) ++changes;
                }
            }
            if (changes) (void)moved.try_send(changes);
            wg.done();
        });
    }
    wg.wait();
    CHECK_EQ(moved.len(), 0);
}

void guards() {
    gort::run([] {
        gort::nopreempt_guard outer;
        {
            gort::nopreempt_guard inner;  // nestable
        }
    });
    gort::chan<int> ch(1);
    gort::go([ch] {
        {
            gort::blocking_guard blocking;
            std::this_thread::sleep_for(5ms);  // a blocking call the runtime is told about
        }
        ch.send(1);
    });
    CHECK_EQ(*ch.recv(), 1);
}

void stats_and_version() {
    gort_stats before = gort::stats();
    gort::chan<int> go_on, done;
    gort::go([go_on, done] {
        go_on.recv();
        done.send(1);
    });
    CHECK(gort::num_goroutines() >= 1);  // the one parked above
    gort_stats after = gort::stats();
    CHECK(after.spawned > before.spawned);
    CHECK(after.goroutines >= 1);
    CHECK(after.maxprocs >= 1);
    go_on.send(1);
    done.recv();
    CHECK(gort::version() != nullptr && gort::version()[0] != '\0');
}

void dump_to_a_stream() {
    gort::chan<int> go_on, done;
    gort::go([go_on, done] {
        go_on.recv();  // parked here while the dump is taken
        done.send(1);
    });
    std::ostringstream text;
    for (int i = 0; i < 1000 && text.str().find("[chan receive]") == std::string::npos; ++i) {
        gort::sleep(1ms);
        text.str("");
        gort::dump(text);
    }
    CHECK(text.str().find("[chan receive]") != std::string::npos);
    CHECK(text.str().find("gort_chan_recv") != std::string::npos);
    CHECK(text.str().find("cpp_runtime_helpers.cpp:") != std::string::npos);
    go_on.send(1);
    done.recv();
}

}  // namespace

int main() {
    gt_watchdog(50);
    sleep_never_returns_early();
    gort::run(sleep_never_returns_early);
    ids();
    yield_lets_others_run();
    maxprocs_query_set_restore();
    world_stopper_stops_everyone_else();
    lock_os_thread_pins();
    guards();
    stats_and_version();
    dump_to_a_stream();
    std::puts("ok");
    return 0;
}
