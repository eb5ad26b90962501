// The float opcodes' definitions (engine/ops/float_ops.h, fmatmul.cpp): parameter decoding, the
// BAD_PARAM messages of check 7, the descriptions tools show, the activations on hostile values,
// and the traps through plan_instruction. The arithmetic is checked byte for byte by the vectors
// (tests/vectors/float_*.json, from the independent NumPy model) on every executor.
#include "fmath.h"
#include "ops/float_ops.h"
#include "vm.h"

#include <doctest/doctest.h>

using namespace px;

namespace {
Instruction fins(Opcode op, std::vector<Rgba> params) {
    Instruction ins;
    ins.opcode = uint8_t(op);
    ins.info = opcode_info(ins.opcode);
    ins.param_count = uint32_t(params.size());
    std::copy(params.begin(), params.end(), ins.params.begin());
    return ins;
}
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
