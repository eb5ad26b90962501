// Tests of the .pxasm assembler and disassembler: layout, WIDE, data forms, errors naming
// file:line and token, and the round trip assemble(disassemble(img)) == img on random images.
#include "asm.h"
#include "npy.h"
#include "ops/opdef.h"
#include "protocol.h"
#include "test_util.h"

#include <cstdio>
#include <doctest/doctest.h>
#include <random>

using namespace px;
using namespace pxtest;

namespace {

Image must_assemble(const std::string& text) {
    auto r = assemble(text);
    if (!r) FAIL_CHECK(r.error().message);
    REQUIRE(r.ok());
    return r->image;
}

std::string must_fail(const std::string& text, const std::string& file = "t.pxasm") {
    AsmOptions o;
    o.file_name = file;
    auto r = assemble(text, o);
    REQUIRE_FALSE(r.ok());
    return r.error().message;
}

void check_round_trip(const Image& img) {
    const std::string text = disassemble(img);
    auto back = assemble(text);
    if (!back) FAIL(back.error().message << "\n" << text.substr(0, 2000));
    REQUIRE(back->image.width == img.width);
    REQUIRE(back->image.height == img.height);
    CHECK(back->image.rgba == img.rgba);
}

} // namespace

TEST_CASE("a small program assembles to the documented layout") {
    const std::string src = "; dot product\n"
                            "matrix a 1x3 [1, 2, 3]\n"
                            "matrix b 1x3 = [4 5 6]   # '=' optional, commas optional\n"
                            "scalar out\n"
                            "DOT a, b, out\n"
                            "halt\n";
    AsmOptions o;
    o.file_name = "dot.pxasm";
    auto r = assemble(src, o);
    REQUIRE(r.ok());
    const Image& img = r->image;
    CHECK(img.width == 16);
    CHECK(img.height == 4); // row 0, a, b, out
    CHECK(img.pixel(0, 0) == Rgba{1, 1, 2, 3});
    CHECK(img.pixel(1, 0) == Rgba{0, 0, 0, 0});
    CHECK(decode_header(img.pixel(0, 1)) == MatrixHeader{3, 1});
    CHECK(img.at(3, 2)[0] == 6);
    CHECK(img.pixel(0, 3) == Rgba{0, 0, 0, 0}); // a scalar reserves its row, writes nothing
    REQUIRE(find_text(img, std::string(kSourceKey)));
    CHECK(find_text(img, std::string(kSourceKey))->text == src);
    auto info = read_debug_info(img);
    REQUIRE(info.ok());
    REQUIRE(info->regions.size() == 3);
    CHECK(info->regions[2].name == "out");
    CHECK(info->regions[2].row == 3);
    CHECK(find_text(img, std::string(kSymbolsKey))->text.find("\"source_file\":\"dot.pxasm\"") !=
          std::string::npos);
    VmState vm = make_vm(img);
    run(vm);
    CHECK(vm.status == VmStatus::Halted);
    CHECK(vm.image.pixel(0, 3) == Rgba{32, 0, 0, 0});
}

TEST_CASE("default width is the smallest power of two >= 16 keeping matrices in rows 1..255") {
    CHECK(must_assemble("HALT").width == 16);
    // 300 one-row matrices do not fit below row 256 at any width: .width is needed.
    std::string many;
    for (int i = 0; i < 300; ++i)
        many += "matrix v" + std::to_string(i) + " 1x2 zeros\n";
    CHECK(must_fail(many).find("set .width") != std::string::npos);
    // 400 elements need 27 rows at width 16, 1 at width 512: width 16 still fits.
    CHECK(must_assemble("matrix v 1x400 zeros\nHALT").width == 16);
    // 20 instructions do not fit in 16 pixels.
    std::string code;
    for (int i = 0; i < 20; ++i)
        code += "HALT\n";
    CHECK(must_assemble(code).width == 32);
    // A matrix of 255*15+1 elements at width 16 would put the next header at row 257.
    CHECK(must_assemble("matrix big 1x3826 zeros\nmatrix x 1x1 zeros\nHALT").width == 32);
}

TEST_CASE("WIDE prefixes appear exactly when a row exceeds 255, or when .wide asks") {
    Image img = must_assemble(".width 16\nmatrix a 1x2 [1 2] @ row 300\nmatrix b 2x1 [3 4]\n"
                              "MATMUL a, b, 2\nRELU b\nRELU.wide b\nHALT");
    CHECK(img.height == 301);
    CHECK(img.pixel(0, 0) == Rgba{kWidePrefix, 1, 0, 0});
    CHECK(img.pixel(1, 0) == Rgba{4, 44, 1, 2});
    CHECK(img.pixel(2, 0) == Rgba{3, 1, 0, 0});
    CHECK(img.pixel(3, 0) == Rgba{kWidePrefix, 0, 0, 0});
    CHECK(img.pixel(4, 0) == Rgba{3, 1, 0, 0});
    CHECK(img.pixel(5, 0) == Rgba{0, 0, 0, 0});
    auto regions = program_regions(img);
    Decoded d = decode(image_fetch(img), img.width, 0);
    CHECK(disassemble_instruction(d.ins, regions) == "MATMUL.wide a, b, 2");
    check_round_trip(img);
}

TEST_CASE("random data is splitmix64, high byte, scaled by max") {
    // splitmix64 from state 0 first returns 0xe220a8397b1dcdaf, then 0x6e789e6aa1b965f4.
    Image img = must_assemble("matrix r 1x2 random 0\nHALT");
    CHECK(img.at(1, 1)[0] == 0xe2);
    CHECK(img.at(2, 1)[0] == 0x6e);
    Image small = must_assemble("matrix r 1x400 random 7 max 3\nHALT");
    auto v = read_matrix(small, 1);
    REQUIRE(v.ok());
    int seen[4] = {};
    for (uint8_t b : *v) {
        REQUIRE(b <= 3);
        seen[b]++;
    }
    for (int k = 0; k < 4; ++k)
        CHECK(seen[k] > 50);
    // max 0xe2's scaling: ((0xe220a839 * 4) >> 32) == 3.
    Image one = must_assemble("matrix r 1x1 random 0 max 3\nHALT");
    CHECK(one.at(1, 1)[0] == 3);
    Image fill = must_assemble("matrix f 2x2 fill 9\nHALT");
    CHECK(fill.at(4, 1)[0] == 9);
}

TEST_CASE("npy data is read relative to base_dir and must match the shape") {
    const std::string dir = PXOS_BINARY_DIR;
    REQUIRE(write_npy(make_npy_u8({2, 2}, {1, 2, 3, 4}), dir + "/asm_test_w.npy").ok());
    AsmOptions o;
    o.base_dir = dir;
    auto r = assemble("matrix w 2x2 npy \"asm_test_w.npy\"\nHALT", o);
    REQUIRE(r.ok());
    CHECK(r->image.at(4, 1)[0] == 4);
    auto bad = assemble("matrix w 1x4 npy \"asm_test_w.npy\"\nHALT", o);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("does not match") != std::string::npos);
    auto missing = assemble("matrix w 1x4 npy \"nope.npy\"\nHALT", o);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message.find("nope.npy") != std::string::npos);
    std::remove((dir + "/asm_test_w.npy").c_str());
}

TEST_CASE("errors name file:line and the token") {
    CHECK(must_fail("HALT\nFROB a, b") == "t.pxasm:2: unknown mnemonic at 'FROB'");
    CHECK(must_fail("matrix a 1x2 [1 2]\nADD a, b, a") == "t.pxasm:2: undefined name 'b'");
    CHECK(must_fail("matrix a 1x2 [1 2 3]").find("t.pxasm:1: matrix 'a' is 1x2 but has 3 values") == 0);
    CHECK(must_fail("matrix a 1x2 [1 256]") == "t.pxasm:1: value out of range 0..255 at '256'");
    CHECK(must_fail("matrix a 0x2 zeros") == "t.pxasm:1: shape dimensions must be 1..65535 at '0x2'");
    CHECK(must_fail("matrix a 2 zeros") == "t.pxasm:1: expected a shape ROWSxCOLS at '2'");
    CHECK(must_fail("matrix a 1x2 [1 2\n3") == "t.pxasm:1: '[' of matrix 'a' is not closed with ']'");
    // A list left open is reported at its '[', not at the statement that follows it.
    CHECK(must_fail("matrix a 1x2 [1 2\nHALT") ==
          "t.pxasm:1: '[' of matrix 'a' is not closed with ']' (line 2 starts 'HALT')");
    CHECK(must_fail("ADD 1, 2") == "t.pxasm:1: ADD takes 3 operands, found 2 at end of line");
    CHECK(must_fail("QMATMUL 1, 2, [0, 0, 0, 1]") == "t.pxasm:1: QMATMUL takes 3 operands, found 2 at '['");
    CHECK(must_fail("RELU 1 2") ==
          "t.pxasm:1: RELU takes 1 operand and no parameter pixels; unexpected token at '2'");
    CHECK(must_fail("HALT 1") ==
          "t.pxasm:1: HALT takes 0 operands and no parameter pixels; unexpected token at '1'");
    CHECK(must_fail(".widht 3") == "t.pxasm:1: unknown directive at '.widht'");
    CHECK(must_fail(".width 2\nHALT\nHALT\nHALT").find("t.pxasm:1: the instructions need 3 pixels") == 0);
    CHECK(must_fail("matrix a 1x1 zeros\nmatrix a 1x1 zeros") == "t.pxasm:2: 'a' is declared twice");
    CHECK(must_fail(".pixel 1, 2, 3") == "t.pxasm:1: expected ',' at end of line");
    CHECK(must_fail("MATMUL.fast 1, 2, 3") == "t.pxasm:1: unknown suffix (only .wide) at 'MATMUL.fast'");
    CHECK(must_fail(".width 1\nmatrix a 1x1 zeros").find("at least 2 pixels wide") != std::string::npos);
    CHECK(must_fail(".height 2\nmatrix a 2x20 zeros").find(".height 2 is less than") != std::string::npos);
    CHECK(must_fail("RELU 70000") == "t.pxasm:1: row out of range 0..65535 at '70000'");
    CHECK(must_fail(".hex 0, 1 abc") == "t.pxasm:1: hex pixels need 8 digits each at 'abc'");
    CHECK(must_fail("matrix s \"x\"").find("expected a shape") != std::string::npos);
    CHECK(must_fail("matrix a 1x1 [1] junk") == "t.pxasm:1: unexpected token at 'junk'");
}

TEST_CASE("raw pixels: .pixel in row 0, .rgba and .hex anywhere") {
    Image img = must_assemble(
        ".width 4\n.pixel 99, 1, 2, 3\nHALT\n.rgba 3, 2, 9, 8, 7, 6\n.hex 1, 1 0102030405060708");
    CHECK(img.width == 4);
    CHECK(img.height == 3);
    CHECK(img.pixel(0, 0) == Rgba{99, 1, 2, 3});
    CHECK(img.pixel(3, 2) == Rgba{9, 8, 7, 6});
    CHECK(img.pixel(2, 1) == Rgba{5, 6, 7, 8});
    CHECK(must_fail(".width 4\n.hex 3, 1 0102030405060708").find("outside width 4") != std::string::npos);
}

TEST_CASE("disassemble reproduces random images exactly") {
    std::mt19937 rng(1234);
    for (int iter = 0; iter < 200; ++iter) {
        const uint32_t w = 1 + rng() % 40, h = 1 + rng() % 12;
        Image img = make_image(w, h);
        const int mode = iter % 4;
        for (auto& b : img.rgba) {
            if (mode == 0)
                b = uint8_t(rng()); // noise
            else if (mode == 1)
                b = (rng() % 4 == 0) ? uint8_t(rng()) : 0; // sparse noise
            else
                b = uint8_t(rng() % 8); // small values: valid-ish opcodes, rows
        }
        if (mode == 3 && w >= 2) { // plausible programs: real headers and opcodes
            for (uint32_t r = 1; r < h; ++r)
                img.set_pixel(0, r, encode_header({uint32_t(1 + rng() % 3), uint32_t(1 + rng() % 2)}));
            for (uint32_t x = 0; x < w; ++x) {
                uint8_t* p = img.at(x, 0);
                p[0] = uint8_t(rng() % 6 == 0 ? kWidePrefix : rng() % 12); // includes the quantized opcodes
                for (int c = 1; c < 4; ++c)
                    p[c] = uint8_t(rng() % (h + 1));
            }
        }
        CAPTURE(iter);
        check_round_trip(img);
    }
}

TEST_CASE("disassemble(assemble(x)) is stable and keeps names") {
    const std::string src =
        ".width 16\nmatrix x 1x3 [1 2 3]\nmatrix W 3x2 random 5 max 3\nmatrix y 1x2 zeros\n"
        "matrix big 2x200 random 3 @ row 270 scale 0.25 zero_point 7\n"
        "MATMUL x, W, y\nRELU.wide y\nADD big, big, big\nHALT\n";
    Image img = must_assemble(src);
    const std::string d1 = disassemble(img);
    CHECK(d1.find("matrix W 3x2 @ row 2 [") != std::string::npos);
    CHECK(d1.find("matrix x 1x3 @ row 1 [1 2 3]\n") != std::string::npos);
    CHECK(d1.find("MATMUL x, W, y\n") != std::string::npos);
    CHECK(d1.find("RELU.wide y\n") != std::string::npos);
    CHECK(d1.find("ADD.wide big, big, big\n") != std::string::npos);
    CHECK(d1.find("scale 0.25 zero_point 7") != std::string::npos);
    CHECK(d1.find(".rgba") == std::string::npos); // nothing needs raw pixels
    Image img2 = must_assemble(d1);
    CHECK(img2.rgba == img.rgba);
    CHECK(disassemble(img2) == d1);
}

TEST_CASE("disassemble_instruction names operands, falls back to rows and shows unknown opcodes raw") {
    Instruction ins;
    ins.opcode = 4;
    ins.info = opcode_info(4);
    ins.wide = true;
    ins.operand = {1, 300, 7};
    std::vector<Region> regions(2);
    regions[0].name = "x";
    regions[0].row = 1;
    regions[1].name = "W_out";
    regions[1].row = 300;
    CHECK(disassemble_instruction(ins, regions) == "MATMUL.wide x, W_out, 7");
    ins.opcode = 3;
    ins.info = opcode_info(3);
    ins.wide = false;
    CHECK(disassemble_instruction(ins, regions) == "RELU x");
    ins.opcode = 77;
    ins.info = nullptr;
    ins.operand = {1, 2, 3};
    CHECK(disassemble_instruction(ins, regions) == ".pixel 77, 1, 2, 3");
}

TEST_CASE("parameter pixels are written after the opcode pixel, from [r, g, b, a] groups") {
    const OpcodeInfo* with_params = nullptr;
    for (const OpcodeInfo& info : kOpcodes)
        if (info.param_pixels > 0 && info.operands[1] == OperandKind::None &&
            info.operands[2] == OperandKind::None && !op_def(info.number)->param_channel_text)
            with_params =
                &info;        // one operand then parameters printed as numbers (QRELU), not a, c (FSOFTMAX)
    if (!with_params) return; // no such opcode in this table
    const std::string name(with_params->name);
    std::string groups;
    for (uint32_t k = 0; k < with_params->param_pixels; ++k)
        groups += ", [" + std::to_string(k + 1) + ", 0, 0, 0]";
    Image img = must_assemble("matrix h 1x2 [1 2]\n" + name + " h" + groups + "\nHALT");
    CHECK(img.pixel(0, 0) == Rgba{with_params->number, 1, 0, 0});
    for (uint32_t k = 0; k < with_params->param_pixels; ++k)
        CHECK(img.pixel(1 + k, 0) == Rgba{uint8_t(k + 1), 0, 0, 0});
    CHECK(img.pixel(1 + with_params->param_pixels, 0) == Rgba{0, 0, 0, 0});
    CHECK(disassemble(img).find(name + " h" + groups + "\n") != std::string::npos);
    check_round_trip(img);
    CHECK(must_fail("matrix h 1x2 [1 2]\n" + name + " h")
              .find(name + " takes " + std::to_string(with_params->param_pixels) + " parameter pixel") !=
          std::string::npos);
}

TEST_CASE("parameter pixel errors name the instruction and the counts expected and found") {
    CHECK(must_fail("matrix A 1x3 [1 2 3]\nQRELU A, [1,2,3]") ==
          "t.pxasm:2: QRELU parameter pixel 1 of 1 has 3 values; a parameter pixel is 4 channels [r, g, b, "
          "a] at '['");
    CHECK(must_fail("matrix A 1x3 [1 2 3]\nQRELU A, [1,2,3,4,5]") ==
          "t.pxasm:2: QRELU parameter pixel 1 of 1 has 5 values; a parameter pixel is 4 channels [r, g, b, "
          "a] at '['");
    CHECK(must_fail("matrix A 1x3 [1 2 3]\nQRELU A, [1,0,0,0], [2,0,0,0]") ==
          "t.pxasm:2: QRELU takes 1 parameter pixel, found 2 at '['");
    CHECK(must_fail("matrix A 1x3 [1 2 3]\nQRELU A, [1,0,0,0], [2,0,0,0], [3,0,0,0]") ==
          "t.pxasm:2: QRELU takes 1 parameter pixel, found 3 at '['");
    CHECK(must_fail("matrix A 1x1 [1]\nQMATMUL A, A, A, [1,0,0,0]") ==
          "t.pxasm:2: QMATMUL takes 3 parameter pixels, found 1 at end of line");
    CHECK(must_fail("matrix A 1x1 [1]\nQRELU A, A") ==
          "t.pxasm:2: QRELU takes 1 operand then 1 parameter pixel [r, g, b, a]; expected '[' at 'A'");
    CHECK(must_fail("matrix A 1x1 [1]\nQRELU A, [1,0,0,0") ==
          "t.pxasm:2: QRELU parameter pixel 1: '[' is not closed at '['");
}

TEST_CASE(
    "npy and random data are resolved after parsing: a syntax error anywhere wins over a missing file") {
    // Parsing touches no file: the missing .npy on line 1 is not reported, the syntax error is.
    CHECK(must_fail("matrix a 1x2 npy \"no-such-file.npy\"\nFROB") ==
          "t.pxasm:2: unknown mnemonic at 'FROB'");
    CHECK(must_fail("matrix a 1x2 npy \"no-such-file.npy\"\nHALT").rfind("t.pxasm:1: ", 0) == 0);
}

TEST_CASE("a program too tall at one width is laid out at a wider one") {
    // 65535x8 = 524280 elements need 34952 rows at width 16 and 16913 at width 32 (both over
    // 16384: layout_for's TooTall failure, so the search goes on), 8322 at width 64.
    Image img = must_assemble("matrix big 65535x8 zeros\nRELU big\nHALT");
    CHECK(img.width == 64);
    CHECK(img.height == 8323);
}

TEST_CASE("float parameters print and parse by name: dtypes and activations") {
    const std::string src = "matrix x 2x3 zeros\n"
                            "matrix w 3x2 zeros\n"
                            "matrix y 2x2 zeros\n"
                            "FMATMUL x, w, y, [f32, f32, f32, 0], [0, 0, gelu, 0]\n"
                            "HALT\n";
    const Image img = must_assemble(src);
    const Rgba p1 = img.pixel(1, 0), p2 = img.pixel(2, 0);
    CHECK(img.pixel(0, 0)[0] == uint8_t(Opcode::FMATMUL));
    CHECK(p1 == Rgba{1, 1, 1, 0});
    CHECK(p2 == Rgba{0, 0, 2, 0});
    const std::string text = disassemble(img);
    CHECK_MESSAGE(text.find("[f32, f32, f32, 0], [0, 0, gelu, 0]") != std::string::npos, text);
    check_round_trip(img);
    // Codes that are not names stay numbers and still round-trip; relu and none by name too.
    Image odd = img;
    odd.set_pixel(1, 0, {1, 9, 2, 0});
    odd.set_pixel(2, 0, {0, 0, 7, 0});
    const std::string odd_text = disassemble(odd);
    CHECK_MESSAGE(odd_text.find("[f32, 9, f16, 0], [0, 0, 7, 0]") != std::string::npos, odd_text);
    check_round_trip(odd);
    CHECK(must_assemble("FMATMUL 1, 1, 1, [u8, i32, none, 0], [0, 0, relu, 0]\n").pixel(1, 0) ==
          Rgba{0, 3, 0, 0});
    const std::string err = must_fail("FMATMUL 1, 1, 1, [f64, f32, f32, 0], [0, 0, 0, 0]\n");
    CHECK_MESSAGE(err.find("'f64'") != std::string::npos, err);
    CHECK_MESSAGE(err.find("t.pxasm:1") != std::string::npos, err);
}
