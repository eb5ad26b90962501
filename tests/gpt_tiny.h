// gpt_tiny.h — the tiny GPT of the GPT program tests (tests/gpt_test.cpp, tests/gpt_u8_test.cpp):
// 2 layers, width 32, 2 heads, context 32, a 300-token BPE trained on tests/data/tokenizer_sample.txt,
// seeded Gaussian weights large enough that the logits are far from uniform; and its uint8
// program, calibrated on assets/calibration.txt (tests/gpt_u8_test.cpp, tests/gpt_lens_test.cpp).
#pragma once
#include "gpt.h"
#include "gpt_tiny_weights.h"
#include "gpt_u8.h"
#include "tokenizer_image.h"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace px::test {

inline std::string sample_text() {
    std::ifstream f(std::string(PXOS_SOURCE_DIR) + "/tests/data/tokenizer_sample.txt", std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

inline const Bpe& tiny_bpe() {
    static const Bpe bpe = [] {
        TrainOptions o;
        o.vocab_size = 300;
        auto b = train_bpe(sample_text(), o);
        REQUIRE(b);
        return b.value();
    }();
    return bpe;
}

inline GptConfig tiny_config() {
    GptConfig c;
    c.layers = 2, c.width = 32, c.heads = 2, c.context = 32;
    c.vocab = uint32_t(tiny_bpe().vocab.size());
    c.layer_norm_eps = 1e-5;
    return c;
}

// The calibration text of the shipped models (prose written for this repository).
inline std::string calibration_text() {
    std::ifstream f(std::string(PXOS_SOURCE_DIR) + "/assets/calibration.txt", std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

inline constexpr uint32_t kCalibrationWindows = 4; // 128 tokens of the tiny model's context 32

// The tiny model's calibration (calibrate_gpt on kCalibrationWindows windows); tiny_calibration()
// computes it once.
inline GptCalibration calibrate_tiny() {
    const GptConfig c = tiny_config();
    const std::vector<int32_t> ids = encode(tiny_bpe(), calibration_text());
    auto r = calibrate_gpt(c, tiny_weights(c), tiny_bpe(), ids, kCalibrationWindows);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    return r.value();
}
inline const GptCalibration& tiny_calibration() {
    static const GptCalibration cal = calibrate_tiny();
    return cal;
}

// The tiny model's uint8 program.
inline Image build_tiny_u8(const GptBuildOptions& o = {}) {
    const GptConfig c = tiny_config();
    auto img = build_gpt_u8(c, tiny_weights(c), tiny_bpe(), tiny_calibration(), o);
    REQUIRE_MESSAGE(img, (img ? "" : img.error().message));
    return img.value();
}

} // namespace px::test
