// pxtrain's time budget (tools/train/pace.h): how many steps --minutes gives, from step times.
#include "../tools/train/pace.h"

#include <doctest/doctest.h>
#include <vector>

namespace {

// Runs StepBudget over made-up step durations (the last one repeats); returns the steps it fixed
// and the time those steps take.
struct Simulated {
    int total;
    double seconds;
};
Simulated simulate(double budget_s, double eval_share, const std::vector<double>& durations) {
    StepBudget b{.seconds = budget_s, .eval_share = eval_share};
    auto duration = [&](int step) {
        return durations[std::min<size_t>(size_t(step - 1), durations.size() - 1)];
    };
    double t = 0;
    int total = 0;
    for (int step = 1; total == 0 || step <= total; ++step) {
        // Validation runs every so many steps, none before the pace is measured: spread evenly
        // over the steps after it.
        t += duration(step) * (step > StepBudget::kDecideAfter ? 1 + eval_share : 1);
        if (total == 0) total = b.after_step(step, t);
    }
    return {total, t};
}

} // namespace

TEST_CASE("train pace: slow first steps do not shorten the budget") {
    // What a run here did: the first five steps 1.5x a later one's time. Paced on steps 1 to 5, a
    // 600 s budget held 893 steps of 0.435 s and ran 6.5 minutes.
    std::vector<double> d(5, 0.65);
    d.push_back(0.435);
    const Simulated r = simulate(600, 0, d);
    CHECK(r.seconds == doctest::Approx(600).epsilon(0.002));
    CHECK(r.total == 15 + int((600 - 5 * 0.65 - 10 * 0.435) / 0.435));
}

TEST_CASE("train pace: the validation's share is counted, and a budget too short still runs") {
    const Simulated r = simulate(300, 0.027, {0.5});
    CHECK(r.seconds == doctest::Approx(300).epsilon(0.005));
    // A budget spent before the pace is known: one step more than those run.
    StepBudget tiny{.seconds = 1};
    int total = 0;
    for (int step = 1; step <= StepBudget::kDecideAfter; ++step)
        total = tiny.after_step(step, 0.5 * step);
    CHECK(total == StepBudget::kDecideAfter + 1);
    CHECK(tiny.per_step == doctest::Approx(0.5));
}
