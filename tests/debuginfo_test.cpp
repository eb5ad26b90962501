// Tests of debug symbols: the JSON round trip, malformed chunks, inference from row 0.
#include "debuginfo.h"
#include "png_io.h"
#include "protocol.h"
#include "quant.h"
#include "test_util.h"

#include <doctest/doctest.h>

using namespace px;
using namespace pxtest;

TEST_CASE("symbols round-trip through the pxos.symbols chunk") {
    Image img = make_image(8, 8);
    DebugInfo info;
    Region a;
    a.name = "W";
    a.row = 3;
    a.shape = {4, 2};
    a.scale = 0.5;
    a.zero_point = 128;
    info.regions.push_back(a);
    Region b;
    b.name = "x";
    b.row = 1;
    b.shape = {2, 1};
    info.regions.push_back(b);
    info.source = "HALT\n";
    write_debug_info(img, info);
    auto back = read_debug_info(img);
    REQUIRE(back.ok());
    REQUIRE(back->regions.size() == 2);
    CHECK(back->regions[0].name == "W");
    CHECK(back->regions[0].row == 3);
    CHECK(back->regions[0].shape == MatrixHeader{4, 2});
    CHECK(*back->regions[0].scale == 0.5);
    CHECK(*back->regions[0].zero_point == 128);
    CHECK_FALSE(back->regions[1].scale.has_value());
    CHECK(back->source == "HALT\n");
    // program_regions sorts by row and prefers symbols.
    auto regions = program_regions(img);
    REQUIRE(regions.size() == 2);
    CHECK(regions[0].name == "x");
    CHECK(regions[0].from_symbols);
}

TEST_CASE("malformed symbols are errors naming the key, and are ignored for inference") {
    Image img = make_image(8, 4);
    put_matrix(img, 1, 1, 2, {1, 2});
    put_ins(img, 0, Opcode::RELU, 1);
    for (const char* bad :
         {"{", "[]", "{\"version\": 2, \"regions\": []}", "{\"version\": 1}",
          "{\"version\": 1, \"regions\": [{\"name\": \"a\", \"row\": -1, \"rows\": 1, \"cols\": 1}]}",
          "{\"version\": 1, \"regions\": [{\"name\": 3, \"row\": 1, \"rows\": 1, \"cols\": 1}]}"}) {
        set_text(img, std::string(kSymbolsKey), bad);
        auto r = read_debug_info(img);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("pxos.symbols") != std::string::npos);
        auto regions = program_regions(img);
        REQUIRE(regions.size() == 1);
        CHECK(regions[0].name == "m1");
    }
}

TEST_CASE("an absent chunk is empty debug info") {
    Image img = make_image(4, 4);
    auto r = read_debug_info(img);
    REQUIRE(r.ok());
    CHECK(r->regions.empty());
}

TEST_CASE("inference names matrix operands m<row> and DOT outputs s<row>, stopping at HALT") {
    Image img = make_image(8, 8);
    put_matrix(img, 1, 1, 3, {1, 2, 3});
    put_matrix(img, 2, 1, 3, {4, 5, 6});
    put_ins(img, 0, Opcode::DOT, 1, 2, 3);
    put_ins(img, 1, Opcode::ADD, 1, 2, 4);
    put_ins(img, 2, Opcode::HALT);
    put_ins(img, 3, Opcode::RELU, 6); // after HALT: not a region
    auto regions = program_regions(img);
    REQUIRE(regions.size() == 4);
    CHECK(regions[0].name == "m1");
    CHECK(regions[0].shape == MatrixHeader{3, 1});
    CHECK(regions[2].name == "s3");
    CHECK(regions[2].shape == MatrixHeader{0, 0});
    CHECK(regions[3].name == "m4");
    CHECK(regions[3].shape == MatrixHeader{0, 0}); // header not written yet
    // region_at: header and elements of m1; DOT's pixel only for s3.
    CHECK(region_at(regions, img, 0, 1)->name == "m1");
    CHECK(region_at(regions, img, 3, 1)->name == "m1");
    CHECK(region_at(regions, img, 4, 1) == nullptr);
    CHECK(region_at(regions, img, 0, 3)->name == "s3");
    CHECK(region_at(regions, img, 1, 3) == nullptr);
}

TEST_CASE("inference ignores rows outside the image and WIDE operands are read whole") {
    Image img = make_image(4, 3);
    img.set_pixel(0, 0, {kWidePrefix, 1, 0, 0});
    put_ins(img, 1, Opcode::RELU, 2); // row 258
    put_ins(img, 2, Opcode::RELU, 2);
    auto regions = program_regions(img);
    REQUIRE(regions.size() == 1);
    CHECK(regions[0].row == 2);
}

TEST_CASE("inferred regions include a QMATMUL's bias row") {
    auto loaded = px::load_png(pxtest::source_path("assets/pixellm.pxi"));
    REQUIRE(loaded);
    px::Image image = loaded->image;
    image.text.clear(); // no symbols: everything is inferred from row 0
    const auto regions = px::program_regions(image);
    const px::Decoded first = px::decode(px::image_fetch(image), image.width, 0);
    const auto bias = px::param_rows(first.ins);
    REQUIRE(bias.size() == 1);
    bool found = false;
    for (const px::Region& r : regions)
        found |= r.row == bias[0];
    CHECK(found);
}

TEST_CASE("px::region_written: a written rectangle touching the header or an element pixel, nothing else") {
    px::Region r;
    r.row = 3;
    r.shape = {10, 2}; // 20 elements in a 16-wide image: row 3 x 1..15, row 4 x 1..5
    const uint32_t W = 16;
    CHECK(px::region_written(r, W, {{0, 3, 1, 1}}));   // header
    CHECK(px::region_written(r, W, {{15, 3, 1, 1}}));  // element 14
    CHECK(px::region_written(r, W, {{5, 4, 1, 1}}));   // element 19, the last
    CHECK(!px::region_written(r, W, {{6, 4, 9, 1}}));  // after the last element
    CHECK(!px::region_written(r, W, {{0, 4, 1, 1}}));  // column 0 of a continuation row
    CHECK(!px::region_written(r, W, {{0, 2, 16, 1}})); // the row above
    CHECK(!px::region_written(r, W, {{1, 3, 0, 1}}));  // empty
    CHECK(px::region_written(r, W, {{0, 0, 16, 1}, {4, 2, 2, 2}}));
    px::Region h; // f16: 5 elements fill ceil(5 / 2) = 3 pixels, x 1..3 of row 7
    h.row = 7;
    h.shape = {5, 1};
    h.dtype = px::DType::F16;
    CHECK(px::region_written(h, W, {{3, 7, 1, 1}}));
    CHECK(!px::region_written(h, W, {{4, 7, 12, 1}}));
}

TEST_CASE("px::matrix_rects_now: the header as it reads now, the row's type from the regions") {
    // Width 4: three element pixels a row. Row 2's header says 2 x 5 (10 elements).
    Image img = make_image(4, 8);
    img.set_pixel(0, 2, encode_header({5, 2}));
    const auto pixels = [](const std::vector<Rect>& rects) {
        uint64_t n = 0;
        for (const Rect& r : rects)
            n += uint64_t(r.w) * r.h;
        return n;
    };
    // No region names row 2: uint8, one element a pixel: header + 10 pixels over rows 2..5.
    CHECK(pixels(matrix_rects_now({}, img, 2)) == 11);
    // An f16 region there: ceil(10 / 2) = 5 element pixels, rows 2..3 (what pxdbg outlined as 10).
    Region h;
    h.name = "h";
    h.row = 2;
    h.shape = {5, 1}; // as declared; the header now reads 2 x 5
    h.dtype = DType::F16;
    const std::vector<Rect> f16 = matrix_rects_now({h}, img, 2);
    CHECK(pixels(f16) == 6);
    uint32_t last = 0;
    for (const Rect& r : f16)
        last = std::max(last, r.y + r.h - 1);
    CHECK(last == 3);
    // f32: one element a pixel, as uint8.
    h.dtype = DType::F32;
    CHECK(pixels(matrix_rects_now({h}, img, 2)) == 11);
    // Outside the image: nothing.
    CHECK(matrix_rects_now({h}, img, 8).empty());
}
