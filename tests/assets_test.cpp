// "Builds are current": every assets/*.pxasm re-assembles to exactly the committed assets/*.pxi,
// byte for byte (PROTOCOL.md §2: one image always encodes to the same bytes), and so does the
// seeded Pixel-LLM build; every asset survives the disassembler round trip.
#include "asm.h"
#include "pixellm.h"
#include "png_io.h"
#include "test_util.h"

#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

using namespace px;
namespace fs = std::filesystem;

namespace {
std::vector<uint8_t> read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
} // namespace

TEST_CASE("every .pxasm asset assembles to its committed .pxi") {
    int checked = 0;
    for (const auto& e : fs::directory_iterator(pxtest::source_path("assets"))) {
        if (e.path().extension() != ".pxasm") continue;
        CAPTURE(e.path().string());
        std::ifstream in(e.path(), std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        AsmOptions o;
        o.file_name = e.path().filename().string(); // as `pxi asm` names it
        o.base_dir = e.path().parent_path().string();
        auto built = assemble(text.str(), o);
        REQUIRE(built.ok());
        fs::path pxi = e.path();
        pxi.replace_extension(".pxi");
        INFO("rebuild with: pxi asm " << e.path().string() << " -o " << pxi.string());
        REQUIRE(fs::exists(pxi));
        auto committed = load_png(pxi.string());
        REQUIRE(committed.ok());
        CHECK(committed->warnings.empty());
        CHECK(committed->image.width == built->image.width);
        CHECK(committed->image.height == built->image.height);
        CHECK(committed->image.rgba == built->image.rgba);
        REQUIRE(committed->image.text.size() == built->image.text.size());
        for (size_t i = 0; i < built->image.text.size(); ++i) {
            CHECK(committed->image.text[i].key == built->image.text[i].key);
            CHECK(committed->image.text[i].text == built->image.text[i].text);
        }
        // The file itself, byte for byte: what `pxi asm` writes is what is committed.
        auto bytes = encode_png(built->image);
        REQUIRE(bytes.ok());
        CHECK_MESSAGE(*bytes == read_bytes(pxi), "the committed file's bytes differ from the writer's");
        ++checked;
    }
    CHECK(checked >= 4);
}

TEST_CASE("every .pxi asset disassembles to text that assembles to the same pixels") {
    int checked = 0;
    for (const auto& e : fs::directory_iterator(pxtest::source_path("assets"))) {
        if (e.path().extension() != ".pxi") continue;
        if (pxtest::skipped_under_sanitizer(fs::file_size(e.path()))) {
            MESSAGE("under ASan, not round-tripping the large asset " << e.path().filename().string());
            continue;
        }
        CAPTURE(e.path().string());
        auto img = load_png(e.path().string());
        REQUIRE(img.ok());
        const std::string text = disassemble(img->image);
        auto back = assemble(text);
        REQUIRE(back.ok());
        CHECK(back->image.width == img->image.width);
        CHECK(back->image.rgba == img->image.rgba);
        CHECK(disassemble(back->image) == text);
        ++checked;
    }
    CHECK(checked >= 4);
}

TEST_CASE("assets/pixellm.pxi is byte for byte what `pxi pixellm --seed 42` writes") {
    // Rebuild with: pxi pixellm -o assets/pixellm.pxi --seed 42 --force
    PixelLlmBuildOptions opt;
    opt.seed = kLlmDefaultSeed;
    auto built = build_pixellm(seeded_weights(kLlmDefaultSeed), opt);
    REQUIRE(built.ok());
    auto bytes = encode_png(*built);
    REQUIRE(bytes.ok());
    const std::vector<uint8_t> committed = read_bytes(pxtest::source_path("assets/pixellm.pxi"));
    REQUIRE(!committed.empty());
    CHECK(*bytes == committed);
}
