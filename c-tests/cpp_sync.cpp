// gort::wait_group and gort::mutex (gort.hpp): a mutex satisfies Lockable,
// so std::lock_guard, std::unique_lock and std::scoped_lock work, and keeps a
// plain counter exact while many goroutines (preempted inside the critical
// section) and a plain thread increment it; wait_group waits for all of them
// and reports a negative counter as std::system_error(EINVAL).
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=1
// env: GORTMAXPROCS=4 GORTDEBUG=preemptms=1
// timeout: 90
#include "gort.hpp"
#include "gort_test.h"

#include <atomic>
#include <mutex>
#include <system_error>
#include <thread>
#include <type_traits>

using namespace std::chrono_literals;

static_assert(!std::is_copy_constructible_v<gort::mutex> && !std::is_copy_assignable_v<gort::mutex>);
static_assert(!std::is_copy_constructible_v<gort::wait_group> && !std::is_copy_assignable_v<gort::wait_group>);

namespace {

void wait_group_waits_for_everyone() {
    gort::wait_group wg;
    wg.wait();  // zero: returns at once
    std::atomic<int> finished{0};
    constexpr int n = 200;
    wg.add(n);
    for (int i = 0; i < n; ++i) {
        gort::go([&wg, &finished, i] {
            if (i % 3 == 0) gort::sleep(std::chrono::microseconds(100 * (i % 7)));
            if (i % 3 == 1) gort::yield();
            ++finished;
            wg.done();
        });
    }
    wg.wait();
    CHECK_EQ(finished.load(), n);

    // Waiters on several goroutines and a plain thread all wake.
    gort::wait_group gate, waiters;
    gate.add();
    std::atomic<int> woke{0};
    waiters.add(3);
    for (int i = 0; i < 3; ++i) {
        gort::go([&] {
            gate.wait();
            ++woke;
            waiters.done();
        });
    }
    std::thread plain([&] {
        gate.wait();
        ++woke;
    });
    gort::sleep(10ms);
    CHECK_EQ(woke.load(), 0);
    gate.done();
    waiters.wait();
    plain.join();
    CHECK_EQ(woke.load(), 4);
}

void wait_group_negative_counter_throws() {
    gort::wait_group wg;
    int err = 0;
    try {
        wg.done();
    } catch (const std::system_error &e) {
        err = e.code().value();
    }
    CHECK_EQ(err, EINVAL);
    wg.add(2);
    err = 0;
    try {
        wg.add(-3);
    } catch (const std::system_error &e) {
        err = e.code().value();
    }
    CHECK_EQ(err, EINVAL);
    wg.add(-2);  // unchanged by the failed add: back to zero
    wg.wait();
}

// Burns CPU while holding the lock, so preemption lands inside it.
void spin(int n) {
    volatile int x = 0;
    for (int i = 0; i < n; ++i) x = x + i;
}

void mutex_under_contention() {
    gort::mutex m;
    long counter = 0;  // deliberately not atomic: only the mutex protects it
    constexpr int goroutines = 64, per = 2000, plain_per = 20000;
    gort::wait_group wg;
    wg.add(goroutines);
    for (int g = 0; g < goroutines; ++g) {
        gort::go([&, g] {
            for (int i = 0; i < per; ++i) {
                if (i % 3 == 0) {
                    std::lock_guard<gort::mutex> lock(m);
                    long seen = counter;
                    spin(g % 4 == 0 ? 2000 : 50);
                    counter = seen + 1;
                } else if (i % 3 == 1) {
                    std::unique_lock<gort::mutex> lock(m);
                    ++counter;
                    lock.unlock();
                    lock.lock();
                    ++counter;
                    --counter;
                } else {
                    std::unique_lock<gort::mutex> lock(m, std::try_to_lock);
                    if (!lock.owns_lock()) lock.lock();
                    ++counter;
                }
            }
            wg.done();
        });
    }
    std::thread plain([&] {  // a plain OS thread contends too
        for (int i = 0; i < plain_per; ++i) {
            std::lock_guard<gort::mutex> lock(m);
            ++counter;
        }
    });
    wg.wait();
    plain.join();
    std::lock_guard<gort::mutex> lock(m);
    CHECK_EQ(counter, static_cast<long>(goroutines) * per + plain_per);
}

void try_lock_and_scoped_lock() {
    gort::mutex a, b;
    CHECK(a.try_lock());
    CHECK(!a.try_lock());  // busy, even for the holder (no recursion, no owner)
    gort::chan<bool> got;
    gort::go([&] { got.send(a.try_lock()); });
    CHECK(!*got.recv());
    // Unlocking from another goroutine is allowed, as in Go.
    gort::go([&] {
        a.unlock();
        got.send(true);
    });
    CHECK(*got.recv());
    CHECK(a.try_lock());
    a.unlock();

    // std::scoped_lock over two gort mutexes (std::lock's try_lock dance),
    // taken in opposite orders by two goroutines: no deadlock.
    int shared = 0;
    gort::wait_group wg;
    wg.add(2);
    for (int k = 0; k < 2; ++k) {
        gort::go([&, k] {
            for (int i = 0; i < 5000; ++i) {
                if (k == 0) {
                    std::scoped_lock both(a, b);
                    ++shared;
                } else {
                    std::scoped_lock both(b, a);
                    ++shared;
                }
                if (i % 64 == 0) gort::yield();
            }
            wg.done();
        });
    }
    wg.wait();
    CHECK_EQ(shared, 10000);
    CHECK(a.try_lock() && b.try_lock());
    a.unlock();
    b.unlock();
}

void lock_held_across_blocking_calls() {
    // A goroutine may park (and move threads) while holding the mutex.
    gort::mutex m;
    gort::chan<int> ch;
    int value = 0;
    gort::go([&] {
        std::lock_guard<gort::mutex> lock(m);
        gort::sleep(5ms);
        value = *ch.recv();
    });
    gort::sleep(1ms);
    ch.send(9);
    std::lock_guard<gort::mutex> lock(m);
    CHECK_EQ(value, 9);
}

}  // namespace

int main() {
    gt_watchdog(80);
    wait_group_waits_for_everyone();
    wait_group_negative_counter_throws();
    mutex_under_contention();
    try_lock_and_scoped_lock();
    lock_held_across_blocking_calls();
    gort::run([] {
        wait_group_waits_for_everyone();
        mutex_under_contention();
    });
    std::puts("ok");
    return 0;
}
