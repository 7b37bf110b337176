// gort::go (gort.hpp) runs lambdas with captured state as goroutines: two
// lambdas play ping-pong over channels, each with its own mutable captured
// counter; a move-only capture (std::unique_ptr) is moved into the goroutine
// and destroyed there; arguments are decay-copied like std::thread's;
// go_options passes a name and stack size; gort::run returns the value or
// rethrows the exception of its goroutine; an exception escaping a goroutine
// calls std::terminate (checked in a child process); a goroutine pinned with
// lock_os_thread around a try statement may block inside its handler and
// rethrow (the C++ runtime's exception state is per thread).
// env: GORTMAXPROCS=1
// env: GORTMAXPROCS=2 GORTDEBUG=preemptms=2
// timeout: 60
#include "gort.hpp"
#include "gort_test.h"

#include <sys/wait.h>

#include <atomic>
#include <csignal>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

void ping_pong_with_captured_state() {
    constexpr int rounds = 10000;
    gort::chan<int> ping, pong;
    gort::chan<int> totals(2);
    // Each player owns its counter (captured by value, mutable).
    auto player = [](gort::chan<int> in, gort::chan<int> out, bool serves, gort::chan<int> report) {
        return [=, hits = 0]() mutable {
            if (serves) out.send(0);
            while (auto ball = in.recv()) {
                ++hits;
                if (*ball + 1 >= 2 * rounds) {
                    out.close();
                    break;
                }
                out.send(*ball + 1);
            }
            report.send(hits);
        };
    };
    gort::go(player(pong, ping, true, totals));
    gort::go(player(ping, pong, false, totals));
    int a = *totals.recv(), b = *totals.recv();
    CHECK_EQ(a + b, 2 * rounds);
    CHECK(a == rounds || b == rounds);
}

struct tracked {
    static std::atomic<int> alive;
    static std::atomic<std::uint64_t> destroyed_on;
    std::string text;
    explicit tracked(std::string t) : text(std::move(t)) { ++alive; }
    ~tracked() {
        destroyed_on = gort::self();
        --alive;
    }
};
std::atomic<int> tracked::alive{0};
std::atomic<std::uint64_t> tracked::destroyed_on{0};

// Waits (parking, when on a goroutine) until pred() holds; fails after 5 s.
template <class Pred>
void wait_until(Pred pred) {
    for (int i = 0; !pred(); ++i) {
        CHECK(i < 5000);
        gort::sleep(1ms);
    }
}

void move_only_capture() {
    gort::chan<std::size_t> out;
    auto owned = std::make_unique<tracked>("payload");
    tracked *raw = owned.get();
    gort::chan<std::uintptr_t> seen(1);
    gort::go([p = std::move(owned), out, seen] {
        seen.send(reinterpret_cast<std::uintptr_t>(p.get()));
        out.send(p->text.size());
    });
    CHECK(owned == nullptr);
    CHECK_EQ(*seen.recv(), reinterpret_cast<std::uintptr_t>(raw));  // moved, not copied
    CHECK_EQ(*out.recv(), 7);
    // The closure and its captures die on the goroutine when it returns.
    wait_until([] { return tracked::alive.load() == 0; });
    CHECK(tracked::destroyed_on.load() != 0);

    // A move-only argument (not a capture) works the same way.
    gort::chan<int> got;
    gort::go([got](std::unique_ptr<int> v) { got.send(*v); }, std::make_unique<int>(42));
    CHECK_EQ(*got.recv(), 42);
}

void add_into(std::atomic<long> &sum, long v, const std::string &label, gort::wait_group &wg) {
    sum += v + static_cast<long>(label.size());
    wg.done();
}

void arguments_are_copied_like_std_thread() {
    std::atomic<long> sum{0};
    gort::wait_group wg;
    std::string label = "abc";
    wg.add(100);
    for (long i = 0; i < 100; ++i) gort::go(add_into, std::ref(sum), i, label, std::ref(wg));
    label = "changed after the spawn";  // goroutines hold their own copies
    wg.wait();
    CHECK_EQ(sum.load(), 99 * 100 / 2 + 3 * 100);
}

void many_goroutines() {
    constexpr int n = 2000;
    gort::chan<int> results(n);
    for (int i = 0; i < n; ++i) gort::go([results, i] { results.send(i); });
    long sum = 0;
    for (int i = 0; i < n; ++i) sum += *results.recv();
    CHECK_EQ(sum, static_cast<long>(n) * (n - 1) / 2);
}

// Uses `depth` KiB of stack in 1 KiB frames.
int deep(int depth) {
    volatile char frame[1024];
    frame[0] = static_cast<char>(depth);
    frame[1023] = frame[0];
    return depth == 0 ? frame[1023] : deep(depth - 1) + frame[1023] - frame[0];
}

void options_name_and_stack_size() {
    gort::chan<int> done;
    gort::go({"cpp-big-stack", 2 << 20}, [done] { done.send(deep(1024)); });  // ~1 MiB deep
    CHECK_EQ(*done.recv(), 0);
    gort::go_options opts;
    opts.name = "cpp-named";
    std::string name = "temporary";
    opts.name = name.c_str();
    gort::go(opts, [done](int v) { done.send(v); }, 5);
    name.assign("overwritten after the spawn; the runtime copied the name");
    CHECK_EQ(*done.recv(), 5);
}

void run_returns_and_rethrows() {
    CHECK_EQ(gort::self(), 0);
    std::uint64_t inside = gort::run([] { return gort::self(); });
    CHECK(inside > 0);
    std::string s = gort::run([] { return std::string("from a goroutine"); });
    CHECK(s == "from a goroutine");
    bool caught = false;
    try {
        gort::run([] { throw std::runtime_error("boom"); });
    } catch (const std::runtime_error &e) {
        caught = std::string(e.what()) == "boom";
    }
    CHECK(caught);
    int calls = 0;
    gort::run([&] { ++calls; });
    CHECK_EQ(calls, 1);
}

// The documented rule for blocking inside a catch handler: pin around the
// whole try statement. Without the pin, `throw;` after a move to another
// thread finds no active exception and terminates.
void blocking_in_a_handler_when_pinned() {
    constexpr int goroutines = 8, rounds = 100;
    std::atomic<int> caught{0};
    gort::wait_group wg;
    wg.add(goroutines);
    for (int g = 0; g < goroutines; ++g) {
        gort::go([&] {
            for (int i = 0; i < rounds; ++i) {
                auto pinned = gort::lock_os_thread();
                try {
                    try {
                        throw std::runtime_error("inner");
                    } catch (...) {
                        gort::sleep(20us);
                        gort::yield();
                        throw;
                    }
                } catch (const std::runtime_error &e) {
                    if (std::string(e.what()) == "inner") ++caught;
                }
            }
            wg.done();
        });
    }
    wg.wait();
    CHECK_EQ(caught.load(), goroutines * rounds);
}

// In a child (before the runtime starts there): a goroutine throws; the
// trampoline must end the process through std::terminate (SIGABRT).
void escaping_exception_terminates() {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        std::set_terminate([] {
            std::fputs("terminate handler ran (expected)\n", stderr);
            std::abort();
        });
        gort::go([] { throw std::logic_error("escaped from a goroutine"); });
        gort::sleep(10s);
        _exit(0);  // not reached: terminate aborts first
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status));
    CHECK_EQ(WTERMSIG(status), SIGABRT);
}

}  // namespace

int main() {
    gt_watchdog(50);
    escaping_exception_terminates();  // first: fork before this process starts the runtime
    ping_pong_with_captured_state();
    move_only_capture();
    arguments_are_copied_like_std_thread();
    many_goroutines();
    options_name_and_stack_size();
    run_returns_and_rethrows();
    blocking_in_a_handler_when_pinned();
    gort::run([] {  // spawning from a goroutine works the same
        ping_pong_with_captured_state();
        move_only_capture();
    });
    std::puts("ok");
    return 0;
}
