#include "parallel.h"

#include <condition_variable>
#include <mutex>

namespace px {

// Workers sleep on a condition variable between runs (no spinning: on a machine shared with
// other work a spinning thread takes a core someone else needs). A run bumps `generation`;
// worker i (1-based) runs range i of it if i <= active, and the last one to finish wakes the caller.
struct ThreadPool::State {
    std::mutex m;
    std::condition_variable go, done;
    std::vector<std::thread> threads;
    uint64_t generation = 0;
    unsigned parts = 0, active = 0, pending = 0; // the split, and the workers taking part
    uint32_t n = 0;
    RangeFn fn = nullptr;
    void* ctx = nullptr;
    bool stop = false;

    void work(unsigned index) {
        uint64_t seen = 0;
        std::unique_lock<std::mutex> lock(m);
        for (;;) {
            go.wait(lock, [&] { return stop || generation != seen; });
            if (stop) return;
            seen = generation;
            if (index > active) continue;
            const RangeFn f = fn;
            void* const c = ctx;
            const uint32_t b = range_bound(parts, n, index), e = range_bound(parts, n, index + 1);
            lock.unlock();
            f(c, b, e);
            lock.lock();
            if (--pending == 0) done.notify_one();
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
        s_->stop = true;
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
        std::lock_guard<std::mutex> lock(s.m);
        s.parts = parts, s.active = helped; // workers run ranges 1 .. helped
        s.n = n, s.fn = fn, s.ctx = ctx;
        s.pending = helped;
        ++s.generation;
    }
    // The split is always `parts` ranges; workers take 1 .. helped, the caller 0 and the rest.
    if (helped > 0) s.go.notify_all();
    fn(ctx, range_bound(parts, n, 0), range_bound(parts, n, 1));
    for (unsigned t = helped + 1; t < parts; ++t)
        fn(ctx, range_bound(parts, n, t), range_bound(parts, n, t + 1));
    if (helped > 0) {
        std::unique_lock<std::mutex> lock(s.m);
        s.done.wait(lock, [&] { return s.pending == 0; });
    }
}

} // namespace px
