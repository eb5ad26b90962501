// Tests of the Pixel-LLM builder, its float reference and the accuracy measurement (issue 3).
#include "npz.h"
#include "pixellm.h"
#include "png_io.h"
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

TEST_CASE("the seeded generator is splitmix64 + Box-Muller, as documented") {
    // Expected values from an independent Python 3 implementation of the documented generator.
    SplitMix64 g{42};
    CHECK(g.next() == 0xbdd732262feb6e95ull);
    CHECK(g.next() == 0x28efe333b266f103ull);
    const PixelLlmWeights w = seeded_weights(42);
    CHECK(w.w_hidden[0] == doctest::Approx(0.051839968803941296).epsilon(1e-12));
    CHECK(w.w_hidden[1] == doctest::Approx(-0.1114857767034696).epsilon(1e-12));
    const std::vector<double> x = seeded_input(1, 3);
    REQUIRE(x.size() == kLlmIn);
    CHECK(x[0] == doctest::Approx(0.6364495873069345).epsilon(1e-12));
    CHECK(x[1] == doctest::Approx(-0.08044484043913774).epsilon(1e-12));
}

TEST_CASE("the float reference is x W_h + b_h, ReLU, then W_o + b_o") {
    PixelLlmWeights w;
    w.w_hidden.assign(kLlmIn * kLlmHidden, 0.0);
    w.b_hidden.assign(kLlmHidden, 0.0);
    w.w_out.assign(kLlmHidden * kLlmOut, 0.0);
    w.b_out.assign(kLlmOut, 0.5);
    w.w_hidden[0 * kLlmHidden + 0] = 2.0;  // h0 = 2 x0
    w.w_hidden[1 * kLlmHidden + 1] = -1.0; // h1 = -x1
    w.b_hidden[1] = 0.25;
    w.w_out[0 * kLlmOut + 7] = 3.0; // y7 = 3 h0 + 0.5
    w.w_out[1 * kLlmOut + 9] = 4.0; // y9 = 4 h1 + 0.5
    std::vector<double> x(kLlmIn, 0.0), h;
    x[0] = 1.5, x[1] = 1.0; // h0 = 3, h1 = max(0, -1 + 0.25) = 0
    const std::vector<double> y = float_forward(w, x, &h);
    CHECK(h[0] == 3.0);
    CHECK(h[1] == 0.0);
    CHECK(y[7] == 9.5);
    CHECK(y[9] == 0.5);
    CHECK(y[0] == 0.5);
}

TEST_CASE("the build is deterministic and carries symbols and provenance") {
    const PixelLlmWeights w = seeded_weights(7);
    PixelLlmBuildOptions opt;
    opt.seed = 7;
    auto a = build_pixellm(w, opt);
    auto b = build_pixellm(seeded_weights(7), opt);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->rgba == b->rgba);
    CHECK(a->width == kLlmWidth);
    CHECK(a->height < 256); // no WIDE prefix needed
    auto other = build_pixellm(seeded_weights(8), opt);
    REQUIRE(other.ok());
    CHECK(other->rgba != a->rgba);

    auto io = pixellm_io(*a);
    REQUIRE(io.ok());
    CHECK(io->int32_logits);
    CHECK(io->seed == std::optional<uint64_t>(7));
    CHECK(io->input.zero_point > 0);
    // Row 0: QMATMUL (3 params), QMATMUL32 (2 params), HALT.
    CHECK(a->pixel(0, 0)[0] == uint8_t(Opcode::QMATMUL));
    CHECK(a->pixel(4, 0)[0] == uint8_t(Opcode::QMATMUL32));
    CHECK(a->pixel(7, 0)[0] == uint8_t(Opcode::HALT));
    // The program runs without traps on the CPU and its logits follow the input.
    Image run1 = *a;
    REQUIRE(set_input(run1, *io, seeded_input(1, 0)).ok());
    auto r1 = run_on_cpu(run1);
    REQUIRE(r1.ok());
    auto y1 = read_logits(*r1, *io);
    REQUIRE(y1.ok());
    const std::vector<double> f = float_forward(w, seeded_input(1, 0));
    double err = 0, norm = 0;
    for (uint32_t i = 0; i < kLlmOut; ++i)
        err += ((*y1)[i] - f[i]) * ((*y1)[i] - f[i]), norm += f[i] * f[i];
    CHECK(std::sqrt(err / norm) < 0.05);

    CHECK_FALSE(set_input_codes(run1, *io, std::vector<uint8_t>(3)).ok());
    Image bare = *a;
    bare.text.clear();
    CHECK_FALSE(pixellm_io(bare).ok());
    PixelLlmWeights bad = w;
    bad.b_out.pop_back();
    auto refused = build_pixellm(bad, opt);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message.find("b_out") != std::string::npos);
}

TEST_CASE(".npz files written by Python's zipfile (stored, deflated, zip64 local headers)") {
    for (const char* file : {"tests/data/npz_numpy_style.npz", "tests/data/npz_stored.npz"}) {
        auto arrays = read_npz(pxtest::source_path(file));
        REQUIRE_MESSAGE(arrays.ok(), arrays.error().message);
        REQUIRE(arrays->size() == 2);
        const NpyArray& a = arrays->at("a");
        CHECK(a.shape == std::vector<uint64_t>{2, 3});
        CHECK(a.as_double() == std::vector<double>{1.5, -2.0, 0.25, 3.0, 4.0, -0.5});
        const NpyArray& b = arrays->at("b");
        CHECK(b.shape == std::vector<uint64_t>{3});
        CHECK(b.as_double() == std::vector<double>{0.1, -7.25, 1e10});
    }
    auto bytes = encode_npz({{"x", make_npy_u8({4}, {1, 2, 3, 4})}}, true);
    CHECK(parse_npz(bytes, "mem").ok());
    auto corrupt = bytes;
    corrupt[40] ^= 0x55; // inside the deflated data
    CHECK_FALSE(parse_npz(corrupt, "mem").ok());
    auto truncated = bytes;
    truncated.resize(bytes.size() - 10);
    CHECK_FALSE(parse_npz(truncated, "mem").ok());
    CHECK_FALSE(read_npz("/nonexistent/w.npz").ok());
    auto missing = load_npz_weights(pxtest::source_path("tests/data/npz_stored.npz"));
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message.find("W_hidden") != std::string::npos);
}

TEST_CASE("weights saved as .npz build the same program as the seeded ones") {
    const PixelLlmWeights w = seeded_weights(kLlmDefaultSeed);
    const std::string path = std::string(PXOS_BINARY_DIR) + "/pixellm_test_weights.npz";
    REQUIRE(save_npz_weights(w, path).ok());
    auto loaded = load_npz_weights(path);
    REQUIRE_MESSAGE(loaded.ok(), loaded.error().message);
    CHECK(loaded->w_hidden == w.w_hidden);
    CHECK(loaded->b_out == w.b_out);
    PixelLlmBuildOptions seeded, filed;
    seeded.seed = kLlmDefaultSeed;
    filed.weights_file = path;
    auto a = build_pixellm(w, seeded);
    auto b = build_pixellm(*loaded, filed);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->rgba == b->rgba); // only the provenance chunk differs
    auto io = pixellm_io(*b);
    REQUIRE(io.ok());
    CHECK(io->weights_file == path);
    auto again = program_weights(*io);
    REQUIRE(again.ok());
    CHECK(again->w_out == w.w_out);
}

TEST_CASE("assets/pixellm.pxi is the current seeded build") {
    // Rebuild with `pxi pixellm -o assets/pixellm.pxi --seed 42` when this fails after a change.
    auto loaded = load_png(pxtest::source_path("assets/pixellm.pxi"));
    REQUIRE_MESSAGE(loaded.ok(), loaded.error().message);
    PixelLlmBuildOptions opt;
    opt.seed = kLlmDefaultSeed;
    auto built = build_pixellm(seeded_weights(kLlmDefaultSeed), opt);
    REQUIRE(built.ok());
    const Image& file = loaded->image;
    CHECK(file.width == built->width);
    CHECK(file.height == built->height);
    CHECK(file.rgba == built->rgba);
    for (const char* key : {"pxos.symbols", "pxos.pixellm"}) {
        const TextChunk* a = find_text(file, key);
        const TextChunk* b = find_text(*built, key);
        REQUIRE_MESSAGE(a, key);
        REQUIRE(b);
        CHECK(a->text == b->text);
    }
    CHECK(file.text.size() == built->text.size());
}
