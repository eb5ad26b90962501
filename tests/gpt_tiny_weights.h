// gpt_tiny_weights.h — seeded GPT weights for tests and fuzz targets (no test framework here, so
// the fuzzers can use it too): Gaussian, large enough that the logits are far from uniform, so
// that greedy and sampled tokens depend on every part of the graph.
#pragma once
#include "gpt.h"
#include "pixellm.h" // SplitMix64

#include <utility>
#include <vector>

namespace px::test {

inline GptWeights tiny_weights(const GptConfig& c, uint64_t seed = 11) {
    SplitMix64 rng{seed};
    auto normal = [&](size_t n, double std, double mean = 0) {
        std::vector<float> v(n);
        for (float& x : v)
            x = float(mean + std * rng.normal());
        return v;
    };
    const size_t d = c.width;
    GptWeights w;
    w.wte = normal(size_t(c.vocab) * d, 0.5);
    w.wpe = normal(size_t(c.context) * d, 0.2);
    for (uint32_t i = 0; i < c.layers; ++i) {
        GptLayerWeights l;
        l.ln_1_weight = normal(d, 0.1, 1.0), l.ln_1_bias = normal(d, 0.05);
        l.c_attn_weight = normal(d * 3 * d, 0.3), l.c_attn_bias = normal(3 * d, 0.05);
        l.attn_proj_weight = normal(d * d, 0.2), l.attn_proj_bias = normal(d, 0.05);
        l.ln_2_weight = normal(d, 0.1, 1.0), l.ln_2_bias = normal(d, 0.05);
        l.c_fc_weight = normal(d * 4 * d, 0.2), l.c_fc_bias = normal(4 * d, 0.05);
        l.mlp_proj_weight = normal(4 * d * d, 0.1), l.mlp_proj_bias = normal(d, 0.05);
        w.layers.push_back(std::move(l));
    }
    w.ln_f_weight = normal(d, 0.1, 1.0), w.ln_f_bias = normal(d, 0.05);
    return w;
}

} // namespace px::test
