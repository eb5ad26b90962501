// gpt_asset_test.cpp — the shipped language model, assets/gpt_brown_f32.pxi (issue 15; trained by
// `./dev.sh train`, built by `pxi gpt`, docs/training.md): it is the current build of the weights
// it holds (read back through its symbols and rebuilt with its own tokenizer, byte for byte, so a
// change to the builder that would change the program fails here until the asset is rebuilt), it
// validates without errors, and greedy generation on the reference and optimized CPU executors
// gives the same tokens. (CPU vs GL and the text itself: tests/gpt_asset.cmake.)
#include "gpt.h"

#include "cpu_fast.h"
#include "png_io.h"
#include "tokenizer_image.h"
#include "validate.h"
#include "vm.h"

#include <doctest/doctest.h>

using namespace px;

namespace {

const char* kAsset = PXOS_SOURCE_DIR "/assets/gpt_brown_f32.pxi";

const Image& asset() {
    static const Image img = [] {
        auto r = load_png(kAsset);
        REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
        return std::move(r.value().image);
    }();
    return img;
}

} // namespace

TEST_CASE("the shipped model is the current build of the weights it holds") {
    const Image& img = asset();
    auto regions = find_gpt_regions(img);
    REQUIRE_MESSAGE(regions.ok(), (regions.ok() ? "" : regions.error().message));
    auto weights = read_gpt_weights(img, regions.value());
    REQUIRE_MESSAGE(weights.ok(), (weights.ok() ? "" : weights.error().message));
    auto bpe = read_tokenizer(img);
    REQUIRE_MESSAGE(bpe.ok(), (bpe.ok() ? "" : bpe.error().message));
    CHECK(regions.value().config.vocab == bpe.value().vocab.size());
    // Built with `--max-new-tokens 1` (docs/training.md): a default run is the prefill and one
    // token, so the per-asset tests (a trace hashes the whole image every step) stay quick.
    auto counter = read_i32_matrix(img, regions.value().loop_counter);
    REQUIRE(counter.ok());
    REQUIRE(counter.value().size() == 1);
    GptBuildOptions options;
    options.max_new_tokens = uint32_t(counter.value()[0]) + 1;
    CHECK(options.max_new_tokens == 1);
    auto rebuilt = build_gpt(regions.value().config, weights.value(), bpe.value(), options);
    REQUIRE_MESSAGE(rebuilt.ok(), (rebuilt.ok() ? "" : rebuilt.error().message));
    CHECK(rebuilt.value().width == img.width);
    CHECK(rebuilt.value().height == img.height);
    CHECK_MESSAGE(rebuilt.value().rgba == img.rgba,
                  "the builder's output changed: rebuild assets/gpt_brown_f32.pxi (docs/training.md)");
    REQUIRE(rebuilt.value().text.size() == img.text.size());
    for (size_t i = 0; i < img.text.size(); ++i) {
        CHECK(rebuilt.value().text[i].key == img.text[i].key);
        CHECK(rebuilt.value().text[i].text == img.text[i].text);
    }
}

TEST_CASE("the shipped model validates and generates the same tokens on both CPU executors") {
    Image img = asset();
    const ValidationReport report = validate(img);
    for (const auto& d : report.diagnostics)
        CHECK_MESSAGE(d.severity != Severity::Error, d.message);
    auto regions = find_gpt_regions(img);
    REQUIRE(regions.ok());
    auto bpe = read_tokenizer(img);
    REQUIRE(bpe.ok());
    const std::vector<int32_t> prompt = encode(bpe.value(), "The jury said");
    REQUIRE(set_gpt_prompt(img, regions.value(), prompt, 3).ok()); // the prefill and two decode passes
    VmState ref = make_vm(img);
    run(ref);
    VmState fast = make_vm(img);
    run(fast, {.execute = fast_executor()});
    CHECK(ref.status == VmStatus::Halted);
    CHECK(fast.status == VmStatus::Halted);
    auto a = read_i32_matrix(ref.image, regions.value().tokens);
    auto b = read_i32_matrix(fast.image, regions.value().tokens);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a.value().size() == prompt.size() + 3);
    CHECK(a.value() == b.value());
    CHECK(ref.image.rgba == fast.image.rgba);
}
