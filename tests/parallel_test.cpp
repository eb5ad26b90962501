// Tests of parallel.h: parallel_ranges splits [0, n) into the same ranges with or without a
// ThreadPool, every element exactly once, and a pool's workers are started once and reused.
#include "parallel.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

using namespace px;

namespace {

std::set<std::pair<uint32_t, uint32_t>> ranges_of(ThreadPool* pool, unsigned parts, uint32_t n) {
    std::mutex m;
    std::set<std::pair<uint32_t, uint32_t>> seen;
    parallel_ranges(pool, parts, n, [&](uint32_t b, uint32_t e) {
        std::lock_guard<std::mutex> lock(m);
        seen.insert({b, e});
    });
    return seen;
}

} // namespace

TEST_CASE("parallel_ranges: the split depends only on (parts, n), with or without a pool") {
    ThreadPool pool;
    for (unsigned parts : {1u, 2u, 3u, 5u, 8u})
        for (uint32_t n : {1u, 2u, 3u, 7u, 100u, 1025u}) {
            const auto with = ranges_of(&pool, parts, n), without = ranges_of(nullptr, parts, n);
            INFO("parts " << parts << " n " << n);
            REQUIRE(with == without);
            // Contiguous, covering [0, n), as many as min(parts, n).
            uint32_t next = 0;
            for (const auto& [b, e] : with) {
                CHECK(b == next);
                CHECK(e > b);
                next = e;
            }
            CHECK(next == n);
            CHECK(with.size() == std::min<size_t>(parts, n));
        }
}

TEST_CASE("ThreadPool: workers are started once and reused; every element is visited once") {
    ThreadPool pool;
    CHECK(pool.workers() == 0);
    std::vector<std::atomic<int>> hits(5000);
    for (int round = 0; round < 200; ++round)
        parallel_ranges(&pool, 3, uint32_t(hits.size()), [&](uint32_t b, uint32_t e) {
            for (uint32_t i = b; i < e; ++i)
                ++hits[i];
        });
    CHECK(pool.workers() == 2); // the caller takes range 0
    for (const auto& h : hits)
        REQUIRE(h.load() == 200);
    ThreadPool moved = std::move(pool); // the workers move with it
    CHECK(moved.workers() == 2);
    CHECK(ranges_of(&moved, 2, 10) == ranges_of(nullptr, 2, 10));
}

TEST_CASE("ThreadPool: back-to-back runs of different splits, some workers idle, with sleeps between") {
    // Workers poll between runs and sleep after 200 us: runs that follow at once, runs in which a
    // worker has no range (parts 2 after parts 4), and runs after the workers fell asleep must
    // each visit every element exactly once (a worker taking one run's range twice, or none,
    // shows here as a count off by one, or as a hang).
    ThreadPool pool;
    std::vector<std::atomic<int>> hits(64);
    const unsigned splits[] = {4, 2, 3, 4, 1, 4, 2};
    int expected = 0;
    for (int round = 0; round < 6000; ++round) {
        const unsigned parts = splits[round % 7];
        parallel_ranges(&pool, parts, uint32_t(hits.size()), [&](uint32_t b, uint32_t e) {
            for (uint32_t i = b; i < e; ++i)
                ++hits[i];
        });
        ++expected;
        if (round % 1000 == 999) std::this_thread::sleep_for(std::chrono::milliseconds(2)); // past the poll
    }
    for (const auto& h : hits)
        REQUIRE(h.load() == expected);
    CHECK(pool.workers() == 3);
}

TEST_CASE("ThreadPool: with every core busy elsewhere, runs still visit each element once") {
    // Threads that spin keep the pool's workers off the cores for whole time slices: the caller
    // then claims ranges a worker has not started (parallel.cpp), while the workers that do run
    // claim others. Claims from both sides on the same run must still give each range to exactly
    // one thread.
    std::atomic<bool> stop{false};
    std::vector<std::thread> hogs;
    for (unsigned i = 0; i < std::max(2u, std::thread::hardware_concurrency()); ++i)
        hogs.emplace_back([&] {
            while (!stop.load(std::memory_order_relaxed)) {
            }
        });
    ThreadPool pool;
    std::vector<std::atomic<int>> hits(97);
    const std::thread::id caller = std::this_thread::get_id();
    std::atomic<uint64_t> by_caller{0}, by_workers{0};
    const int rounds = 3000;
    for (int round = 0; round < rounds; ++round)
        parallel_ranges(&pool, 4, uint32_t(hits.size()), [&](uint32_t b, uint32_t e) {
            if (b > 0) ++(std::this_thread::get_id() == caller ? by_caller : by_workers);
            for (uint32_t i = b; i < e; ++i)
                ++hits[i];
        });
    stop = true;
    for (std::thread& t : hogs)
        t.join();
    for (const auto& h : hits)
        REQUIRE(h.load() == rounds);
    CHECK(by_caller + by_workers == uint64_t(rounds) * 3);
    MESSAGE("ranges 1..3 run by the caller: " << by_caller.load()
                                              << ", by the workers: " << by_workers.load());
}
