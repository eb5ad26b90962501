#include "split_tuner.h"

#include <algorithm>

namespace px {
namespace {

double median_ratio(const SplitTuner& t) {
    std::array<double, SplitTuner::kRatios> r = t.ratios;
    std::nth_element(r.begin(), r.begin() + SplitTuner::kRatios / 2, r.end());
    return r[SplitTuner::kRatios / 2];
}

} // namespace

uint8_t split_tuner_iteration_end(SplitTuner& t, uint32_t pc, double ns) {
    ++t.iterations[t.running];
    if (t.running == t.best) {
        t.best_timed = true, t.best_pc = pc, t.best_ns = ns;
    } else {
        // Paired only with a best-arm iteration of the same loop just before it.
        if (t.best_timed && t.best_pc == pc && t.best_ns > 0) {
            t.ratios[t.next_ratio] = ns / t.best_ns;
            t.next_ratio = (t.next_ratio + 1) % SplitTuner::kRatios;
            t.ratio_count = std::min(t.ratio_count + 1, SplitTuner::kRatios);
        }
        t.best_timed = false;
        if (t.ratio_count == SplitTuner::kRatios && median_ratio(t) < SplitTuner::kSwitchBelow) {
            // The iteration just timed ran the new best: the next exploration pairs with it.
            t.best = t.running;
            ++t.switches;
            t.ratio_count = 0, t.next_ratio = 0;
            t.best_timed = true, t.best_pc = pc, t.best_ns = ns;
        }
    }
    // Explore only right after a timed best-arm iteration, so every exploration makes a pair: every
    // other iteration until the ratios are in hand, then one in kExplorePeriod, or one in
    // kExplorePeriodClear while the other arm is clearly slower.
    const uint32_t period = t.ratio_count < SplitTuner::kRatios         ? 1
                            : median_ratio(t) > SplitTuner::kClearAbove ? SplitTuner::kExplorePeriodClear
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
