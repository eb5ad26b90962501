// parallel.h — the one way the optimized CPU kernels split work over threads.
//
// parallel_ranges(pool, parts, n, f) runs f(begin, end) over `parts` contiguous ranges that split
// [0, n), on up to `parts` threads (the caller's included). Ranges are fixed by (parts, n) alone,
// so which thread computes what never changes the bytes.
//
// The threads come from a ThreadPool the caller owns (the fast executor keeps one for its
// lifetime): starting threads on every call cost 25 us at best and 0.2 ms on average per call
// on this shared 2-core machine (measured), against a product of 1 ms. Without a pool (nullptr)
// each call starts its own threads. If a thread cannot be started its range runs on the calling
// thread: slower, same result.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>

namespace px {

// Persistent worker threads, started on first use and joined by the destructor; between runs
// they poll for up to 200 us, then sleep (parallel.cpp says why). The caller runs range 0, then
// claims any range no worker has started yet, so a run never waits on a worker that is not
// running (another process holding its core). Move-only. One
// run() at a time (it is not reentrant, and two threads must not share a pool).
class ThreadPool {
  public:
    using RangeFn = void (*)(void* ctx, uint32_t begin, uint32_t end);
    ThreadPool();
    ~ThreadPool();
    ThreadPool(ThreadPool&&) noexcept;
    ThreadPool& operator=(ThreadPool&&) noexcept;
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    // fn(ctx, b, e) on every range of parallel_ranges' split; returns when all have run.
    void run(unsigned parts, uint32_t n, RangeFn fn, void* ctx);
    // Worker threads started so far (the caller is not counted).
    unsigned workers() const;

    struct State;

  private:
    std::unique_ptr<State> s_;
};

// Copies of an operand (a gather out of the pixels, a padded copy for a kernel) of at least this
// many elements run on the product's threads; smaller ones (a decode step's few rows) stay on the
// caller, where a hand-off would cost more than the copy.
constexpr uint64_t kCopyOnThreadsMin = uint64_t(1) << 16;

// The most ranges a run splits into (a ThreadPool counts them in 16 bits; parallel.cpp).
constexpr unsigned kMaxParts = 0xFFFF;

// The first element of range t of `parts` over [0, n).
inline uint32_t range_bound(unsigned parts, uint32_t n, unsigned t) {
    return uint32_t(uint64_t(n) * t / parts);
}

template <class F> void parallel_ranges(ThreadPool* pool, unsigned parts, uint32_t n, F&& f) {
    parts = std::max(1u, std::min<unsigned>({parts, n, kMaxParts}));
    if (parts == 1) {
        f(0u, n);
        return;
    }
    if (pool) {
        using Fn = std::remove_reference_t<F>;
        pool->run(
            parts, n, [](void* ctx, uint32_t b, uint32_t e) { (*static_cast<Fn*>(ctx))(b, e); },
            const_cast<void*>(static_cast<const void*>(&f)));
        return;
    }
    std::vector<std::thread> threads;
    threads.reserve(parts - 1);
    for (unsigned t = 1; t < parts; ++t) {
        try {
            threads.emplace_back(
                [&f, b = range_bound(parts, n, t), e = range_bound(parts, n, t + 1)] { f(b, e); });
        } catch (const std::system_error&) {
            f(range_bound(parts, n, t), range_bound(parts, n, t + 1));
        }
    }
    f(range_bound(parts, n, 0), range_bound(parts, n, 1));
    for (std::thread& th : threads)
        th.join();
}

template <class F> void parallel_ranges(unsigned parts, uint32_t n, F&& f) {
    parallel_ranges(nullptr, parts, n, std::forward<F>(f));
}

} // namespace px
