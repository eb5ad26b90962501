#include "split_tuner.h"

#include <algorithm>

namespace px {
namespace {

// The median of the ratios in hand (the ring fills from its start after each reset).
double median_ratio(const SplitTuner& t) {
    std::array<double, SplitTuner::kRatios> r = t.ratios;
    const auto mid = r.begin() + t.ratio_count / 2;
    std::nth_element(r.begin(), mid, r.begin() + t.ratio_count);
    return *mid;
}

} // namespace

uint8_t split_tuner_iteration_end(SplitTuner& t, uint32_t pc, double ns) {
    if (t.running == t.best) {
        t.best_timed = true, t.best_pc = pc, t.best_ns = ns;
    } else {
        // Paired only with a best-arm iteration of the same loop just before it.
        if (t.best_timed && t.best_pc == pc && t.best_ns > 0) {
            t.ratios[t.next_ratio] = ns / t.best_ns;
            t.next_ratio = (t.next_ratio + 1) % SplitTuner::kRatios;
            t.ratio_count = std::min(t.ratio_count + 1, SplitTuner::kRatios);
            t.median = t.ratio_count >= SplitTuner::kMinRatios ? median_ratio(t) : 1.0;
        }
        t.best_timed = false;
        if (t.median < SplitTuner::kSwitchBelow) {
            // The iteration just timed ran the new best: the next exploration pairs with it.
            t.best = t.running;
            ++t.switches;
            t.ratio_count = 0, t.next_ratio = 0, t.median = 1.0;
            t.best_timed = true, t.best_pc = pc, t.best_ns = ns;
        }
    }
    // Explore only right after a timed best-arm iteration, so every exploration makes a pair: every
    // other iteration until kRatios ratios are in hand, unless kMinRatios of them already show the
    // other arm clearly slower; then one in kExplorePeriod, or one in kExplorePeriodClear while the
    // other arm is clearly slower.
    const bool clear = t.median > SplitTuner::kClearAbove;
    const uint32_t period = clear                                 ? SplitTuner::kExplorePeriodClear
                            : t.ratio_count < SplitTuner::kRatios ? 1
                                                                  : SplitTuner::kExplorePeriod;
    ++t.since_explore;
    if (t.best_timed && t.since_explore >= period) {
        t.running = uint8_t(1 - t.best);
        t.since_explore = 0;
    } else {
        t.running = t.best;
    }
    return t.running;
}

void split_tuner_interrupted(SplitTuner& t) {
    t.running = t.best;
    t.best_timed = false;
}

} // namespace px
