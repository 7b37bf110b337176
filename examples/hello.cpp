// hello.cpp: gort from C++17 with include/gort.hpp: goroutines from
// lambdas, a typed channel ranged over until closed, a wait_group, and a
// select with a timeout.
//
//   c++ -std=c++17 -O2 -pthread -Iinclude examples/hello.cpp -o hello -Ltarget/release -Wl,-rpath,"$PWD/target/release" -lgort
//
// Returns 0 when the sum of squares and the timeout come out as expected.
#include <gort.hpp>

#include <chrono>
#include <cstdio>

using namespace std::chrono_literals;

int main() {
    // gort::run runs the lambda as a goroutine and waits for it (gort_main).
    return gort::run([] {
        gort::chan<int> squares(4);  // buffered channel of int
        gort::wait_group wg;

        for (int i = 1; i <= 10; ++i) {
            wg.add();
            // Captures are copied into the goroutine; a chan copy shares the channel.
            gort::go([squares, &wg, i] {
                squares.send(i * i);
                wg.done();
            });
        }
        // Close the channel once every sender is done: that ends the loop below.
        gort::go([squares, &wg] {
            wg.wait();
            squares.close();
        });

        int sum = 0;
        for (int v : squares) sum += v;  // Go's `for v := range squares`

        // A select that gives up after 20 ms: nothing is ever sent on `never`.
        gort::chan<int> never;
        bool timed_out = false;
        gort::select(gort::recv(never, [](std::optional<int>) {}),
                     gort::timeout(20ms, [&] { timed_out = true; }));

        std::printf("hello.cpp: sum of squares 1..10 = %d, select timed out: %s (%s)\n", sum,
                    timed_out ? "yes" : "no", gort::version());
        return sum == 385 && timed_out ? 0 : 1;
    });
}
