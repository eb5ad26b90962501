// SplitTuner (engine/vm/split_tuner.h): made-up iteration times in, the arm it runs out.
#include "split_tuner.h"

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <random>

using namespace px;

namespace {

// Runs `n` iterations of the loop at `pc`; the time of each comes from cost(arm, i), i counting
// every iteration this tuner has been given. Returns how many ran each arm.
struct Driver {
    SplitTuner t;
    uint64_t i = 0;
    std::array<uint64_t, 2> ran{};
    void iterations(uint64_t n, const std::function<double(uint8_t, uint64_t)>& cost, uint32_t pc = 7) {
        for (uint64_t k = 0; k < n; ++k, ++i) {
            ++ran[t.running];
            split_tuner_iteration_end(t, pc, cost(t.running, i));
        }
    }
};

// A decode-like iteration: 150 us growing by 0.3 us a position, the eager arm `eager_ratio` of the
// few one, and noise of +-2% (seeded).
std::function<double(uint8_t, uint64_t)> decode_cost(double eager_ratio, uint32_t seed) {
    auto rng = std::make_shared<std::mt19937>(seed);
    return [=](uint8_t arm, uint64_t i) {
        const double base = 150e3 + 300.0 * double(i % 200);
        const double noise = 1.0 + (double((*rng)() % 4001) - 2000.0) / 100000.0;
        return base * (arm == SplitTuner::kEager ? eager_ratio : 1.0) * noise;
    };
}

} // namespace

TEST_CASE("SplitTuner: starts on the settings' threshold and alternates until it has its ratios") {
    Driver d;
    CHECK(d.t.running == SplitTuner::kFew);
    d.iterations(2 * SplitTuner::kRatios, decode_cost(1.0, 1));
    CHECK(d.ran[SplitTuner::kEager] == SplitTuner::kRatios);
    CHECK(d.t.ratio_count == SplitTuner::kRatios);
    CHECK(d.t.best == SplitTuner::kFew);
}

TEST_CASE("SplitTuner: a clearly slower other arm ends the alternation after kMinRatios ratios") {
    // Splitting small products on a busy host: the eager arm 30% slower. A short generation pays for
    // kMinRatios explorations, not kRatios.
    Driver d;
    d.iterations(2 * SplitTuner::kRatios + 20, decode_cost(1.3, 2));
    CHECK(d.t.best == SplitTuner::kFew);
    CHECK(d.ran[SplitTuner::kEager] == SplitTuner::kMinRatios);
    CHECK(d.t.ratio_count == SplitTuner::kMinRatios);
    // Then one iteration in kExplorePeriodClear.
    d.ran = {};
    d.iterations(SplitTuner::kExplorePeriodClear * 10, decode_cost(1.3, 3));
    CHECK(d.ran[SplitTuner::kEager] == 10);
    CHECK(d.t.switches == 0);
}

TEST_CASE("SplitTuner: equal arms never switch, and the other arm runs one iteration in kExplorePeriod") {
    for (uint32_t seed = 1; seed <= 20; ++seed) {
        CAPTURE(seed);
        Driver d;
        d.iterations(2 * SplitTuner::kRatios, decode_cost(1.0, seed));
        d.ran = {};
        d.iterations(1600, decode_cost(1.0, seed + 100));
        CHECK(d.t.switches == 0);
        CHECK(d.t.best == SplitTuner::kFew);
        CHECK(d.ran[SplitTuner::kEager] == 1600 / SplitTuner::kExplorePeriod);
    }
}

TEST_CASE("SplitTuner: a faster eager arm is found within its first ratios, and kept") {
    for (uint32_t seed = 1; seed <= 20; ++seed) {
        CAPTURE(seed);
        Driver d;
        d.iterations(2 * SplitTuner::kMinRatios, decode_cost(0.92, seed));
        CHECK(d.t.best == SplitTuner::kEager);
        CHECK(d.t.switches == 1);
        d.ran = {};
        d.iterations(1600, decode_cost(0.92, seed + 100));
        CHECK(d.t.switches == 1);
        // Right after the switch the arms alternate again for kRatios pairs, then the few one, clearly
        // slower, runs one iteration in kExplorePeriodClear.
        CHECK(d.ran[SplitTuner::kFew] <= SplitTuner::kRatios + 1600 / SplitTuner::kExplorePeriodClear + 1);
    }
}

TEST_CASE("SplitTuner: when the host changes, so does the arm") {
    Driver d;
    d.iterations(400, decode_cost(0.92, 3)); // quiet: eager wins
    REQUIRE(d.t.best == SplitTuner::kEager);
    // Busy: eager now 8% slower. The few arm, clearly slower until now, runs one iteration in
    // kExplorePeriodClear; its median ratio turns after kRatios / 2 + 1 new ones.
    d.iterations(SplitTuner::kExplorePeriodClear * (SplitTuner::kRatios / 2 + 2), decode_cost(1.0 / 0.92, 4));
    CHECK(d.t.best == SplitTuner::kFew);
    CHECK(d.t.switches == 2);
}

TEST_CASE("SplitTuner: a few slow iterations from the host move no decision") {
    // Equal arms; every fifth iteration (whichever arm it ran) takes three times as long.
    Driver d;
    d.iterations(2000, [](uint8_t, uint64_t i) { return i % 5 == 4 ? 450e3 : 150e3; });
    CHECK(d.t.switches == 0);
    CHECK(d.t.best == SplitTuner::kFew);
}

TEST_CASE("SplitTuner: iterations of two different loops are never paired") {
    // Loop 10 takes 100 us, loop 20 takes 1 ms, on either arm. Pairing across loops would give ratios
    // of 0.1 and 10; an arm is compared only with the same loop's iteration just before it.
    Driver d;
    for (int round = 0; round < 400; ++round) {
        d.iterations(
            1, [](uint8_t, uint64_t) { return 100e3; }, 10);
        d.iterations(
            1, [](uint8_t, uint64_t) { return 1000e3; }, 20);
    }
    CHECK(d.t.switches == 0);
    CHECK(d.t.ratio_count == 0);
    // Within one loop the pairs form again.
    d.iterations(
        2 * SplitTuner::kRatios + 2, [](uint8_t, uint64_t) { return 100e3; }, 10);
    CHECK(d.t.ratio_count == SplitTuner::kRatios);
}

TEST_CASE("SplitTuner: after an interruption the next iteration runs the best arm and pairs with nothing") {
    Driver d;
    d.iterations(1, decode_cost(1.0, 5));
    REQUIRE(d.t.running == SplitTuner::kEager); // alternating: the next would explore
    split_tuner_interrupted(d.t);
    CHECK(d.t.running == SplitTuner::kFew);
    CHECK_FALSE(d.t.best_timed);
    // The iteration after the interruption is timed from a fresh start: it runs the best arm, and the
    // one after it explores, paired with it.
    d.iterations(1, decode_cost(1.0, 6));
    CHECK(d.t.running == SplitTuner::kEager);
    CHECK(d.t.ratio_count == 0);
    d.iterations(1, decode_cost(1.0, 7));
    CHECK(d.t.ratio_count == 1);
}
