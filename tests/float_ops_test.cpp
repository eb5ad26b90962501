// The float opcodes' definitions (engine/ops/float_ops.h, fmatmul.cpp): parameter decoding, the
// BAD_PARAM messages of check 7, the descriptions tools show, the activations on hostile values,
// and the traps through plan_instruction. The arithmetic is checked byte for byte by the vectors
// (tests/vectors/float_*.json, from the independent NumPy model) on every executor.
#include "fmath.h"
#include "ops/float_ops.h"
#include "test_util.h"
#include "vm.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

using namespace px;

namespace {
using pxtest::fins;
uint32_t relu_bits(uint32_t x) {
    return fm::bits(ops::activate(fm::from_bits(fm::canon_bits(x)), uint8_t(FActivation::Relu)));
}
} // namespace

TEST_CASE("FMATMUL parameters: encode, decode, describe, rows") {
    FMatmulParams p;
    p.bias_row = 300;
    p.activation = uint8_t(FActivation::Gelu);
    const auto px = encode_params(p);
    REQUIRE(px.size() == 2);
    CHECK(px[0] == Rgba{1, 1, 1, 0});
    CHECK(px[1] == Rgba{44, 1, 2, 0});
    const Instruction ins = fins(Opcode::FMATMUL, px);
    CHECK(describe_params(ins) == "a:f32 b:f32 c:f32 bias=row 300 (f32) act=gelu");
    CHECK(param_rows(ins) == std::vector<uint32_t>{300});
    CHECK(check_params(ins, 301).empty());
    CHECK(check_params(ins, 300) == "parameter pixel P2 at (2,0): bias row 300 is outside data rows 1..299");
    CHECK(describe_params(fins(Opcode::FMATMUL, {{1, 2, 7, 0}, {0, 0, 0, 0}})) ==
          "a:f32 b:f16 c:dtype 7 bias=none act=none");
}

TEST_CASE("FMATMUL check 7 names the pixel, the operand and the dtypes") {
    CHECK(check_params(fins(Opcode::FMATMUL, {{1, 0, 1, 0}, {0, 0, 0, 0}}), 10) ==
          "parameter pixel P1 at (1,0): operand b is declared u8 (code 0); FMATMUL accepts only f32 (code 1) "
          "there");
    CHECK(check_params(fins(Opcode::FMATMUL, {{1, 1, 9, 0}, {0, 0, 0, 0}}), 10) ==
          "parameter pixel P1 at (1,0): operand c is declared dtype 9 (code 9); FMATMUL accepts only f32 "
          "(code 1) "
          "there");
    CHECK(check_params(fins(Opcode::FMATMUL, {{1, 1, 1, 4}, {0, 0, 0, 0}}), 10) ==
          "parameter pixel P1 at (1,0): reserved channel A is 4, must be 0");
    CHECK(check_params(fins(Opcode::FMATMUL, {{1, 1, 1, 0}, {0, 0, 3, 0}}), 10) ==
          "parameter pixel P2 at (2,0): activation 3 is not 0 (none), 1 (relu) or 2 (gelu)");
    CHECK(check_params(fins(Opcode::FMATMUL, {{1, 1, 1, 0}, {0, 0, 1, 5}}), 10) ==
          "parameter pixel P2 at (2,0): reserved channel A is 5, must be 0");
}

TEST_CASE("ReLU on canonical values: NaN stays the one NaN, only x > 0 survives") {
    CHECK(relu_bits(0x3F800000) == 0x3F800000);
    CHECK(relu_bits(0x7F800000) == 0x7F800000);
    CHECK(relu_bits(0xBF800000) == 0);
    CHECK(relu_bits(0xFF800000) == 0);
    CHECK(relu_bits(0x80000000) == 0);
    CHECK(relu_bits(0x00000001) == 0); // a subnormal is +0 once canonical
    CHECK(relu_bits(0xFFC12345) == fm::kNaN);
    CHECK(relu_bits(0x00800001) == 0x00800001);
    // none is the identity; gelu is fmath's.
    CHECK(fm::bits(ops::activate(fm::from_bits(0xC0000000), 0)) == 0xC0000000);
    CHECK(fm::bits(ops::activate(1.0f, 2)) == fm::bits(fm::gelu(1.0f)));
}

TEST_CASE("FMATMUL traps through plan_instruction: BAD_PARAM at the opcode pixel, bias shape at the bias") {
    Image img = make_image(6, 6);
    auto f32_matrix = [&](uint32_t row, MatrixHeader h) {
        img.set_pixel(0, row, encode_header(h));
        for (uint64_t i = 0; i < h.elements(); ++i)
            img.set_pixel(element_x(i, 6), uint32_t(element_y(i, row, 6)), {0, 0, 0x80, 0x3F}); // 1.0
    };
    f32_matrix(1, {2, 1}); // a 1x2
    f32_matrix(2, {1, 2}); // b 2x1
    f32_matrix(4, {2, 1}); // a 1x2 "bias" for a 1-column result
    img.set_pixel(0, 0, {uint8_t(Opcode::FMATMUL), 1, 2, 3});
    img.set_pixel(1, 0, {1, 1, 1, 0});
    img.set_pixel(2, 0, {4, 0, 0, 0});
    auto planned = plan_instruction(image_fetch(img), img.width, img.height, 0);
    REQUIRE(std::holds_alternative<Trap>(planned));
    const Trap& t = std::get<Trap>(planned);
    CHECK(t.code == TrapCode::SHAPE_MISMATCH);
    CHECK(t.x == 0);
    CHECK(t.y == 4);
    CHECK(t.message == "FMATMUL at pixel (0,0): bias at row 4 is 1x2; it must be 1x1");
    img.set_pixel(2, 0, {0, 0, 0, 0});
    img.set_pixel(1, 0, {1, 1, 2, 0});
    planned = plan_instruction(image_fetch(img), img.width, img.height, 0);
    REQUIRE(std::holds_alternative<Trap>(planned));
    CHECK(std::get<Trap>(planned).code == TrapCode::BAD_PARAM);
    CHECK(std::get<Trap>(planned).x == 0);
    img.set_pixel(1, 0, {1, 1, 1, 0});
    planned = plan_instruction(image_fetch(img), img.width, img.height, 0);
    REQUIRE(std::holds_alternative<Plan>(planned));
    CHECK(std::get<Plan>(planned).out_shape == MatrixHeader{1, 1});
    // 1*1 + 1*1 = 2 on the reference.
    VmState vm = make_vm(img);
    step(vm);
    CHECK(vm.status == VmStatus::Ready);
    CHECK(img.pixel(0, 3) == Rgba{});
    CHECK(vm.image.pixel(0, 3) == encode_header({1, 1}));
    CHECK(vm.image.pixel(1, 3) == Rgba{0, 0, 0, 0x40});
}

TEST_CASE("FADD and FMUL parameters: one dtype pixel, described and checked like FMATMUL's") {
    for (Opcode op : {Opcode::FADD, Opcode::FMUL}) {
        const std::string name(opcode_info(uint8_t(op))->name);
        const auto px = encode_params(FBinaryParams{});
        REQUIRE(px.size() == 1);
        CHECK(px[0] == Rgba{1, 1, 1, 0});
        CHECK(describe_params(fins(op, px)) == "a:f32 b:f32 c:f32");
        CHECK(check_params(fins(op, px), 4).empty());
        CHECK(param_rows(fins(op, px)).empty());
        CHECK(check_params(fins(op, {{2, 1, 1, 0}}), 4) ==
              "parameter pixel P1 at (1,0): operand a is declared f16 "
              "(code 2); " +
                  name + " accepts only f32 (code 1) there");
    }
}

TEST_CASE("fbinary_f32: row broadcast and the F.3 operations") {
    const std::vector<float> a = {1.0f, 2.0f, 3.0f, 4.0f};
    const std::vector<float> row = {10.0f, 0.5f};
    CHECK(fbinary_f32(Opcode::FADD, a, {2, 2}, row, {2, 1}) == std::vector<float>{11.0f, 2.5f, 13.0f, 4.5f});
    CHECK(fbinary_f32(Opcode::FMUL, a, {2, 2}, row, {2, 1}) == std::vector<float>{10.0f, 1.0f, 30.0f, 2.0f});
    CHECK(fbinary_f32(Opcode::FMUL, a, {2, 2}, a, {2, 2}) == std::vector<float>{1.0f, 4.0f, 9.0f, 16.0f});
    // 2^-64 * 2^-64 = 2^-128 is flushed to +0 (never a subnormal, never -0).
    const float tiny = fm::from_bits(0x1F800000), neg_tiny = fm::from_bits(0x9F800000);
    const auto flushed = fbinary_f32(Opcode::FMUL, {tiny, neg_tiny}, {2, 1}, {tiny, tiny}, {2, 1});
    CHECK(fm::bits(flushed[0]) == 0);
    CHECK(fm::bits(flushed[1]) == 0);
}

// ---- DEQUANT, QUANT, FCONVERT, LAYERNORM, GELU (PROTOCOL.md §11.4-11.8) ----

TEST_CASE("DEQUANT and QUANT parameters: encode, decode, describe, check 7 naming the pixel") {
    QConvertParams p;
    p.dtype = {0, 0, 1, 0};
    p.scale_bits = 0x3D800000; // 1/16
    p.zero_point = 128;
    const auto px = encode_params(p);
    REQUIRE(px.size() == 3);
    CHECK(px[1] == Rgba{0, 0, 0x80, 0x3D});
    CHECK(px[2] == Rgba{128, 0, 0, 0});
    const Instruction ins = fins(Opcode::DEQUANT, px);
    CHECK(describe_params(ins) == "a:u8 c:f32 scale=0x3D800000 (0.0625) zero_point=128");
    CHECK(check_params(ins, 10).empty());
    CHECK(param_rows(ins).empty());
    const OpDef* def = op_def(uint8_t(Opcode::DEQUANT));
    REQUIRE((def->operand_types != nullptr));
    CHECK(def->operand_types(def->decode(ins)) == std::array<DType, 3>{DType::U8, DType::U8, DType::F32});
    // QUANT takes the inverse scale; its P1 is (1, 0, 0, 0).
    CHECK(check_params(fins(Opcode::QUANT, px), 10) == "parameter pixel P1 at (1,0): operand a is declared "
                                                       "u8 (code 0); QUANT accepts only f32 (code 1) there");
    p.dtype = {1, 0, 0, 0};
    for (const auto& [bits, text] :
         std::vector<std::pair<uint32_t, std::string>>{{0x00000000, "0x00000000 (0)"},
                                                       {0xBF800000, "0xBF800000 (-1)"},
                                                       {0x00000001, "0x00000001 (1.40129846e-45)"},
                                                       {0x00800000, "0x00800000 (1.17549435e-38)"},
                                                       {0x7F800000, "0x7F800000 (inf)"},
                                                       {0x7FC00000, "0x7FC00000 (nan)"}}) {
        p.scale_bits = bits;
        CHECK(check_params(fins(Opcode::QUANT, encode_params(p)), 10) ==
              "parameter pixel P2 at (2,0): inv_scale " + text +
                  " is not a positive normal finite float32 (bits 0x00800001..0x7F7FFFFF)");
    }
    p.scale_bits = 0x00800001;
    CHECK(check_params(fins(Opcode::QUANT, encode_params(p)), 10).empty());
    p.reserved = 3;
    CHECK(check_params(fins(Opcode::QUANT, encode_params(p)), 10) ==
          "parameter pixel P3 at (3,0): reserved channel G is 3, must be 0");
}

TEST_CASE("fm::quantize: round half to even of mul(x, inv_scale), NaN to the zero point, saturation") {
    auto q = [](float x, float inv, int zp) { return int(fm::quantize(x, inv, uint8_t(zp))); };
    CHECK(q(0.5f, 1, 100) == 100);
    CHECK(q(1.5f, 1, 100) == 102);
    CHECK(q(2.5f, 1, 100) == 102);
    CHECK(q(-0.5f, 1, 100) == 100);
    CHECK(q(-2.5f, 1, 100) == 98);
    CHECK(q(0.49999997f, 1, 0) == 0);
    CHECK(q(fm::from_bits(0x7FC12345), 1, 77) == 77);
    CHECK(q(fm::from_bits(0x7F800000), 1e-30f, 0) == 255);
    CHECK(q(fm::from_bits(0xFF800000), 1, 255) == 0);
    CHECK(q(fm::from_bits(0x7F7FFFFF), 2, 0) == 255); // MAX * 2 = inf
    CHECK(q(-1e30f, 1, 255) == 0);
    CHECK(q(fm::from_bits(0x80000001), 1e30f, 9) == 9); // a subnormal reads as +0
    // Against round-half-even of the same binary32 product in double (nearbyint: the default mode).
    std::mt19937 rng(7);
    for (int i = 0; i < 200000; ++i) {
        const float inv = std::ldexp(1.0f + float(rng() % 4096) / 4096.0f, int(rng() % 12) - 6);
        const uint8_t zp = uint8_t(rng());
        const float x = std::uniform_real_distribution<float>(-300.0f, 300.0f)(rng) / inv;
        const double t = std::nearbyint(double(fm::mul(x, inv))) + zp;
        REQUIRE(int(fm::quantize(x, inv, zp)) == int(std::clamp(t, 0.0, 255.0)));
    }
    // dequantize is one rounding of the exact (q - zp) * scale: exact for a 16-bit scale.
    for (int qv = 0; qv < 256; ++qv)
        CHECK(double(fm::dequantize(uint8_t(qv), 128, 0.0625f)) == (qv - 128) * 0.0625);
}

TEST_CASE("FCONVERT, GELU, LAYERNORM parameters: declared types, check 7 and descriptions") {
    const OpDef* conv = op_def(uint8_t(Opcode::FCONVERT));
    const Instruction to16 = fins(Opcode::FCONVERT, encode_params(FUnaryParams{{1, 0, 2, 0}}));
    CHECK(check_params(to16, 4).empty());
    CHECK(describe_params(to16) == "a:f32 c:f16");
    CHECK(conv->operand_types(conv->decode(to16)) == std::array<DType, 3>{DType::F32, DType::U8, DType::F16});
    CHECK(check_params(fins(Opcode::FCONVERT, {{2, 0, 1, 0}}), 4).empty());
    CHECK(
        check_params(fins(Opcode::FCONVERT, {{2, 0, 2, 0}}), 4) ==
        "parameter pixel P1 at (1,0): operand c is declared f16 (code 2); FCONVERT accepts only f32 (code 1) "
        "there");
    CHECK(
        check_params(fins(Opcode::FCONVERT, {{1, 0, 1, 0}}), 4) ==
        "parameter pixel P1 at (1,0): operand c is declared f32 (code 1); FCONVERT accepts only f16 (code 2) "
        "there");
    CHECK(check_params(fins(Opcode::GELU, {{1, 0, 1, 0}}), 4).empty());
    CHECK(check_params(fins(Opcode::GELU, {{1, 1, 1, 0}}), 4) ==
          "parameter pixel P1 at (1,0): operand b is declared f32 (code 1); GELU accepts only u8 (code 0) "
          "there");

    LayerNormParams ln;
    ln.bias_row = 7;
    const Instruction ins = fins(Opcode::LAYERNORM, encode_params(ln));
    CHECK(describe_params(ins) == "a:f32 b:f32 c:f32 bias=row 7 (f32) eps=0x3727C5AC (9.99999975e-06)");
    CHECK(param_rows(ins) == std::vector<uint32_t>{7});
    CHECK(check_params(ins, 8).empty());
    CHECK(check_params(ins, 7) == "parameter pixel P2 at (2,0): bias row 7 is outside data rows 1..6");
    for (uint32_t eps : {0x80000000u, 0x00000001u, 0x00800000u, 0xB727C5ACu, 0x7F800000u, 0x7FC00001u}) {
        ln.eps_bits = eps;
        const std::string e = check_params(fins(Opcode::LAYERNORM, encode_params(ln)), 8);
        CHECK_MESSAGE(e.rfind("parameter pixel P3 at (3,0): epsilon 0x", 0) == 0, e);
    }
    ln.eps_bits = 0;
    CHECK(check_params(fins(Opcode::LAYERNORM, encode_params(ln)), 8).empty());
    ln.reserved = 1;
    CHECK(check_params(fins(Opcode::LAYERNORM, encode_params(ln)), 8) ==
          "parameter pixel P2 at (2,0): reserved channel B is 1, must be 0");
}

TEST_CASE("f16 operands: the fit checks count ceil(n/2) pixels and the traps say so") {
    // Width 4: 3 element pixels per row. A 1x7 matrix is 4 pixels as f16 (rows 2..3), 7 as f32
    // (rows 2..4).
    Image img = make_image(4, 4);
    img.set_pixel(0, 2, encode_header({7, 1}));
    img.set_pixel(0, 0, {uint8_t(Opcode::FCONVERT), 2, 0, 1});
    img.set_pixel(1, 0, {2, 0, 1, 0}); // f16 -> f32 into row 1: 7 pixels, rows 1..3, fits
    auto planned = plan_instruction(image_fetch(img), img.width, img.height, 0);
    REQUIRE(std::holds_alternative<Plan>(planned));
    const Plan& plan = std::get<Plan>(planned);
    CHECK(plan.dtype == std::array<DType, 3>{DType::F16, DType::U8, DType::F32});
    img.set_pixel(1, 0, {1, 0, 2, 0}); // read as f32: 7 pixels from row 2 do not fit
    planned = plan_instruction(image_fetch(img), img.width, img.height, 0);
    REQUIRE(std::holds_alternative<Trap>(planned));
    Trap t = std::get<Trap>(planned);
    CHECK(t.code == TrapCode::MATRIX_OVERFLOW);
    CHECK((t.x == 0 && t.y == 2));
    CHECK(t.message == "FCONVERT operand a: matrix at row 2 (1x7) needs rows 2..4, past the last row 3");
    // f16 -> f32 written at row 2 (7 pixels) does not fit; the message names the result.
    img.set_pixel(0, 0, {uint8_t(Opcode::FCONVERT), 2, 0, 2});
    img.set_pixel(1, 0, {2, 0, 1, 0});
    planned = plan_instruction(image_fetch(img), img.width, img.height, 0);
    REQUIRE(std::holds_alternative<Trap>(planned));
    t = std::get<Trap>(planned);
    CHECK(t.code == TrapCode::MATRIX_OVERFLOW);
    CHECK(t.message == "FCONVERT operand c: the 1x7 result at row 2 needs rows 2..4, past the last row 3");
    // An f16 result that does not fit either: 1x7 f32 at row 1 converted into row 3 (4 pixels, rows 3..4).
    img = make_image(4, 4);
    img.set_pixel(0, 1, encode_header({7, 1}));
    img.set_pixel(0, 0, {uint8_t(Opcode::FCONVERT), 1, 0, 3});
    img.set_pixel(1, 0, {1, 0, 2, 0});
    planned = plan_instruction(image_fetch(img), img.width, img.height, 0);
    REQUIRE(std::holds_alternative<Trap>(planned));
    t = std::get<Trap>(planned);
    CHECK((t.code == TrapCode::MATRIX_OVERFLOW && t.y == 3));
    CHECK(t.message == "FCONVERT operand c: the 1x7 f16 result at row 3 needs rows 3..4 (4 pixels of f16 "
                       "pairs), past the last "
                       "row 3");
    // Its written rectangles are the header and 2 pixels when it fits (1x4 f16 at row 3).
    img.set_pixel(0, 1, encode_header({4, 1}));
    planned = plan_instruction(image_fetch(img), img.width, img.height, 0);
    REQUIRE(std::holds_alternative<Plan>(planned));
    uint64_t written = 0;
    for (const Rect& r : std::get<Plan>(planned).writes)
        written += uint64_t(r.w) * r.h;
    CHECK(written == 3);
}
