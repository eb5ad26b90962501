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

// A run publishes its split in `job`, one cache line: the generation (the high half of `claim`),
// the split, and the count of ranges not yet finished. Ranges 1 .. parts-1 are claimed one at a
// time from `claim`, by the workers and by the caller once its range 0 is done: a worker that is
// not running (the other core busy with another process) leaves its range to the caller, who
// would otherwise wait a scheduler time slice for it on every step (ranges are fixed by
// (parts, n), so who computes one never changes the bytes).
//
// No lock on the way: a line moving between the two cores of this VM takes about 280 ns (a
// ping-pong between two threads, measured), and the hand-off of a decode product was a chain of
// such moves: the generation, the mutex guarding the split, the split, the claim, the count, the
// mutex again to signal the caller (1.7 us between the caller starting its range and the worker
// starting its own, in a 1 x 192 @ 192 x 768 product, measured). Now a worker that sees a new
// generation has the split in the same line, and claims with one CAS there.
//
// Why the split needs no lock: a worker reads the generation (acquire), then the split, then
// claims with a CAS that succeeds only if the generation is unchanged and a range is left. The
// caller publishes the next split only when every range of this run has finished, so while an
// unclaimed range remains the split is the one the worker read; a CAS that fails sends it back to
// the claim word.
//
// Sleeping: workers poll (kPoll), then sleep on `go`; the caller polls, then sleeps on `done`.
// Each side announces its sleep in an atomic before checking its condition under the mutex, and the
// other checks that atomic after changing the condition (both sequentially consistent), so one of
// them always sees the other: either the sleeper sees the change and does not sleep, or the other
// side sees the sleeper and wakes it under the mutex.
struct ThreadPool::State {
    struct alignas(64) Job {
        // generation << 32 | parts << 16 | the next unclaimed range: the range count lives in the
        // word the claims compare, so a claim never tests its index against another run's count.
        std::atomic<uint64_t> claim{0};
        std::atomic<unsigned> unfinished{0}; // ranges 1 .. parts-1 not yet run to their end
        std::atomic<uint32_t> n{0};
        std::atomic<RangeFn> fn{nullptr};
        std::atomic<void*> ctx{nullptr};
    } job;
    alignas(64) std::atomic<bool> stop{false};
    std::atomic<unsigned> sleeping_workers{0};
    std::atomic<bool> caller_sleeping{false};
    std::mutex m;
    std::condition_variable go, done;
    std::vector<std::thread> threads;
    uint32_t generation = 0; // the caller's own count (the claim word carries it to the workers)

    static uint32_t generation_of(uint64_t claim) { return uint32_t(claim >> 32); }
    static uint64_t claim_word(uint32_t gen, unsigned parts, unsigned next) {
        return uint64_t(gen) << 32 | uint64_t(parts) << 16 | next;
    }

    // Polls `ready` for up to kPoll; true when it became true.
    template <class F> static bool poll(F&& ready) {
        const auto until = std::chrono::steady_clock::now() + kPoll;
        for (int i = 0;; ++i) {
            if (ready()) return true;
            PX_PAUSE();
            if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) return ready();
        }
    }

    // Claims and runs ranges of generation `gen` (split count, f, c) until none is left.
    void run_claims(uint32_t gen, uint32_t count, RangeFn f, void* c) {
        for (;;) {
            uint64_t cur = job.claim.load(std::memory_order_acquire);
            unsigned index, prt;
            do {
                index = unsigned(cur & 0xFFFFu), prt = unsigned(cur >> 16 & 0xFFFFu);
                if (generation_of(cur) != gen || index >= prt) return;
            } while (!job.claim.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel));
            f(c, range_bound(prt, count, index), range_bound(prt, count, index + 1));
            if (job.unfinished.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
                caller_sleeping.load(std::memory_order_seq_cst)) {
                std::lock_guard<std::mutex> lock(m);
                done.notify_one();
            }
        }
    }

    void work() {
        uint32_t seen = 0;
        for (;;) {
            // Sequentially consistent: the wait's check of this must see a run published before
            // the caller read sleeping_workers as 0 (the handshake above).
            auto news = [&] {
                return stop.load(std::memory_order_seq_cst) ||
                       generation_of(job.claim.load(std::memory_order_seq_cst)) != seen;
            };
            if (!poll(news)) {
                sleeping_workers.fetch_add(1, std::memory_order_seq_cst);
                {
                    std::unique_lock<std::mutex> lock(m);
                    go.wait(lock, news);
                }
                sleeping_workers.fetch_sub(1, std::memory_order_relaxed);
            }
            if (stop.load(std::memory_order_acquire)) return;
            // The newest run's split (a worker that slept through runs takes the newest one);
            // run_claims' CAS proves it current (see above).
            seen = generation_of(job.claim.load(std::memory_order_acquire));
            const uint32_t count = job.n.load(std::memory_order_relaxed);
            const RangeFn f = job.fn.load(std::memory_order_relaxed);
            void* const c = job.ctx.load(std::memory_order_relaxed);
            run_claims(seen, count, f, c);
        }
    }
};

ThreadPool::ThreadPool() : s_(std::make_unique<State>()) {}
ThreadPool::ThreadPool(ThreadPool&&) noexcept = default;
ThreadPool& ThreadPool::operator=(ThreadPool&&) noexcept = default;

ThreadPool::~ThreadPool() {
    if (!s_) return;
    {
        std::lock_guard<std::mutex> lock(s_->m); // a worker between its check and its wait
        s_->stop.store(true, std::memory_order_seq_cst);
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
    parts = std::max(1u, std::min<unsigned>({parts, n, kMaxParts}));
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
    // Publish: the split, then the claim word with the new generation (range 0 is the caller's).
    const uint32_t gen = ++s.generation;
    s.job.n.store(n, std::memory_order_relaxed);
    s.job.fn.store(fn, std::memory_order_relaxed);
    s.job.ctx.store(ctx, std::memory_order_relaxed);
    s.job.unfinished.store(parts - 1, std::memory_order_relaxed);
    s.job.claim.store(State::claim_word(gen, parts, 1), std::memory_order_seq_cst);
    if (s.sleeping_workers.load(std::memory_order_seq_cst) > 0) {
        { std::lock_guard<std::mutex> lock(s.m); }
        s.go.notify_all();
    }
    fn(ctx, range_bound(parts, n, 0), range_bound(parts, n, 1));
    s.run_claims(gen, n, fn, ctx);
    auto finished = [&] { return s.job.unfinished.load(std::memory_order_acquire) == 0; };
    if (!State::poll(finished)) {
        s.caller_sleeping.store(true, std::memory_order_seq_cst);
        {
            std::unique_lock<std::mutex> lock(s.m);
            s.done.wait(lock, [&] { return s.job.unfinished.load(std::memory_order_seq_cst) == 0; });
        }
        s.caller_sleeping.store(false, std::memory_order_relaxed);
    }
}

} // namespace px
