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
// The window keeps the workers awake through a run of steps and gives the core back within
// 200 us of the last one: nothing polls while the machine is idle. 50 us was too short for a
// decode pass, whose one-thread stretches (the sampling, the embedding and the first layer's
// one-row products) pass it: the worker slept 170 times in 250 float32 GPT tokens at 50 us, 5 times
// at 200 us, and a product that finds its worker asleep takes about 10 us longer (measured).
constexpr auto kPoll = std::chrono::microseconds(200);

// A run publishes its split, then bumps `generation`. Ranges 1 .. parts-1 are claimed one at a
// time from `claim`, by the workers and by the caller once its range 0 is done: a worker that is
// not running (the other core busy with another process) leaves its range to the caller, who
// would otherwise wait a scheduler time slice for it on every step (ranges are fixed by
// (parts, n), so who computes one never changes the bytes). `claim` holds the generation in its
// high half, so a claim can only succeed for the run whose split the claimer read; the caller
// publishes no new run until `unfinished` (claimed or not) is 0, so that split stays valid while
// any claim of it runs. Workers poll first (kPoll), then sleep on `go`; the caller sleeps on
// `done` when the last ranges run elsewhere.
struct ThreadPool::State {
    std::mutex m;
    std::condition_variable go, done;
    std::vector<std::thread> threads;
    std::atomic<uint64_t> generation{0};
    std::atomic<uint64_t> claim{0};      // generation << 32 | the next unclaimed range
    std::atomic<unsigned> unfinished{0}; // ranges 1 .. parts-1 not yet run to their end
    std::atomic<bool> stop{false};
    unsigned parts = 0;
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

    // Claims and runs ranges of generation `gen` (split prt, count, f, c) until none is left;
    // true when this call finished the run's last range.
    bool run_claims(uint64_t gen, unsigned prt, uint32_t count, RangeFn f, void* c) {
        bool last = false;
        for (;;) {
            uint64_t cur = claim.load(std::memory_order_acquire);
            unsigned index;
            do {
                index = unsigned(cur & 0xFFFFFFFFu);
                if ((cur >> 32) != (gen & 0xFFFFFFFFu) || index >= prt) return last;
            } while (!claim.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel));
            f(c, range_bound(prt, count, index), range_bound(prt, count, index + 1));
            last = unfinished.fetch_sub(1, std::memory_order_acq_rel) == 1;
        }
    }

    void work() {
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
            unsigned prt;
            uint32_t count;
            RangeFn f;
            void* c;
            {
                // The generation and its split together: both were written under the lock, so
                // a worker that slept through runs takes the newest one.
                std::lock_guard<std::mutex> lock(m);
                seen = generation.load(std::memory_order_relaxed);
                prt = parts, count = n, f = fn, c = ctx;
            }
            if (run_claims(seen, prt, count, f, c)) {
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
            s.threads.emplace_back([&s] { s.work(); });
        } catch (const std::system_error&) {
            break; // fewer threads: the caller claims the ranges they would have run
        }
    }
    if (parts == 1 || s.threads.empty()) {
        for (unsigned t = 0; t < parts; ++t)
            fn(ctx, range_bound(parts, n, t), range_bound(parts, n, t + 1));
        return;
    }
    uint64_t gen;
    {
        std::lock_guard<std::mutex> lock(s.m);
        s.parts = parts, s.n = n, s.fn = fn, s.ctx = ctx;
        s.unfinished.store(parts - 1, std::memory_order_relaxed);
        gen = s.generation.load(std::memory_order_relaxed) + 1;
        s.claim.store((gen & 0xFFFFFFFFu) << 32 | 1u, std::memory_order_release);
        s.generation.store(gen, std::memory_order_release);
    }
    s.go.notify_all();
    fn(ctx, range_bound(parts, n, 0), range_bound(parts, n, 1));
    s.run_claims(gen, parts, n, fn, ctx);
    auto finished = [&] { return s.unfinished.load(std::memory_order_acquire) == 0; };
    if (!State::poll(finished)) {
        std::unique_lock<std::mutex> lock(s.m);
        s.done.wait(lock, finished);
    }
}

} // namespace px
