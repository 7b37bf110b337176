// A second gort::stop_the_world() by the goroutine or thread that already
// holds the world stopped throws std::system_error with EDEADLK, at once,
// and changes nothing: the outer stopper's destructor starts the world, and
// a goroutine runs again afterwards.
// env: GORTMAXPROCS=2
// timeout: 30
#include "gort.hpp"
#include "gort_test.h"

#include <atomic>
#include <system_error>

namespace {

std::atomic<long> ticks{0};
std::atomic<bool> quit{false};

void nested() {
    for (int i = 0; i < 10; i++) {
        auto stopped = gort::stop_the_world();
        long before = ticks.load();
        bool threw = false;
        try {
            auto again = gort::stop_the_world();
        } catch (const std::system_error &e) {
            threw = e.code().value() == EDEADLK && e.code().category() == std::generic_category();
        }
        CHECK(threw);
        CHECK_EQ(ticks.load(), before);  // still stopped
    }
    // Every stop was matched by one start: nobody holds the world now.
    CHECK_EQ(gort_start_the_world(), EPERM);
}

}  // namespace

int main() {
    gt_watchdog(25);
    gort::wait_group wg;
    wg.add();
    gort::go([&wg] {
        while (!quit.load(std::memory_order_relaxed)) ticks.fetch_add(1, std::memory_order_relaxed);
        wg.done();
    });
    nested();                   // the holder is a plain thread
    gort::run([] { nested(); });  // the holder is a goroutine
    long base = ticks.load();
    CHECK_WITHIN_MS(5000, ticks.load() > base);
    quit = true;
    wg.wait();
    return 0;
}
