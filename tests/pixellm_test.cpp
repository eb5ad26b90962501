// Tests of the Pixel-LLM builder, its float reference and the accuracy measurement (issue 3).
#include "pixellm.h"
#include "test_util.h"
#include "vm.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace px;

TEST_CASE("the quantized Pixel-LLM agrees with its float reference (200 seeded inputs)") {
    const PixelLlmWeights w = seeded_weights(kLlmDefaultSeed);
    PixelLlmBuildOptions opt;
    opt.seed = kLlmDefaultSeed;
    for (bool wide : {true, false}) {
        opt.int32_logits = wide;
        auto img = build_pixellm(w, opt);
        REQUIRE(img.ok());
        auto rep = measure_accuracy(*img, w, 200, 1, run_on_cpu);
        REQUIRE(rep.ok());
        MESSAGE((wide ? "int32" : "uint8")
                << " logits: top1 " << rep->quantized.top1_agreement << " top5 "
                << rep->quantized.top5_containment << " rel_l2 " << rep->quantized.rel_l2 << " | raw top1 "
                << rep->raw.top1_agreement << " top5 " << rep->raw.top5_containment << " rel_l2 "
                << rep->raw.rel_l2);
        if (wide) {
            CHECK(rep->quantized.top1_agreement >= 0.95);
            CHECK(rep->quantized.rel_l2 <= 0.03);
        }
    }
}
