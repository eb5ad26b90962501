// pace.h — how many optimizer steps a time budget holds (pxtrain --minutes). Plain arithmetic,
// apart from libtorch, so tests/train_pace_test.cpp checks it with made-up step times.
//
// The budget is fixed after step kDecideAfter: the steps run so far, plus what the time left holds
// at the pace of steps kPaceFrom + 1 .. kDecideAfter, each step's share of the periodic validation
// added. Not from the first steps: they allocate every tensor and page in memory, and ran 1.5x
// slower than later ones here (a 10-minute budget paced on steps 1 to 5 ran 6.5 minutes).
#pragma once
#include <algorithm>

struct StepBudget {
    static constexpr int kPaceFrom = 5, kDecideAfter = 15;
    double seconds = 0;    // the budget
    double eval_share = 0; // validation time per step, as a fraction of a step's
    double pace_start = 0; // elapsed seconds at the end of step kPaceFrom
    double per_step = 0;   // the pace measured (seconds a step), once decided
    int total = 0;         // the steps the budget holds; 0 until decided

    // Tell it each step's end (1-based step, seconds since the start); returns `total`.
    int after_step(int step, double elapsed) {
        if (step == kPaceFrom) pace_start = elapsed;
        if (step == kDecideAfter && total == 0) {
            per_step = (elapsed - pace_start) / (kDecideAfter - kPaceFrom);
            const double left = seconds - elapsed;
            total = kDecideAfter + std::max(1, int(left / (per_step * (1 + eval_share))));
        }
        return total;
    }
};
