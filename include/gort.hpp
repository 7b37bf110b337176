/*
 * gort.hpp: a header-only C++17 face for gort (goroutines, channels, select).
 *
 * Everything here is a thin, inline layer over the C API in gort.h; it adds
 * no state of its own and links against the same libgort. The contract of the
 * underlying calls (timeouts, errno values, what works on a plain thread) is
 * the C one, documented in gort.h and in the reference, docs/api.md.
 *
 *     #include <gort.hpp>
 *     using namespace std::chrono_literals;
 *
 *     gort::chan<int> results(16);
 *     gort::wait_group wg;
 *     for (int i = 0; i < 4; ++i) {
 *         wg.add();
 *         gort::go([&wg, results, i] { results.send(i * i); wg.done(); });
 *     }
 *     gort::go([&wg, results] { wg.wait(); results.close(); });
 *     for (int sq : results) std::printf("%d\n", sq);
 *
 * What maps to what
 *
 *   Go                        gort.hpp
 *   ------------------------  ------------------------------------------------
 *   make(chan T, n)           gort::chan<T> ch(n)       (T trivially copyable)
 *   make(chan struct{})       gort::chan<void> ch
 *   var ch chan T  (nil)      auto ch = gort::chan<T>::nil()
 *   ch <- v / v, ok := <-ch   ch.send(v) -> bool / ch.recv() -> std::optional<T>
 *   for v := range ch         for (T v : ch)
 *   go f(x)                   gort::go(f, x) / gort::go([=] { ... })
 *   select { ... }            gort::select(gort::recv(a, h), gort::send(b, v, h),
 *                                          gort::timeout(d, h) | gort::default_case(h))
 *   sync.WaitGroup, Mutex     gort::wait_group, gort::mutex (Lockable)
 *   runtime.Gosched etc.      gort::yield(), gort::sleep(d), gort::maxprocs(n) ...
 *   SIGQUIT's goroutine dump  gort::dump(std::cerr)
 *
 * Errors
 *
 *   A C call that fails with an errno value becomes
 *   std::system_error(std::error_code(err, std::generic_category())), except
 *   where the failure is an ordinary outcome with a natural C++ spelling: a
 *   closed channel (send() returns false, recv() returns std::nullopt), a
 *   timeout or a would-block (chan_status), a busy mutex (try_lock() false).
 *   Operations on a nil or moved-from channel throw EINVAL, as the C calls
 *   return it; inside select a nil channel's case is simply never ready.
 *
 * Exceptions and goroutines
 *
 *   An exception that escapes a goroutine's callable cannot propagate anywhere
 *   (nothing joins a goroutine), so, as with std::thread, the goroutine's
 *   trampoline catches it and calls std::terminate(). Catch what you mean to
 *   handle inside the callable. gort::run() is the exception: it waits for its
 *   goroutine, so it carries the exception back to its caller.
 *
 * Goroutines move between threads
 *
 *   A goroutine may resume on another OS thread after any gort call that can
 *   block or yield (channel operations, select, sleep, yield, mutex lock,
 *   wait_group wait, unlock_os_thread). Asynchronous preemption never moves
 *   it, but these calls can. The C++ runtime keeps per-thread state that must
 *   not change under a running frame, so:
 *     - make no such call inside a catch block, or in a destructor that runs
 *       during stack unwinding: the C++ runtime's list of caught and in-flight
 *       exceptions is per thread (after a move, `throw;` finds no active
 *       exception and calls std::terminate). Take what you need out of the
 *       exception, leave the handler, then block;
 *     - do not hold a reference to a thread_local object across such a call;
 *     - code that cannot follow these rules pins itself with
 *       gort::lock_os_thread() around the whole try statement (a guard made
 *       inside the handler unpins during the unwinding, which is itself such
 *       a call).
 *
 * Thread safety: every member of chan, wait_group and mutex may be called
 * concurrently from any goroutine or OS thread, as in Go. Assigning to or
 * destroying one chan object while another thread uses that same object is a
 * data race, as for std::shared_ptr; copies of a chan are independent handles.
 */
#ifndef GORT_HPP
#define GORT_HPP

#if !defined(__cplusplus) || __cplusplus < 201703L
#error "gort.hpp needs C++17 or later (use gort.h from C)"
#endif

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <ostream>
#include <string>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>

#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "gort.h"
}

namespace gort {

// ---------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------
namespace detail {

[[noreturn]] inline void throw_errno(int err, const char *what) {
    throw std::system_error(std::error_code(err, std::generic_category()), what);
}

inline void check(int err, const char *what) {
    if (err != 0) throw_errno(err, what);
}

/// A C++ duration as gort's relative timeout in nanoseconds. Rounds up (a
/// timeout never ends early), maps zero and negative durations to 0 (poll
/// once, like std::condition_variable::wait_for), and very long ones (over a
/// century) to -1, "forever", so that the runtime's deadline arithmetic
/// cannot overflow.
template <class Rep, class Period>
std::int64_t to_timeout_ns(const std::chrono::duration<Rep, Period> &d) noexcept {
    if (d <= d.zero()) return 0;
    constexpr long double forever_ns = 4.0e18L;  // ~127 years
    if (std::chrono::duration<long double, std::nano>(d).count() >= forever_ns) return -1;
    return static_cast<std::int64_t>(std::chrono::ceil<std::chrono::nanoseconds>(d).count());
}

/// Suitably aligned bytes the C library writes a received element into.
/// Trivially copyable types are implicit-lifetime types, so the bytes hold a
/// T once written.
template <class T>
struct elem_buffer {
    alignas(T) unsigned char bytes[sizeof(T)];
    void *ptr() noexcept { return bytes; }
    T get() noexcept { return *std::launder(reinterpret_cast<T *>(bytes)); }
};

template <class T>
struct type_identity {
    using type = T;
};
template <class T>
using type_identity_t = typename type_identity<T>::type;

/// The handler of a case written without one.
struct noop {
    void operator()() const noexcept {}
};

}  // namespace detail

// ---------------------------------------------------------------------------
// Channels
// ---------------------------------------------------------------------------

/// Outcome of a non-blocking or timed channel operation. Discarding one is
/// usually a bug (a value silently not sent), hence [[nodiscard]].
enum class [[nodiscard]] chan_status {
    ok,           ///< the value was sent / received
    closed,       ///< the channel is closed (for receives: closed and drained)
    would_block,  ///< try_*, or *_for with a zero timeout: not possible at once
    timeout,      ///< *_for: the timeout passed first
};

namespace detail {

/// What every chan<T> shares: ownership of one reference to a gort_chan.
class chan_base {
public:
    /// The underlying gort_chan*, to hand to C (still owned by this object).
    gort_chan *native_handle() const noexcept { return c_; }
    /// False for a nil (or moved-from) channel.
    explicit operator bool() const noexcept { return c_ != nullptr; }

    /// Closes the channel: blocked and future senders fail, receivers drain
    /// what is buffered, then see it closed. Returns false if it was already
    /// closed (where Go would panic).
    bool close() const {
        int err = gort_chan_close(c_);
        if (err == EPIPE) return false;
        check(err, "gort_chan_close");
        return true;
    }
    /// Elements buffered now.
    std::size_t len() const noexcept { return c_ ? gort_chan_len(c_) : 0; }
    /// Buffer capacity (0 for an unbuffered channel).
    std::size_t cap() const noexcept { return c_ ? gort_chan_cap(c_) : 0; }

protected:
    chan_base(std::size_t elem_size, std::size_t capacity) : c_(gort_chan_make(elem_size, capacity)) {
        if (c_ == nullptr) {
            int err = errno;
            throw_errno(err != 0 ? err : ENOMEM, "gort_chan_make");
        }
    }
    struct adopt_tag {};
    chan_base(gort_chan *adopted, adopt_tag) noexcept : c_(adopted) {}
    chan_base(const chan_base &other) noexcept : c_(other.c_) {
        if (c_) gort_chan_retain(c_);
    }
    chan_base(chan_base &&other) noexcept : c_(std::exchange(other.c_, nullptr)) {}
    chan_base &operator=(const chan_base &other) noexcept {
        if (other.c_) gort_chan_retain(other.c_);  // first: other may be *this
        if (c_) gort_chan_release(c_);
        c_ = other.c_;
        return *this;
    }
    chan_base &operator=(chan_base &&other) noexcept {
        if (this != &other) {
            if (c_) gort_chan_release(c_);
            c_ = std::exchange(other.c_, nullptr);
        }
        return *this;
    }
    ~chan_base() {
        if (c_) gort_chan_release(c_);
    }

    /// Maps an operation's result: 0 -> ok, EPIPE -> closed, EAGAIN ->
    /// would_block, ETIMEDOUT -> timeout; anything else throws.
    static chan_status status(int err, const char *what) {
        switch (err) {
        case 0: return chan_status::ok;
        case EPIPE: return chan_status::closed;
        case EAGAIN: return chan_status::would_block;
        case ETIMEDOUT: return chan_status::timeout;
        default: throw_errno(err, what);
        }
    }
    /// Returns `c` if it is nil or carries elements of `size` bytes; else
    /// throws EINVAL, before adopt() or share() touch its reference.
    static gort_chan *checked(gort_chan *c, std::size_t size, const char *what) {
        std::size_t actual = c ? gort_chan_elem_size(c) : size;
        if (actual != size) {
            throw std::system_error(std::error_code(EINVAL, std::generic_category()),
                                    std::string(what) + ": the channel's elements are " + std::to_string(actual) +
                                        " bytes, this handle's " + std::to_string(size));
        }
        return c;
    }
    /// Pointer passed as the element of a zero-size send; never read.
    static const void *empty_elem() noexcept {
        static const unsigned char dummy = 0;
        return &dummy;
    }

    gort_chan *c_ = nullptr;
};

}  // namespace detail

/// A typed, reference-counted handle to a gort channel carrying values of T.
///
/// T must be trivially copyable: elements are copied byte-wise by the C
/// runtime, possibly on another thread. Copying a chan shares the channel
/// (gort_chan_retain), like copying a Go channel value; the channel is freed
/// when the last handle, and the last operation blocked on it, are gone.
/// Closing is explicit (close()); dropping handles never closes.
template <class T>
class chan : public detail::chan_base {
    static_assert(std::is_trivially_copyable_v<T>,
                  "gort::chan<T>: T must be trivially copyable (the C runtime copies elements byte-wise)");
    static_assert(std::is_object_v<T> && !std::is_array_v<T> && std::is_same_v<T, std::remove_cv_t<T>>,
                  "gort::chan<T>: T must be a non-array, non-const object type");

public:
    using value_type = T;

    /// Makes a channel with room for `capacity` buffered elements (0: an
    /// unbuffered rendezvous channel). Throws std::system_error on failure.
    explicit chan(std::size_t capacity = 0) : chan_base(sizeof(T), capacity) {}
    /// A nil channel (Go's zero value, as is a moved-from handle): its select
    /// cases are never ready; its other operations throw EINVAL.
    static chan nil() noexcept { return chan(nullptr, adopt_tag()); }

    /// Takes over one reference the caller owns (e.g. from C code that made
    /// the channel). Throws std::system_error (EINVAL), leaving the reference
    /// with the caller, if the channel's element size is not sizeof(T).
    static chan adopt(gort_chan *c) { return chan(checked(c, sizeof(T), "gort::chan::adopt"), adopt_tag()); }
    /// Shares a channel the caller does not own (retains it). Throws
    /// std::system_error (EINVAL) if its element size is not sizeof(T).
    static chan share(gort_chan *c) {
        if (checked(c, sizeof(T), "gort::chan::share")) gort_chan_retain(c);
        return chan(c, adopt_tag());
    }
    /// Gives up this handle's reference without releasing it; the caller
    /// must gort_chan_release() it eventually. Leaves this handle nil.
    gort_chan *release() noexcept { return std::exchange(c_, nullptr); }

    /// Sends v, blocking until a receiver takes it or there is buffer room.
    /// Returns false if the channel is closed (before or while waiting).
    bool send(const T &v) const { return status(gort_chan_send(c_, &v), "gort_chan_send") == chan_status::ok; }

    /// Receives a value, blocking until one arrives; std::nullopt once the
    /// channel is closed and drained.
    std::optional<T> recv() const {
        detail::elem_buffer<T> buf;
        return if_ok(status(gort_chan_recv(c_, buf.ptr()), "gort_chan_recv"), buf);
    }

    /// Sends without blocking: ok, closed or would_block.
    chan_status try_send(const T &v) const { return status(gort_chan_try_send(c_, &v), "gort_chan_try_send"); }

    /// Receives without blocking into `out` (assigned only on ok): ok,
    /// closed (and drained) or would_block.
    chan_status try_recv(T &out) const {
        detail::elem_buffer<T> buf;
        return store(status(gort_chan_try_recv(c_, buf.ptr()), "gort_chan_try_recv"), buf, out);
    }
    /// Receives without blocking; std::nullopt if nothing is ready or the
    /// channel is closed and drained (use try_recv(T&) to tell them apart).
    std::optional<T> try_recv() const {
        detail::elem_buffer<T> buf;
        return if_ok(status(gort_chan_try_recv(c_, buf.ptr()), "gort_chan_try_recv"), buf);
    }

    /// Sends, giving up after `timeout`: ok, closed or timeout.
    template <class Rep, class Period>
    chan_status send_for(const T &v, const std::chrono::duration<Rep, Period> &timeout) const {
        return status(gort_chan_send_timeout(c_, &v, detail::to_timeout_ns(timeout)), "gort_chan_send_timeout");
    }

    /// Receives into `out` (assigned only on ok), giving up after `timeout`:
    /// ok, closed (and drained) or timeout.
    template <class Rep, class Period>
    chan_status recv_for(T &out, const std::chrono::duration<Rep, Period> &timeout) const {
        detail::elem_buffer<T> buf;
        int err = gort_chan_recv_timeout(c_, buf.ptr(), detail::to_timeout_ns(timeout));
        return store(status(err, "gort_chan_recv_timeout"), buf, out);
    }
    /// Receives, giving up after `timeout`; std::nullopt on timeout or once
    /// closed and drained (use recv_for(T&, d) to tell them apart).
    template <class Rep, class Period>
    std::optional<T> recv_for(const std::chrono::duration<Rep, Period> &timeout) const {
        detail::elem_buffer<T> buf;
        int err = gort_chan_recv_timeout(c_, buf.ptr(), detail::to_timeout_ns(timeout));
        return if_ok(status(err, "gort_chan_recv_timeout"), buf);
    }

    /// Input iterator over received values, ending once the channel is
    /// closed and drained: `for (T v : ch)` is Go's `for v := range ch`.
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using pointer = const T *;
        using reference = const T &;

        iterator() noexcept = default;
        reference operator*() const noexcept { return *value_; }
        pointer operator->() const noexcept { return &*value_; }
        iterator &operator++() {
            value_ = ch_->recv();
            if (!value_) ch_ = nullptr;
            return *this;
        }
        iterator operator++(int) {
            iterator before = *this;
            ++*this;
            return before;
        }
        friend bool operator==(const iterator &a, const iterator &b) noexcept { return a.ch_ == b.ch_; }
        friend bool operator!=(const iterator &a, const iterator &b) noexcept { return a.ch_ != b.ch_; }

    private:
        friend class chan;
        explicit iterator(const chan *ch) : ch_(ch) { ++*this; }
        const chan *ch_ = nullptr;
        std::optional<T> value_;
    };
    /// Receives the first value (blocking).
    iterator begin() const { return iterator(this); }
    iterator end() const noexcept { return iterator(); }

    /// Handles are equal when they refer to the same channel (or both nil).
    friend bool operator==(const chan &a, const chan &b) noexcept { return a.c_ == b.c_; }
    friend bool operator!=(const chan &a, const chan &b) noexcept { return a.c_ != b.c_; }
    void swap(chan &other) noexcept { std::swap(c_, other.c_); }
    friend void swap(chan &a, chan &b) noexcept { a.swap(b); }

private:
    chan(gort_chan *adopted, adopt_tag tag) noexcept : chan_base(adopted, tag) {}

    static chan_status store(chan_status s, detail::elem_buffer<T> &buf, T &out) {
        if (s == chan_status::ok) out = buf.get();
        return s;
    }
    static std::optional<T> if_ok(chan_status s, detail::elem_buffer<T> &buf) {
        if (s != chan_status::ok) return std::nullopt;
        return buf.get();
    }
};

/// A channel of empty elements (elem_size 0), Go's `chan struct{}`: only the
/// event of a send, and closing, carry information.
template <>
class chan<void> : public detail::chan_base {
public:
    using value_type = void;

    explicit chan(std::size_t capacity = 0) : chan_base(0, capacity) {}
    static chan nil() noexcept { return chan(nullptr, adopt_tag()); }
    /// As chan<T>::adopt and share: the element size must be 0.
    static chan adopt(gort_chan *c) { return chan(checked(c, 0, "gort::chan<void>::adopt"), adopt_tag()); }
    static chan share(gort_chan *c) {
        if (checked(c, 0, "gort::chan<void>::share")) gort_chan_retain(c);
        return chan(c, adopt_tag());
    }
    gort_chan *release() noexcept { return std::exchange(c_, nullptr); }

    /// Signals; false if the channel is closed.
    bool send() const { return status(gort_chan_send(c_, empty_elem()), "gort_chan_send") == chan_status::ok; }
    /// Waits for a signal; false once the channel is closed and drained.
    bool recv() const { return status(gort_chan_recv(c_, nullptr), "gort_chan_recv") == chan_status::ok; }
    chan_status try_send() const { return status(gort_chan_try_send(c_, empty_elem()), "gort_chan_try_send"); }
    chan_status try_recv() const { return status(gort_chan_try_recv(c_, nullptr), "gort_chan_try_recv"); }
    template <class Rep, class Period>
    chan_status send_for(const std::chrono::duration<Rep, Period> &timeout) const {
        int err = gort_chan_send_timeout(c_, empty_elem(), detail::to_timeout_ns(timeout));
        return status(err, "gort_chan_send_timeout");
    }
    template <class Rep, class Period>
    chan_status recv_for(const std::chrono::duration<Rep, Period> &timeout) const {
        int err = gort_chan_recv_timeout(c_, nullptr, detail::to_timeout_ns(timeout));
        return status(err, "gort_chan_recv_timeout");
    }

    friend bool operator==(const chan &a, const chan &b) noexcept { return a.c_ == b.c_; }
    friend bool operator!=(const chan &a, const chan &b) noexcept { return a.c_ != b.c_; }
    void swap(chan &other) noexcept { std::swap(c_, other.c_); }
    friend void swap(chan &a, chan &b) noexcept { a.swap(b); }

private:
    chan(gort_chan *adopted, adopt_tag tag) noexcept : chan_base(adopted, tag) {}
};

// ---------------------------------------------------------------------------
// Goroutines
// ---------------------------------------------------------------------------

/// Options for gort::go, mirroring gort_attr.
struct go_options {
    const char *name = nullptr;   ///< shown in traces and scheddetail; copied; may be null
    std::size_t stack_size = 0;   ///< bytes; 0 = the default (GORTDEBUG stacksize)
};

namespace detail {

template <class Fn, class... Args>
struct closure {
    std::tuple<Fn, Args...> parts;

    /// The goroutine's entry: runs the callable once, then destroys it (and
    /// everything it captured) on the goroutine. An escaping exception ends
    /// the program, as with std::thread.
    static void run(void *self) noexcept {
        std::unique_ptr<closure> owned(static_cast<closure *>(self));
        try {
            std::apply([](auto &&...xs) { std::invoke(std::move(xs)...); }, std::move(owned->parts));
        } catch (...) {
            std::terminate();
        }
    }
};

template <class F, class... Args>
void spawn(const gort_attr *attr, F &&f, Args &&...args) {
    using C = closure<std::decay_t<F>, std::decay_t<Args>...>;
    auto c = std::unique_ptr<C>(new C{std::tuple<std::decay_t<F>, std::decay_t<Args>...>(
        std::forward<F>(f), std::forward<Args>(args)...)});
    int err = attr ? gort_go_attr(&C::run, c.get(), attr) : gort_go(&C::run, c.get());
    check(err, "gort_go");
    c.release();  // the goroutine owns it now
}

template <class F, class... Args>
using enable_if_invocable_t =
    std::enable_if_t<std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>, int>;

}  // namespace detail

/// Starts a goroutine running std::invoke(f, args...).
///
/// Like std::thread, f and args are decay-copied (moved when passed as
/// rvalues, so move-only captures work) into a heap-allocated closure that
/// the goroutine runs and then destroys; pass std::ref to share by
/// reference. An exception escaping f calls std::terminate(). Throws
/// std::system_error (ENOMEM) if the goroutine cannot be made.
template <class F, class... Args, detail::enable_if_invocable_t<F, Args...> = 0>
void go(F &&f, Args &&...args) {
    detail::spawn(nullptr, std::forward<F>(f), std::forward<Args>(args)...);
}

/// As go(f, args...), with a name and/or stack size:
/// `gort::go({"reader", 256 * 1024}, [&] { ... });`
template <class F, class... Args, detail::enable_if_invocable_t<F, Args...> = 0>
void go(const go_options &options, F &&f, Args &&...args) {
    gort_attr attr{};
    attr.name = options.name;
    attr.stack_size = options.stack_size;
    detail::spawn(&attr, std::forward<F>(f), std::forward<Args>(args)...);
}

/// Runs f() as a goroutine and waits for it (gort_main): the usual way for
/// `main` to enter goroutine land. Returns what f returns; an exception
/// thrown by f is rethrown here, in the caller.
template <class F>
std::invoke_result_t<F> run(F &&f) {
    using R = std::invoke_result_t<F>;
    static_assert(!std::is_reference_v<R>, "gort::run: the callable must return void or a value");
    struct frame {
        std::remove_reference_t<F> *fn;
        std::optional<std::conditional_t<std::is_void_v<R>, char, R>> result;
        std::exception_ptr error;
    } top{std::addressof(f), std::nullopt, nullptr};
    auto entry = [](void *p) noexcept {
        frame &fr = *static_cast<frame *>(p);
        try {
            if constexpr (std::is_void_v<R>) {
                std::invoke(std::forward<F>(*fr.fn));
            } else {
                fr.result.emplace(std::invoke(std::forward<F>(*fr.fn)));
            }
        } catch (...) {
            fr.error = std::current_exception();
        }
    };
    detail::check(gort_main(entry, &top), "gort_main");
    if (top.error) std::rethrow_exception(top.error);
    if constexpr (!std::is_void_v<R>) return std::move(*top.result);
}

/// Lets other goroutines run (Go's runtime.Gosched); sched_yield on a plain thread.
inline void yield() noexcept { gort_yield(); }

/// Sleeps at least `d` (parks the goroutine; blocks a plain thread).
template <class Rep, class Period>
void sleep(const std::chrono::duration<Rep, Period> &d) {
    std::int64_t ns = detail::to_timeout_ns(d);
    if (ns < 0) ns = INT64_MAX / 2;  // "forever" is not a sleep the runtime takes
    detail::check(gort_sleep(ns), "gort_sleep");
}

/// The running goroutine's id (> 0), or 0 on a plain OS thread.
inline std::uint64_t self() noexcept { return gort_self(); }

/// Number of Ps (GOMAXPROCS).
inline int maxprocs() noexcept { return gort_maxprocs(0); }
/// Sets the number of Ps to n (> 0); returns the previous value.
inline int maxprocs(int n) noexcept { return gort_maxprocs(n); }

/// Goroutines alive now.
inline std::size_t num_goroutines() noexcept { return gort_num_goroutines(); }

/// The runtime's counters (gort_read_stats).
inline gort_stats stats() {
    gort_stats s{};
    detail::check(gort_read_stats(&s), "gort_read_stats");
    return s;
}

/// The library's version string.
inline const char *version() noexcept { return gort_version(); }

/// Writes every goroutine's state and stack to `out`, in Go's traceback
/// shape (gort_dump). Throws std::system_error if the dump fails (EDEADLK
/// while the caller holds the world stopped).
inline void dump(std::ostream &out) {
    std::unique_ptr<std::FILE, int (*)(std::FILE *)> f(std::tmpfile(), &std::fclose);
    if (!f) throw std::system_error(errno, std::generic_category(), "gort::dump: tmpfile");
    detail::check(gort_dump(fileno(f.get())), "gort_dump");
    std::rewind(f.get());
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f.get())) > 0;)
        out.write(buf, static_cast<std::streamsize>(n));
}

// ---------------------------------------------------------------------------
// Scoped runtime states
// ---------------------------------------------------------------------------

/// Stops the world for its lifetime: on return from the constructor no other
/// goroutine runs user code; the destructor starts the world again. Throws
/// std::system_error (EDEADLK) if the caller already holds the world stopped.
class world_stopper {
public:
    world_stopper() { detail::check(gort_stop_the_world(), "gort_stop_the_world"); }
    ~world_stopper() { gort_start_the_world(); }
    world_stopper(const world_stopper &) = delete;
    world_stopper &operator=(const world_stopper &) = delete;
};

/// `auto stopped = gort::stop_the_world();`
[[nodiscard]] inline world_stopper stop_the_world() { return world_stopper(); }

/// Pins the calling goroutine to its OS thread for its lifetime (so
/// thread-local state stays put). Throws std::system_error (EPERM) on a plain
/// thread.
class os_thread_lock {
public:
    os_thread_lock() { detail::check(gort_lock_os_thread(), "gort_lock_os_thread"); }
    ~os_thread_lock() { gort_unlock_os_thread(); }
    os_thread_lock(const os_thread_lock &) = delete;
    os_thread_lock &operator=(const os_thread_lock &) = delete;
};

/// `auto pinned = gort::lock_os_thread();`
[[nodiscard]] inline os_thread_lock lock_os_thread() { return os_thread_lock(); }

/// No asynchronous preemption of this goroutine for its lifetime (nestable).
class nopreempt_guard {
public:
    nopreempt_guard() noexcept { gort_nopreempt_begin(); }
    ~nopreempt_guard() { gort_nopreempt_end(); }
    nopreempt_guard(const nopreempt_guard &) = delete;
    nopreempt_guard &operator=(const nopreempt_guard &) = delete;
};

/// Marks a blocking C call (read, poll, a lock of another library...) for its
/// lifetime: the worker's P goes to another thread at once and no preemption
/// signal is sent. Make no gort calls while it is alive.
class blocking_guard {
public:
    blocking_guard() noexcept { gort_blocking_begin(); }
    ~blocking_guard() { gort_blocking_end(); }
    blocking_guard(const blocking_guard &) = delete;
    blocking_guard &operator=(const blocking_guard &) = delete;
};

// ---------------------------------------------------------------------------
// Synchronisation
// ---------------------------------------------------------------------------

/// Go's sync.WaitGroup. Parks goroutines (blocks plain threads). Not
/// copyable or movable: the runtime knows it by address.
class wait_group {
public:
    constexpr wait_group() noexcept = default;
    wait_group(const wait_group &) = delete;
    wait_group &operator=(const wait_group &) = delete;

    /// Adds delta (may be negative) to the counter; throws EINVAL if the
    /// counter would go negative.
    void add(std::int64_t delta = 1) { detail::check(gort_wg_add(&wg_, delta), "gort_wg_add"); }
    /// add(-1).
    void done() { detail::check(gort_wg_done(&wg_), "gort_wg_done"); }
    /// Waits until the counter is zero.
    void wait() { detail::check(gort_wg_wait(&wg_), "gort_wg_wait"); }

    gort_waitgroup *native_handle() noexcept { return &wg_; }

private:
    gort_waitgroup wg_{};
};

/// Go's sync.Mutex, satisfying Lockable, so std::lock_guard,
/// std::unique_lock and std::scoped_lock work. Parks goroutines (blocks plain
/// threads). Like Go's (and unlike std::mutex) it has no owner: any
/// goroutine or thread may unlock it. Unlocking an unlocked mutex is a bug
/// that calls std::terminate() (Go: fatal error). Not copyable or movable.
class mutex {
public:
    constexpr mutex() noexcept = default;
    mutex(const mutex &) = delete;
    mutex &operator=(const mutex &) = delete;

    void lock() { detail::check(gort_mutex_lock(&m_), "gort_mutex_lock"); }
    bool try_lock() {
        int err = gort_mutex_trylock(&m_);
        if (err == EBUSY) return false;
        detail::check(err, "gort_mutex_trylock");
        return true;
    }
    void unlock() noexcept {
        if (gort_mutex_unlock(&m_) != 0) std::terminate();
    }

    gort_mutex *native_handle() noexcept { return &m_; }

private:
    gort_mutex m_{};
};

// ---------------------------------------------------------------------------
// Select
// ---------------------------------------------------------------------------

namespace detail {

/// A receive case. The handler gets std::optional<T> (std::nullopt: the
/// channel is closed and drained) -- bool for chan<void> -- or nothing.
template <class T, class F>
struct recv_case {
    gort_chan *chan;
    F handler;
    std::conditional_t<std::is_void_v<T>, char, elem_buffer<T>> buf;

    void fill(gort_case &c) noexcept {
        c.chan = chan;
        c.op = GORT_RECV;
        if constexpr (std::is_void_v<T>) {
            c.elem = nullptr;
        } else {
            c.elem = buf.ptr();
        }
    }
    void fire(const gort_case &c) {
        if (c.result != 0 && c.result != EPIPE) throw_errno(c.result, "gort_select");
        const bool received = c.result == 0;
        if constexpr (std::is_void_v<T>) {
            if constexpr (std::is_invocable_v<F &, bool>) {
                handler(received);
            } else {
                static_assert(std::is_invocable_v<F &>,
                              "gort::recv on chan<void>: the handler takes bool (false: closed) or nothing");
                handler();
            }
        } else if constexpr (std::is_invocable_v<F &, std::optional<T>>) {
            handler(received ? std::optional<T>(buf.get()) : std::optional<T>());
        } else {
            static_assert(std::is_invocable_v<F &>,
                          "gort::recv: the handler takes std::optional<T> (std::nullopt: closed) or nothing");
            handler();
        }
    }
};

/// A send case. The handler gets bool (false: the channel was closed) or
/// nothing; with no parameter, a closed channel throws EPIPE instead (where
/// Go would panic).
template <class T, class F>
struct send_case {
    gort_chan *chan;
    F handler;
    std::conditional_t<std::is_void_v<T>, unsigned char, T> value;

    void fill(gort_case &c) noexcept {
        c.chan = chan;
        c.op = GORT_SEND;
        c.elem = static_cast<void *>(std::addressof(value));
    }
    void fire(const gort_case &c) {
        if (c.result != 0 && c.result != EPIPE) throw_errno(c.result, "gort_select");
        if constexpr (std::is_invocable_v<F &, bool>) {
            handler(c.result == 0);
        } else {
            static_assert(std::is_invocable_v<F &>, "gort::send: the handler takes bool (false: closed) or nothing");
            if (c.result == EPIPE) throw_errno(EPIPE, "gort::select: send on a closed channel");
            handler();
        }
    }
};

/// A timeout (or, with 0 ns, default) case.
template <class F>
struct timeout_case {
    std::int64_t ns;
    F handler;
};

template <class C>
struct is_timeout_case : std::false_type {};
template <class F>
struct is_timeout_case<timeout_case<F>> : std::true_type {};
template <class C>
inline constexpr bool is_timeout_case_v = is_timeout_case<std::decay_t<C>>::value;

template <class C>
struct is_select_case : is_timeout_case<C> {};
template <class T, class F>
struct is_select_case<recv_case<T, F>> : std::true_type {};
template <class T, class F>
struct is_select_case<send_case<T, F>> : std::true_type {};

}  // namespace detail

/// select case: receive from `ch`, then call `handler(std::optional<T>)` (or
/// `handler()`); for chan<void>, `handler(bool)` or `handler()`.
template <class T, class F = detail::noop>
detail::recv_case<T, std::decay_t<F>> recv(const chan<T> &ch, F &&handler = F()) {
    return {ch.native_handle(), std::forward<F>(handler), {}};
}

/// select case: send `value` on `ch`, then call `handler()` (or
/// `handler(bool sent)`, which also learns of a closed channel).
template <class T, class F = detail::noop>
detail::send_case<T, std::decay_t<F>> send(const chan<T> &ch, const detail::type_identity_t<T> &value,
                                           F &&handler = F()) {
    return {ch.native_handle(), std::forward<F>(handler), value};
}

/// select case: send a signal on a chan<void>.
template <class F = detail::noop>
detail::send_case<void, std::decay_t<F>> send(const chan<void> &ch, F &&handler = F()) {
    return {ch.native_handle(), std::forward<F>(handler), 0};
}

/// select case: give up after `d` and call `handler()`.
template <class Rep, class Period, class F = detail::noop>
detail::timeout_case<std::decay_t<F>> timeout(const std::chrono::duration<Rep, Period> &d, F &&handler = F()) {
    return {detail::to_timeout_ns(d), std::forward<F>(handler)};
}

/// select case: Go's `default:` -- if no other case is ready now, call
/// `handler()`.
template <class F = detail::noop>
detail::timeout_case<std::decay_t<F>> default_case(F &&handler = F()) {
    return {0, std::forward<F>(handler)};
}

/// Waits until one of the channel cases can proceed, performs it, and calls
/// its handler; with a timeout (or default_case) whose time runs out first,
/// calls that case's handler instead. If several cases are ready, one is
/// chosen uniformly at random. Returns the position of the case that ran
/// among the arguments (0-based). At most one timeout/default_case.
///
///     gort::select(gort::recv(in, [&](std::optional<int> v) { ... }),
///                  gort::send(out, 7, [&] { ... }),
///                  gort::timeout(10ms, [&] { ... }));
///
/// Handlers run after the channel operation, outside any runtime lock; what
/// they throw propagates out of select.
template <class... Cases>
std::size_t select(Cases &&...cases) {
    static_assert((detail::is_select_case<std::decay_t<Cases>>::value && ...),
                  "gort::select takes gort::recv, gort::send, gort::timeout and gort::default_case cases");
    constexpr std::size_t n_timeouts = (std::size_t{0} + ... + std::size_t{detail::is_timeout_case_v<Cases>});
    static_assert(n_timeouts <= 1, "gort::select: at most one timeout or default_case");
    static_assert(sizeof...(Cases) > 0, "gort::select: no cases (a select that blocks forever is not offered)");
    constexpr std::size_t n = sizeof...(Cases) - n_timeouts;

    std::array<gort_case, (n > 0 ? n : 1)> cs{};
    std::int64_t timeout_ns = -1;
    std::size_t timeout_index = 0;
    {
        std::size_t ci = 0, ai = 0;
        auto prepare = [&](auto &c) {
            if constexpr (detail::is_timeout_case_v<decltype(c)>) {
                timeout_ns = c.ns;
                timeout_index = ai;
            } else {
                c.fill(cs[ci++]);
            }
            ++ai;
        };
        (prepare(cases), ...);
    }

    int r;
    if constexpr (n == 0) {  // only a timeout: sleep it out
        if (timeout_ns != 0) detail::check(gort_sleep(timeout_ns > 0 ? timeout_ns : INT64_MAX / 2), "gort_sleep");
        r = -ETIMEDOUT;
    } else {
        r = gort_select(cs.data(), n, timeout_ns);
    }

    if (r >= 0) {
        std::size_t ci = 0, ai = 0, chosen = 0;
        auto fire = [&](auto &c) {
            if constexpr (!detail::is_timeout_case_v<decltype(c)>) {
                if (ci == static_cast<std::size_t>(r)) {
                    chosen = ai;
                    c.fire(cs[ci]);
                }
                ++ci;
            }
            ++ai;
        };
        (fire(cases), ...);
        return chosen;
    }
    if constexpr (n_timeouts == 1) {
        if (r == -EAGAIN || r == -ETIMEDOUT) {
            auto expire = [](auto &c) {
                if constexpr (detail::is_timeout_case_v<decltype(c)>) c.handler();
            };
            (expire(cases), ...);
            return timeout_index;
        }
    }
    detail::throw_errno(-r, "gort_select");
}

}  // namespace gort

#endif  // GORT_HPP
