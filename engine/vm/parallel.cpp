#include "parallel.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PX_PAUSE() _mm_pause()
#else
#define PX_PAUSE() ((void)0)
#endif

namespace px {

// How long a worker, once its range is done, and the caller, once its own is, poll before they
// sleep on a condition variable. Decode steps come every 5 to 20 us, and waking a sleeping thread
// on this 2-core VM cost about what a one-row product does (handing decode's products to a
// second thread that slept made generation slower, 0.72 against 0.57 ms a token, measured).
// A short window keeps the workers awake through a run of steps and gives the core back within
// 50 us of the last one: nothing polls while the machine is idle.
constexpr auto kPoll = std::chrono::microseconds(50);

// A run publishes its split, then bumps `generation`; worker i (1-based) runs range i of it if
// i <= active, and the last one to finish wakes the caller. Workers and the caller poll first
// (kPoll), then sleep on `go` / `done`; the atomics make the poll safe, the mutex the sleep.
struct ThreadPool::State {
    std::mutex m;
    std::condition_variable go, done;
    std::vector<std::thread> threads;
    std::atomic<uint64_t> generation{0};
    std::atomic<unsigned> pending{0};
    std::atomic<bool> stop{false};
    unsigned parts = 0, active = 0; // the split, and the workers taking part
    uint32_t n = 0;
    RangeFn fn = nullptr;
    void* ctx = nullptr;

    // Polls `ready` for up to kPoll; true when it became true.
    template <class F> static bool poll(F&& ready) {
        const auto until = std::chrono::steady_clock::now() + kPoll;
        for (int i = 0;; ++i) {
            if (ready()) return true;
            PX_PAUSE();
            if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) return ready();
        }
    }

    void work(unsigned index) {
        uint64_t seen = 0;
        for (;;) {
            auto news = [&] {
                return stop.load(std::memory_order_acquire) ||
                       generation.load(std::memory_order_acquire) != seen;
            };
            if (!poll(news)) {
                std::unique_lock<std::mutex> lock(m);
                go.wait(lock, news);
            }
            if (stop.load(std::memory_order_acquire)) return;
            unsigned act, prt;
            uint32_t count;
            RangeFn f;
            void* c;
            {
                // The generation and its split together: both were written under the lock, so
                // a worker that slept through runs takes the newest one, once.
                std::lock_guard<std::mutex> lock(m);
                seen = generation.load(std::memory_order_relaxed);
                act = active, prt = parts, count = n, f = fn, c = ctx;
            }
            if (index > act) continue;
            f(c, range_bound(prt, count, index), range_bound(prt, count, index + 1));
            if (pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                std::lock_guard<std::mutex> lock(m); // the caller may be asleep on `done`
                done.notify_one();
            }
        }
    }
};

ThreadPool::ThreadPool() : s_(std::make_unique<State>()) {}
ThreadPool::ThreadPool(ThreadPool&&) noexcept = default;
ThreadPool& ThreadPool::operator=(ThreadPool&&) noexcept = default;

ThreadPool::~ThreadPool() {
    if (!s_) return;
    {
        std::lock_guard<std::mutex> lock(s_->m);
        s_->stop.store(true, std::memory_order_release);
    }
    s_->go.notify_all();
    for (std::thread& t : s_->threads)
        t.join();
}

unsigned ThreadPool::workers() const {
    return s_ ? unsigned(s_->threads.size()) : 0;
}

void ThreadPool::run(unsigned parts, uint32_t n, RangeFn fn, void* ctx) {
    if (!s_) s_ = std::make_unique<State>();
    State& s = *s_;
    parts = std::max(1u, std::min<unsigned>(parts, n));
    // Start the workers this run needs (once: they stay for the pool's lifetime).
    while (s.threads.size() + 1 < parts) {
        try {
            const unsigned index = unsigned(s.threads.size()) + 1;
            s.threads.emplace_back([&s, index] { s.work(index); });
        } catch (const std::system_error&) {
            break; // fewer threads: the caller runs the ranges that have none
        }
    }
    const unsigned helped = std::min<unsigned>(parts - 1, unsigned(s.threads.size()));
    if (helped > 0) {
        {
            std::lock_guard<std::mutex> lock(s.m);
            s.parts = parts, s.active = helped; // workers run ranges 1 .. helped
            s.n = n, s.fn = fn, s.ctx = ctx;
            s.pending.store(helped, std::memory_order_relaxed);
            s.generation.fetch_add(1, std::memory_order_release);
        }
        s.go.notify_all();
    }
    // The split is always `parts` ranges; workers take 1 .. helped, the caller 0 and the rest.
    fn(ctx, range_bound(parts, n, 0), range_bound(parts, n, 1));
    for (unsigned t = helped + 1; t < parts; ++t)
        fn(ctx, range_bound(parts, n, t), range_bound(parts, n, t + 1));
    if (helped > 0) {
        auto finished = [&] { return s.pending.load(std::memory_order_acquire) == 0; };
        if (!State::poll(finished)) {
            std::unique_lock<std::mutex> lock(s.m);
            s.done.wait(lock, finished);
        }
    }
}

} // namespace px
