// Tests of engine/dtype: where each element type sits in the pixels (PROTOCOL.md §15 F.1),
// pixel counts and fit, typed reads and writes, and the text tools show for an element.
#include "dtype.h"
#include "fmath.h"
#include "layout.h"

#include <doctest/doctest.h>

#include <cstring>

using namespace px;

TEST_CASE("dtype codes, names and pixel counts") {
    CHECK(dtype_from_code(0) == DType::U8);
    CHECK(dtype_from_code(1) == DType::F32);
    CHECK(dtype_from_code(2) == DType::F16);
    CHECK(dtype_from_code(3) == DType::I32);
    CHECK(!dtype_from_code(4));
    CHECK(!dtype_from_code(255));
    for (uint32_t c = 0; c < 4; ++c)
        CHECK(parse_dtype(dtype_name(DType(c))) == DType(c));
    CHECK(!parse_dtype("f64"));
    CHECK(dtype_pixels(DType::F16, 0) == 0);
    CHECK(dtype_pixels(DType::F16, 1) == 1);
    CHECK(dtype_pixels(DType::F16, 7) == 4);
    CHECK(dtype_pixels(DType::F32, 7) == 7);
    CHECK(dtype_pixels(DType::U8, 7) == 7);
    // Width 5: four element pixels per row. 3x3 = 9 elements: u8/f32 need 3 rows, f16 (5 pixels) 2.
    const MatrixHeader h{3, 3};
    CHECK(!typed_matrix_fits(1, h, DType::F32, 5, 3));
    CHECK(typed_matrix_fits(1, h, DType::F32, 5, 4));
    CHECK(typed_matrix_fits(1, h, DType::F16, 5, 3));
    CHECK(!typed_matrix_fits(1, h, DType::F16, 5, 2));
    CHECK(!typed_matrix_fits(0, h, DType::F16, 5, 9)); // row 0 holds instructions
    CHECK(!typed_matrix_fits(1, h, DType::F16, 1, 9)); // width 1 holds no matrix
}

TEST_CASE("f32 elements are whole little-endian pixels; f16 two per pixel, element 2j low") {
    Image img = make_image(4, 4);
    const std::vector<float> v = {1.5f, -2.0f, 0.25f, 3.0f, 1e-45f /* subnormal */, -0.0f, 7.0f};
    REQUIRE(write_float_matrix(img, 1, {7, 1}, DType::F32, v).ok());
    CHECK(img.pixel(0, 1) == Rgba{7, 0, 1, 0});
    // 1.5f = 0x3FC00000: R = 0x00, G = 0x00, B = 0xC0, A = 0x3F.
    CHECK(img.pixel(1, 1) == Rgba{0x00, 0x00, 0xC0, 0x3F});
    CHECK(img.pixel(2, 1) == Rgba{0x00, 0x00, 0x00, 0xC0}); // -2
    CHECK(img.pixel(3, 1) == Rgba{0x00, 0x00, 0x80, 0x3E}); // 0.25
    // Width 4: three element pixels per row; element 3 (3.0) wraps to (1, 2). The subnormal and
    // -0 were stored canonical (+0).
    CHECK(pixel_word(img.pixel(1, 2)) == fm::bits(3.0f));
    CHECK(pixel_word(img.pixel(2, 2)) == 0u);
    CHECK(pixel_word(img.pixel(3, 2)) == 0u);
    auto back = read_float_matrix(img, 1, DType::F32);
    REQUIRE(back.ok());
    CHECK(back->at(0) == 1.5f);
    CHECK(back->at(6) == 7.0f);
    // A NaN with a payload written by hand reads as the canonical NaN.
    img.set_pixel(1, 1, word_pixel(0xFFC12345u));
    back = read_float_matrix(img, 1, DType::F32);
    REQUIRE(back.ok());
    CHECK(fm::bits(back->at(0)) == fm::kNaN);
    CHECK(format_element(img, 1, DType::F32, 0).find("reads as nan") != std::string::npos);
    CHECK(format_element(img, 1, DType::F32, 1) == "0xC0000000 = -2");

    Image h = make_image(3, 4);
    const std::vector<float> f = {1.0f, -2.0f, 65504.f, 1e9f, 0.1f};
    REQUIRE(write_float_matrix(h, 1, {5, 1}, DType::F16, f).ok());
    // Pixel 0: element 0 = 1.0 (0x3C00) in R, G; element 1 = -2 (0xC000) in B, A.
    CHECK(h.pixel(1, 1) == Rgba{0x00, 0x3C, 0x00, 0xC0});
    CHECK(h.pixel(2, 1) == Rgba{0xFF, 0x7B, 0x00, 0x7C}); // 65504 (max), 1e9 -> inf
    CHECK(h.pixel(1, 2) == Rgba{0x66, 0x2E, 0x00, 0x00}); // 0.1 -> 0x2E66; odd count: B, A = 0
    CHECK(element_bits(h, 1, DType::F16, 4) == 0x2E66u);
    auto hb = read_float_matrix(h, 1, DType::F16);
    REQUIRE(hb.ok());
    CHECK(hb->at(1) == -2.0f);
    CHECK(fm::bits(hb->at(3)) == fm::kPosInf);
    CHECK(hb->at(4) == fm::from_f16(0x2E66));
    CHECK(format_element(h, 1, DType::F16, 0) == "0x3C00 = 1");
    // The same bytes read as u8 and i32.
    CHECK(element_bits(h, 1, DType::U8, 0) == 0x00u);
    CHECK(format_element(h, 1, DType::I32, 0) == std::to_string(int32_t(0xC0003C00u)));
}

TEST_CASE("typed reads and writes refuse what does not fit or is not a float type") {
    Image img = make_image(3, 3);
    auto w = write_float_matrix(img, 1, {5, 1}, DType::F32, std::vector<float>(5, 1.f));
    REQUIRE(!w.ok()); // 5 pixels need 3 rows of 2 from row 1: 1 + 3 > 3
    CHECK(w.error().message.find("row 1") != std::string::npos);
    CHECK(
        write_float_matrix(img, 1, {5, 1}, DType::F16, std::vector<float>(5, 1.f)).ok()); // 3 pixels: 2 rows
    CHECK(!write_float_matrix(img, 1, {2, 1}, DType::F32, std::vector<float>(3, 1.f)).ok());
    CHECK(!write_float_matrix(img, 1, {1, 1}, DType::U8, {1.f}).ok());
    CHECK(!read_float_matrix(img, 1, DType::I32).ok());
    CHECK(!read_float_matrix(img, 0, DType::F32).ok());
    CHECK(!read_float_matrix(img, 3, DType::F32).ok());
    img.set_pixel(0, 2, encode_header({40, 40}));
    auto r = read_float_matrix(img, 2, DType::F16);
    REQUIRE(!r.ok());
    CHECK(r.error().message.find("row 2") != std::string::npos);
}
