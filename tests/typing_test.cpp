// Tests of engine/vm/typing: each opcode's operand and parameter-row types (OpDef::operand_types,
// param_row_types), the per-row types of a program and their conflicts, and how debug symbols
// declare a type (the validator's "type-conflict" warning is in validate_test.cpp).
#include "debuginfo.h"
#include "fmath.h"
#include "ops/op_params.h"
#include "ops/opdef.h"
#include "test_util.h"
#include "typing.h"
#include "vm.h"

#include <doctest/doctest.h>

using namespace px;
using namespace pxtest;

namespace {

Instruction decoded(const Image& img, uint32_t pc) {
    return decode(image_fetch(img), img.width, pc).ins;
}

// FMATMUL 1, 2, 3 with bias row 4 and ReLU at pc 0; QMATMUL32 3, 5, 6 with bias row 7 at pc 3;
// HALT at pc 6. Row 3 is written as f32 and then read as u8: a conflict.
Image mixed_program() {
    Image img = make_image(12, 8);
    put_ins(img, 0, Opcode::FMATMUL, 1, 2, 3);
    img.set_pixel(1, 0, encode_params(FMatmulParams{})[0]);
    FMatmulParams p;
    p.bias_row = 4, p.activation = 1;
    img.set_pixel(2, 0, encode_params(p)[1]);
    put_ins(img, 3, Opcode::QMATMUL32, 3, 5, 6);
    const auto q = encode_params(QMatmul32Params{0, 0, 7});
    img.set_pixel(4, 0, q[0]);
    img.set_pixel(5, 0, q[1]);
    put_ins(img, 6, Opcode::HALT);
    return img;
}

} // namespace

TEST_CASE("operand and parameter-row types come from the opcode definitions") {
    const Image img = mixed_program();
    const Instruction f = decoded(img, 0);
    CHECK(operand_types(f) == std::array<DType, 3>{DType::F32, DType::F32, DType::F32});
    CHECK(param_rows(f) == std::vector<uint32_t>{4});
    CHECK(param_row_types(f) == std::vector<DType>{DType::F32});
    const Instruction q = decoded(img, 3);
    CHECK(operand_types(q) == std::array<DType, 3>{DType::U8, DType::U8, DType::I32});
    CHECK(param_row_types(q) == std::vector<DType>{DType::I32});
    // QMATMUL: u8 operands, an int32 bias.
    Image qm = make_image(8, 4);
    put_ins(qm, 0, Opcode::QMATMUL, 1, 2, 3);
    QMatmulParams qp;
    qp.bias_row = 2;
    const auto enc = encode_params(qp);
    for (size_t k = 0; k < enc.size(); ++k)
        qm.set_pixel(1 + uint32_t(k), 0, enc[k]);
    const Instruction qi = decoded(qm, 0);
    CHECK(operand_types(qi) == std::array<DType, 3>{DType::U8, DType::U8, DType::U8});
    CHECK(param_row_types(qi) == std::vector<DType>{DType::I32});
    // No bias: no parameter rows, no types.
    CHECK(param_row_types(decoded(make_image(4, 2), 0)).empty()); // HALT
}

TEST_CASE("matrix_types: each row's first use, and a row used as two types is a conflict naming both") {
    const Image img = mixed_program();
    const std::vector<Instruction> program = program_instructions(img);
    REQUIRE(program.size() == 3); // FMATMUL, QMATMUL32, HALT
    const MatrixTypes t = matrix_types(program);
    CHECK(t.of(1) == DType::F32);
    CHECK(t.of(2) == DType::F32);
    CHECK(t.of(3) == DType::F32); // FMATMUL's c first
    CHECK(t.of(4) == DType::F32); // the bias
    CHECK(t.of(5) == DType::U8);
    CHECK(t.of(6) == DType::I32);
    CHECK(t.of(7) == DType::I32);
    CHECK(!t.of(0).has_value());
    REQUIRE(t.conflicts.size() == 1);
    const auto& c = t.conflicts[0];
    CHECK(c.first.row == 3);
    CHECK(type_use_text(c.first) == "f32 by FMATMUL at pixel (0,0) (operand c)");
    CHECK(type_use_text(c.other) == "u8 by QMATMUL32 at pixel (3,0) (operand a)");
    // A row used twice with the same type is no conflict; uses after HALT do not count.
    Image same = make_image(8, 4);
    put_ins(same, 0, Opcode::ADD, 1, 2, 3);
    put_ins(same, 1, Opcode::MATMUL, 3, 2, 1);
    put_ins(same, 2, Opcode::HALT);
    put_ins(same, 3, Opcode::FADD, 1, 1, 1);
    same.set_pixel(4, 0, {1, 1, 1, 0});
    CHECK(matrix_types(program_instructions(same)).conflicts.empty());
    CHECK(matrix_types(program_instructions(same)).of(1) == DType::U8);
}

TEST_CASE("regions take their type from the instructions, or from symbols that declare one") {
    Image img = mixed_program();
    // Inferred regions: the instructions' types.
    for (const Region& r : program_regions(img)) {
        INFO(r.name);
        const DType want = r.row <= 4 ? DType::F32 : r.row == 5 ? DType::U8 : DType::I32;
        CHECK(r.type() == want);
    }
    // Symbols: a declared dtype wins (row 5 declared f16); undeclared rows are filled in.
    DebugInfo info;
    Region a;
    a.name = "x", a.row = 1, a.shape = {2, 1};
    Region h;
    h.name = "h", h.row = 5, h.shape = {5, 1}, h.dtype = DType::F16;
    info.regions = {a, h};
    write_debug_info(img, info);
    auto back = read_debug_info(img);
    REQUIRE(back.ok());
    CHECK(!back->regions[0].dtype.has_value());
    CHECK(back->regions[1].dtype == DType::F16);
    const std::vector<Region> regions = program_regions(img);
    REQUIRE(regions.size() == 2);
    CHECK(regions[0].type() == DType::F32);
    CHECK(regions[1].type() == DType::F16);
    // An f16 region of 5 elements covers 3 element pixels: (1..3, 5), not (4, 5).
    CHECK(region_at(regions, img, 3, 5) == &regions[1]);
    CHECK(region_at(regions, img, 4, 5) == nullptr);
    // A dtype that is not one is an error naming the region.
    set_text(img, "pxos.symbols",
             R"({"version": 1, "regions": [{"name": "x", "row": 1, "rows": 1, "cols": 2, "dtype": "f64"}]})");
    auto bad = read_debug_info(img);
    REQUIRE(!bad.ok());
    CHECK(bad.error().message.find("region 0: \"dtype\" must be one of") != std::string::npos);
}
