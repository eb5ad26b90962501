// split_tuner.h — which of two work-per-thread thresholds a looping program runs faster under.
//
// Whether a small product is worth handing half of to a second thread depends on the moment more
// than on the shape. On this project's 2-vCPU VM, a float32 GPT decode with every product above
// 8 K multiply-adds a thread split ran 8% faster than with the 24 K threshold while the host was
// quiet, and 8 to 21% slower while it was busy (one process alternating the two, measured within
// the same hour). So the optimized CPU executor measures instead of guessing. In a program that
// loops, it times each iteration (from one taken LOOP to the next), runs most iterations under the
// arm it holds best and every few under the other, and moves to the other when the median of its
// last few ratios is below kSwitchBelow. A ratio is the other arm's iteration over the best arm's
// iteration just before it, when both ended at the same LOOP: one decode position apart, so a
// growing attention hardly biases it.
//
// The thresholds only decide how many threads compute the fixed ranges of parallel.h, so the bytes
// never depend on the choice. A plain struct and pure functions: time comes in as numbers, so
// tests/split_tuner_test.cpp drives it with made-up iterations.
#pragma once
#include <array>
#include <cstdint>

namespace px {

struct SplitTuner {
    static constexpr uint8_t kFew = 0;   // the settings' threshold (FastSettings::min_macs_per_thread)
    static constexpr uint8_t kEager = 1; // the smaller one (FastSettings::min_macs_per_thread_eager)
    // Ratios the decision takes the median of (the last kRatios; a decision needs kMinRatios): one
    // iteration disturbed by the host (an interrupt, a time slice lost) moves no decision.
    static constexpr uint32_t kRatios = 9;
    static constexpr uint32_t kMinRatios = 5;
    // After the first kRatios ratios (the arms alternate until then, or until kMinRatios of them
    // show the other arm clearly slower), one iteration in kExplorePeriod runs the other arm, and
    // one in kExplorePeriodClear while its median ratio is above kClearAbove. An iteration under
    // the slower arm costs more than its ratio says (the iterations around it pay too): with the
    // eager arm 21% slower on a busy host, exploring one iteration in 16 made a decode 2.8% slower,
    // not 1.3% (measured).
    static constexpr uint32_t kExplorePeriod = 16;
    static constexpr uint32_t kExplorePeriodClear = 64;
    static constexpr double kClearAbove = 1.05;
    // The other arm becomes the best when its median ratio is below this: 3% faster, so the
    // noise of equal arms seldom flips it to and fro.
    static constexpr double kSwitchBelow = 0.97;

    uint8_t best = kFew;    // the arm held best
    uint8_t running = kFew; // the arm of the iteration under way
    uint32_t since_explore = 0;
    // The last iteration that ran the best arm and is not paired yet: its LOOP's pc and its time.
    bool best_timed = false;
    uint32_t best_pc = 0;
    double best_ns = 0;
    std::array<double, kRatios> ratios{}; // the other arm's last ratios, a ring
    uint32_t ratio_count = 0, next_ratio = 0;
    // Their median once kMinRatios are in hand, else 1 (kept: an iteration of a tight loop can
    // take less than a microsecond, and the tuner is asked at every one).
    double median = 1.0;
    // Changes of the best arm (FastStats::split_switches counts them, and the iterations under each
    // arm, as the executor hands them in).
    uint64_t switches = 0;
};

// The iteration under way ended at the taken LOOP at `pc` after `ns` nanoseconds: records it and
// returns the arm the next iteration runs under (also left in t.running).
uint8_t split_tuner_iteration_end(SplitTuner& t, uint32_t pc, double ns);

// The iteration under way will not be timed (the run stopped, or a plan did not continue it): the
// next one runs under the best arm and pairs with nothing before it.
void split_tuner_interrupted(SplitTuner& t);

} // namespace px
