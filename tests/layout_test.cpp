// Tests of engine/layout: the matrix placement rule of PROTOCOL.md §3 at its edges (width 2,
// element counts that are exact multiples of width-1, the last row, 16-bit headers), and the
// rectangles of a matrix or of a range of its elements against the rule pixel by pixel.
#include "layout.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <utility>

using namespace px;

TEST_CASE("headers are 16-bit little-endian cols then rows") {
    CHECK(decode_header({0x34, 0x12, 0x78, 0x56}) == MatrixHeader{0x1234, 0x5678});
    CHECK(encode_header({0x1234, 0x5678}) == Rgba{0x34, 0x12, 0x78, 0x56});
    for (MatrixHeader h :
         {MatrixHeader{0, 0}, MatrixHeader{1, 1}, MatrixHeader{65535, 65535}, MatrixHeader{256, 255}})
        CHECK(decode_header(encode_header(h)) == h);
    CHECK(MatrixHeader{65535, 65535}.elements() == 65535ull * 65535ull);
}

TEST_CASE("rows_for_elements: max(1, ceil(n / (width-1)))") {
    // width 2: one element per row
    CHECK(rows_for_elements(0, 2) == 1);
    CHECK(rows_for_elements(1, 2) == 1);
    CHECK(rows_for_elements(5, 2) == 5);
    // width 5: 4 elements per row; exact multiples do not spill into another row
    CHECK(rows_for_elements(3, 5) == 1);
    CHECK(rows_for_elements(4, 5) == 1);
    CHECK(rows_for_elements(5, 5) == 2);
    CHECK(rows_for_elements(8, 5) == 2);
    CHECK(rows_for_elements(9, 5) == 3);
    // the largest header in the widest image, in 64 bits
    CHECK(rows_for_elements(65535ull * 65535ull, 16384) == (65535ull * 65535ull + 16382) / 16383);
}

TEST_CASE("element positions skip column 0 of continuation rows") {
    CHECK(element_x(0, 2) == 1);
    CHECK(element_x(7, 2) == 1);
    CHECK(element_y(7, 3, 2) == 10);
    CHECK(element_x(3, 5) == 4);
    CHECK(element_y(3, 1, 5) == 1);
    CHECK(element_x(4, 5) == 1);
    CHECK(element_y(4, 1, 5) == 2);
}

TEST_CASE("matrix_rects: header, full rows, remainder") {
    SUBCASE("exact multiple of width-1") {
        auto r = matrix_rects(2, {4, 2}, 5); // 8 elements, 4 a row
        REQUIRE(r.size() == 2);
        CHECK(r[0] == Rect{0, 2, 1, 1});
        CHECK(r[1] == Rect{1, 2, 4, 2});
    }
    SUBCASE("with a remainder") {
        auto r = matrix_rects(1, {3, 3}, 5); // 9 elements: 2 full rows, 1 more
        REQUIRE(r.size() == 3);
        CHECK(r[1] == Rect{1, 1, 4, 2});
        CHECK(r[2] == Rect{1, 3, 1, 1});
    }
    SUBCASE("shorter than one row") {
        auto r = matrix_rects(1, {2, 1}, 8);
        REQUIRE(r.size() == 2);
        CHECK(r[1] == Rect{1, 1, 2, 1});
    }
    SUBCASE("width 2") {
        auto r = matrix_rects(1, {1, 3}, 2);
        REQUIRE(r.size() == 2);
        CHECK(r[1] == Rect{1, 1, 1, 3});
    }
    SUBCASE("no elements, or width 1") {
        CHECK(matrix_rects(1, {0, 5}, 8).size() == 1);
        CHECK(matrix_rects(1, {2, 2}, 1).size() == 1);
    }
}

TEST_CASE("element_rects: exactly the pixels of elements [i0, i0 + n), at every start and length") {
    // Against the placement rule pixel by pixel (element_x, element_y), for widths 2..7.
    for (uint32_t width = 2; width <= 7; ++width)
        for (uint64_t i0 = 0; i0 < 20; ++i0)
            for (uint64_t n = 0; n < 20; ++n) {
                const uint32_t row = 3;
                std::set<std::pair<uint32_t, uint64_t>> want, got;
                for (uint64_t i = i0; i < i0 + n; ++i)
                    want.insert({element_x(i, width), element_y(i, row, width)});
                const std::vector<Rect> rects = element_rects(row, i0, n, width);
                CHECK(rects.size() <= 3);
                size_t pixels = 0;
                for (const Rect& r : rects) {
                    CHECK_FALSE(r.empty());
                    pixels += size_t(r.w) * r.h;
                    for (uint32_t y = r.y; y < r.y + r.h; ++y)
                        for (uint32_t x = r.x; x < r.x + r.w; ++x)
                            got.insert({x, y});
                }
                INFO("width " << width << " i0 " << i0 << " n " << n);
                CHECK(pixels == got.size()); // no pixel twice
                CHECK(got == want);
            }
    // matrix_rects is the header pixel and element_rects of every element.
    const std::vector<Rect> m = matrix_rects(2, {3, 5}, 4), e = element_rects(2, 0, 15, 4);
    REQUIRE(m.size() == e.size() + 1);
    CHECK(m[0] == Rect{0, 2, 1, 1});
    CHECK(std::equal(e.begin(), e.end(), m.begin() + 1));
}

TEST_CASE("matrix_fits: rows 1..height-1, last element row below height") {
    CHECK(matrix_fits(1, {4, 2}, 5, 3));       // rows 1..2 of 3
    CHECK_FALSE(matrix_fits(2, {4, 2}, 5, 3)); // rows 2..3: one past
    CHECK(matrix_fits(2, {4, 1}, 5, 3));       // exactly the last row
    CHECK_FALSE(matrix_fits(0, {1, 1}, 5, 3)); // row 0 holds instructions
    CHECK_FALSE(matrix_fits(3, {1, 1}, 5, 3)); // at the height
    CHECK_FALSE(matrix_fits(1, {1, 1}, 1, 3)); // width 1 holds no matrix
    CHECK(matrix_fits(1, {1, 1}, 2, 2));       // the smallest image that holds one
    CHECK(matrix_fits(1, {1, 3}, 2, 4));
    CHECK_FALSE(matrix_fits(1, {1, 4}, 2, 4));
    CHECK_FALSE(matrix_fits(16383, {65535, 65535}, 16384, 16384)); // no 32-bit wrap-around
    CHECK_FALSE(matrix_fits(4294967295u, {1, 1}, 5, 3));
}

TEST_CASE("write_matrix then read_matrix round-trips and keeps G, B, A of elements") {
    Image img = make_image(4, 5);
    for (size_t i = 0; i < img.rgba.size(); ++i)
        if (i % 4) img.rgba[i] = uint8_t(i);
    const std::vector<uint8_t> v = {1, 2, 3, 4, 5, 6, 7};
    REQUIRE(write_matrix(img, 2, {7, 1}, v).ok()); // 7 elements, 3 a row: rows 2..4
    CHECK(img.pixel(0, 2) == encode_header({7, 1}));
    CHECK(img.at(1, 3)[0] == 4);
    CHECK(img.at(1, 3)[1] == uint8_t(((3 * 4 + 1) * 4) + 1)); // G kept
    CHECK(img.at(1, 4)[0] == 7);
    CHECK(img.at(2, 4)[0] == 0); // past the last element: untouched (R was 0)
    CHECK(img.at(0, 3)[0] == 0); // column 0 of a continuation row: untouched
    auto back = read_matrix(img, 2);
    REQUIRE(back.ok());
    CHECK(back.value() == v);
}

TEST_CASE("read_matrix and write_matrix refuse what does not fit") {
    Image img = make_image(4, 3);
    CHECK(write_matrix(img, 1, {2, 2}, {1, 2, 3}).error().code == ErrorCode::Usage);
    CHECK(write_matrix(img, 2, {4, 1}, {1, 2, 3, 4}).error().code == ErrorCode::Invalid);
    CHECK(img.rgba == make_image(4, 3).rgba); // nothing written
    CHECK(read_matrix(img, 0).error().code == ErrorCode::Invalid);
    CHECK(read_matrix(img, 3).error().code == ErrorCode::Invalid);
    img.set_pixel(0, 2, encode_header({9, 9}));
    auto r = read_matrix(img, 2);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("row 2") != std::string::npos);
}

TEST_CASE("allocate_rows places matrices one after another") {
    auto a = allocate_rows({{2, 1}, {4, 2}, {0, 0}, {1, 1}}, 5);
    REQUIRE(a.rows.size() == 4);
    CHECK(a.rows[0] == 1); // 2 elements: 1 row
    CHECK(a.rows[1] == 2); // 8 elements, 4 a row: 2 rows
    CHECK(a.rows[2] == 4); // an empty shape still takes its header row
    CHECK(a.rows[3] == 5);
    CHECK(a.height == 6);
    auto b = allocate_rows({}, 5);
    CHECK(b.rows.empty());
    CHECK(b.height == 1);
    auto c = allocate_rows({{3, 1}}, 2, 10); // width 2: one element a row
    CHECK(c.rows == std::vector<uint32_t>{10});
    CHECK(c.height == 13);
    // Every allocated matrix fits in the height given, and none overlap.
    for (size_t i = 0; i < a.rows.size(); ++i)
        CHECK(matrix_fits(a.rows[i], std::vector<MatrixHeader>{{2, 1}, {4, 2}, {0, 0}, {1, 1}}[i], 5,
                          a.height));
}
