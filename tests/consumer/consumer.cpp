// A C++17 program that uses an installed gort through gort.hpp: built by
// tests/consumer/run.sh with find_package(gort) (shared and static) and
// with pkg-config.
#include <gort.hpp>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>

using namespace std::chrono_literals;

int main() {
    return gort::run([] {
        gort::chan<long> squares(4);
        gort::wait_group wg;
        gort::mutex m;
        long total = 0;
        for (long i = 1; i <= 10; ++i) {
            wg.add();
            gort::go([&, i] {
                squares.send(i * i);
                std::lock_guard<gort::mutex> lock(m);
                total += i;
                wg.done();
            });
        }
        long sum = 0;
        for (int got = 0; got < 10;) {
            gort::select(gort::recv(squares, [&](std::optional<long> v) {
                             sum += v.value_or(0);
                             ++got;
                         }),
                         gort::timeout(10s, [] { std::puts("consumer.cpp: timed out"); }));
        }
        wg.wait();
        std::printf("consumer.cpp: sum=%ld total=%ld (%s)\n", sum, total, gort::version());
        return sum == 385 && total == 55 ? 0 : 1;
    });
}
