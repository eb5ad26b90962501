// parallel.h — the one way the optimized CPU kernels split work over threads.
//
// parallel_ranges(parts, n, f) runs f(begin, end) over `parts` contiguous ranges that split [0, n),
// on up to `parts` threads (the caller's included). Ranges are fixed by (parts, n) alone, so which
// thread computes what never changes the bytes. If a thread cannot be started its range runs on
// the calling thread: slower, same result.
#pragma once
#include <algorithm>
#include <cstdint>
#include <system_error>
#include <thread>
#include <vector>

namespace px {

template <class F> void parallel_ranges(unsigned parts, uint32_t n, F&& f) {
    parts = std::max(1u, std::min<unsigned>(parts, n));
    if (parts == 1) {
        f(0u, n);
        return;
    }
    std::vector<std::thread> pool;
    pool.reserve(parts - 1);
    auto bounds = [&](unsigned t) { return uint32_t(uint64_t(n) * t / parts); };
    for (unsigned t = 1; t < parts; ++t) {
        try {
            pool.emplace_back([&f, b = bounds(t), e = bounds(t + 1)] { f(b, e); });
        } catch (const std::system_error&) {
            f(bounds(t), bounds(t + 1));
        }
    }
    f(bounds(0), bounds(1));
    for (std::thread& th : pool)
        th.join();
}

} // namespace px
