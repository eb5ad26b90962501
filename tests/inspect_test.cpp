// Tests of engine/inspect: row-0 listing, pixel meanings (labels and text), element types and typed
// reads, hashes, comparisons.
#include "inspect.h"
#include "png_io.h"
#include "test_util.h"
#include "trace.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

using namespace px;
using namespace pxtest;

namespace {

// MATMUL m1 (1x2) x m2 (2x3) -> m4, then a WIDE-prefixed ADD, then HALT, in a 6-wide image.
Image sample() {
    Image img = make_image(6, 8);
    put_matrix(img, 1, 1, 2, {7, 9});
    put_matrix(img, 2, 2, 3, {1, 2, 3, 4, 5, 6});
    put_ins(img, 0, Opcode::MATMUL, 1, 2, 4);
    img.set_pixel(1, 0, {kWidePrefix, 0, 0, 0});
    put_ins(img, 2, Opcode::ADD, 4, 4, 5);
    put_ins(img, 3, Opcode::HALT);
    img.set_pixel(4, 0, {200, 1, 2, 3}); // an unknown opcode after HALT
    return img;
}

} // namespace

TEST_CASE("decode_row0 follows instruction lengths and maps every pixel to its instruction") {
    const Image img = sample();
    const Row0Listing l = decode_row0(img);
    REQUIRE(l.instructions.size() == 5); // MATMUL, WIDE ADD, HALT, unknown, HALT
    CHECK(l.instructions[1].ins.wide);
    CHECK(l.instructions[1].ins.pc == 1);
    CHECK(l.owner == std::vector<uint32_t>{0, 1, 1, 2, 3, 4});
    CHECK(l.index_at_pc(1) == 1);
    CHECK(l.index_at_pc(2) == -1); // the opcode pixel after a prefix is not an instruction start
    CHECK(l.instructions[3].ins.info == nullptr);
}

TEST_CASE("describe_pixel names instructions, headers and elements from the table and regions") {
    const Image img = sample();
    std::vector<Region> regions = {{"x", 1, {2, 1}}, {"W", 2, {3, 2}, 0.5, 10}};
    const Row0Listing l = decode_row0(img);

    PixelMeaning m = describe_pixel(img, regions, l, 0, 0);
    CHECK(m.role == PixelRole::Opcode);
    CHECK(m.label == "MATMUL");
    CHECK(m.text.find("a = x (1x2") != std::string::npos);
    CHECK(m.text.find("b = W (2x3") != std::string::npos);
    CHECK(m.text.find("c = row 4") != std::string::npos);

    CHECK(describe_pixel(img, regions, l, 1, 0).role == PixelRole::WidePrefix);
    m = describe_pixel(img, regions, l, 2, 0);
    CHECK(m.role == PixelRole::Opcode);
    CHECK(m.label == "ADD");
    CHECK(m.instruction == 1);
    CHECK(describe_pixel(img, regions, l, 4, 0).text.find("unknown opcode 200") != std::string::npos);

    m = describe_pixel(img, regions, l, 0, 2);
    CHECK(m.role == PixelRole::Header);
    CHECK(m.label == "2x3");
    CHECK(m.region == &regions[1]);

    // W is 2x3 in a 6-wide image (5 elements a row): element 5 = [1, 2] wraps to (1, 3).
    m = describe_pixel(img, regions, l, 1, 3);
    CHECK(m.role == PixelRole::Element);
    CHECK(m.m == 1);
    CHECK(m.n == 2);
    CHECK(m.label == "6");
    CHECK(m.text.find("element [1, 2] of matrix W (2x3, u8) = 6") != std::string::npos);
    CHECK(m.text.find("dequantized: -2") != std::string::npos); // 0.5 * (6 - 10)

    m = describe_pixel(img, regions, l, 5, 6);
    CHECK(m.role == PixelRole::Other);
    CHECK(m.label == "00000000");

    // The label-only variant agrees on role and label and builds no text.
    const PixelMeaning lbl = describe_pixel_label(img, regions, l, 1, 3);
    CHECK(lbl.label == "6");
    CHECK(lbl.text.empty());
}

TEST_CASE("scalar outputs are described from the operand kind") {
    Image img = make_image(4, 4);
    put_matrix(img, 1, 1, 2, {2, 3});
    put_ins(img, 0, Opcode::DOT, 1, 1, 3);
    img.set_pixel(0, 3, {0x10, 0x01, 0, 0});
    const PixelMeaning m = describe_pixel(img, program_regions(img), 0, 3);
    CHECK(m.role == PixelRole::Scalar);
    CHECK(m.label == "272");
}

TEST_CASE("hash_hex and diff_images: every differing pixel counted, the first one found") {
    Image a = sample(), b = sample();
    CHECK(rgba_hash(a) == rgba_hash(b));
    CHECK(hash_hex(rgba_hash(a)).size() == 16);
    b.at(3, 5)[2] = 1;
    b.at(4, 6)[0] = 9;
    CHECK(rgba_hash(a) != rgba_hash(b));
    const PixelDiff d = diff_images(a, b);
    CHECK(d.count == 2);
    CHECK(d.first_x == 3);
    CHECK(d.first_y == 5);
    CHECK(diff_images(a, make_image(6, 9)).count == 54);
    const Rect r{2, 5, 3, 2};
    const PixelPatch p = copy_patch(b, r);
    CHECK(diff_rect(a, r, p.rgba.data()).count == 2);
    CHECK(diff_rect(b, r, p.rgba.data()).count == 0);
}

namespace {

// QMATMUL32 a (1x2) x b (2x1) + bias -> c, in a 6x5 image: every number chosen by hand.
//   acc = bias + (a0 - za)(b0 - zb) + (a1 - za)(b1 - zb) = -100 + (0-1)(2-2) + (5-1)(0-2) = -108
Image qmatmul32_sample() {
    Image img = make_image(6, 5);
    put_matrix(img, 1, 1, 2, {0, 5});
    put_matrix(img, 2, 2, 1, {2, 0});
    img.set_pixel(0, 4, {1, 0, 1, 0}); // bias header: 1x1 (cols = R + 256 G, rows = B + 256 A)
    const uint32_t bias = uint32_t(-100);
    img.set_pixel(1, 4, {uint8_t(bias), uint8_t(bias >> 8), uint8_t(bias >> 16), uint8_t(bias >> 24)});
    put_ins(img, 0, Opcode::QMATMUL32, 1, 2, 3);
    img.set_pixel(1, 0, {1, 2, 0, 0}); // P1 = (za, zb)
    img.set_pixel(2, 0, {4, 0, 0, 0}); // P2 = bias row 4
    put_ins(img, 3, Opcode::HALT);
    return img;
}

} // namespace

TEST_CASE("element types: QMATMUL32 outputs and bias rows are int32, everything else uint8") {
    const Image img = qmatmul32_sample();
    const Row0Listing l = decode_row0(img);
    CHECK(element_type(l, 1) == DType::U8);
    CHECK(element_type(l, 2) == DType::U8);
    CHECK(element_type(l, 3) == DType::I32);
    CHECK(element_type(l, 4) == DType::I32);
}

TEST_CASE("typed reads show int32 pixels whole: value, label, text and real value (issue 12 bug 4)") {
    VmState vm = make_vm(qmatmul32_sample());
    (void)run(vm);
    REQUIRE(vm.status == VmStatus::Halted);
    Region c{"c", 3, {1, 1}, 0.25, 0};
    auto typed = read_typed_matrix(vm.image, 3, element_type(decode_row0(vm.image), 3), &c);
    REQUIRE(typed);
    CHECK(typed->type == DType::I32);
    REQUIRE(typed->stored.size() == 1);
    CHECK(typed->stored[0] == -108);                  // by hand above; the R byte would read 148
    CHECK(typed->real == std::vector<double>{-27.0}); // 0.25 * (-108 - 0)
    const std::vector<Region> regions = {c};
    const PixelMeaning m = describe_pixel(vm.image, regions, 1, 3);
    CHECK(m.role == PixelRole::Element);
    CHECK(m.type == DType::I32);
    CHECK(m.label == "-108");
    CHECK(m.real == -27.0);
    CHECK(m.text.find("= -108 (int32, whole pixel)") != std::string::npos);
    CHECK(m.text.find("(1x1, i32)") != std::string::npos);
    // A uint8 matrix still reads its R byte.
    auto a = read_typed_matrix(vm.image, 1, DType::U8);
    REQUIRE(a);
    CHECK(a->stored == std::vector<double>{0, 5});
    CHECK(a->real.empty());
    CHECK(!read_typed_matrix(vm.image, 0, DType::U8)); // row 0 is no matrix
}

TEST_CASE("Pixel-LLM: logits and the biases are int32; typed logits equal the pixels' bytes read as int32") {
    auto loaded = load_png(source_path("assets/pixellm.pxi"));
    REQUIRE(loaded);
    VmState vm = make_vm(loaded->image);
    (void)run(vm);
    REQUIRE(vm.status == VmStatus::Halted);
    const std::vector<Region> regions = program_regions(vm.image);
    const Row0Listing l = decode_row0(vm.image);
    const Region* logits = nullptr;
    for (const Region& r : regions) {
        if (r.name == "logits") logits = &r;
        // QMATMUL32 writes logits; b_hidden (QMATMUL) and b_out (QMATMUL32) are int32 biases (PROTOCOL.md
        // §5.5).
        const bool wide = r.name == "logits" || r.name == "b_out" || r.name == "b_hidden";
        CHECK_MESSAGE(element_type(l, r.row) == (wide ? DType::I32 : DType::U8), r.name);
    }
    REQUIRE(logits);
    auto typed = read_typed_matrix(vm.image, logits->row, DType::I32, logits);
    REQUIRE(typed);
    const uint32_t W = vm.image.width;
    for (uint64_t i = 0; i < typed->stored.size(); ++i) {
        const uint8_t* p = vm.image.at(element_x(i, W), uint32_t(element_y(i, logits->row, W)));
        int32_t v;
        std::memcpy(&v, p, 4); // little-endian host: the pixel's bytes as they lie
        REQUIRE(typed->stored[i] == v);
        REQUIRE(typed->real[i] == *logits->scale * double(v));
    }
}

namespace {
uint32_t bits_of(float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4); // independent of engine/numeric: the host's own float32 bits
    return b;
}
uint16_t half_bits(_Float16 h) {
    uint16_t b;
    std::memcpy(&b, &h, 2); // the compiler's own float16 conversion
    return b;
}
Rgba word(uint32_t w) {
    return {uint8_t(w), uint8_t(w >> 8), uint8_t(w >> 16), uint8_t(w >> 24)};
}
} // namespace

TEST_CASE("float elements: f32 values, NaN and infinities spelled out, f16 two per pixel (issue 13)") {
    // FADD x, x, y: x and y are f32 (P1); h is an f16 matrix the symbols declare.
    Image img = make_image(6, 5);
    img.set_pixel(0, 1, encode_header({4, 1}));
    const float xs[4] = {1.5f, std::nanf(""), -INFINITY, 1e-40f};
    for (uint32_t i = 0; i < 4; ++i)
        img.set_pixel(1 + i, 1, word(bits_of(xs[i])));
    img.set_pixel(0, 2, encode_header({4, 1}));
    img.set_pixel(0, 3, encode_header({3, 1})); // h: 3 f16 elements in 2 pixels
    const _Float16 hs[3] = {_Float16(-2.5f), _Float16(INFINITY), _Float16(0.099975586f)};
    img.set_pixel(1, 3, word(uint32_t(half_bits(hs[0])) | uint32_t(half_bits(hs[1])) << 16));
    img.set_pixel(2, 3, word(half_bits(hs[2])));
    put_ins(img, 0, Opcode::FADD, 1, 1, 2);
    img.set_pixel(1, 0, {1, 1, 1, 0});
    put_ins(img, 2, Opcode::HALT);
    DebugInfo info;
    info.regions = {Region{"x", 1, {4, 1}}, Region{"y", 2, {4, 1}}, Region{"h", 3, {3, 1}}};
    info.regions[2].dtype = DType::F16;
    write_debug_info(img, info);
    const std::vector<Region> regions = program_regions(img);
    const Row0Listing l = decode_row0(img);
    CHECK(element_type(l, 1, &regions[0]) == DType::F32);
    CHECK(element_type(l, 2, &regions[1]) == DType::F32);
    CHECK(element_type(l, 3, &regions[2]) == DType::F16);

    PixelMeaning m = describe_pixel(img, regions, 1, 1);
    CHECK(m.type == DType::F32);
    CHECK(m.value == 1.5);
    CHECK(m.label == "1.5");
    CHECK(m.text.find("element [0, 0] of matrix x (1x4, f32) = 1.5  [0x3FC00000 = 1.5]") !=
          std::string::npos);
    m = describe_pixel(img, regions, 2, 1);
    CHECK(std::isnan(m.value));
    CHECK(m.label == "NaN");
    CHECK(m.text.find("= NaN") != std::string::npos);
    CHECK(m.text.find("NOT A NUMBER") != std::string::npos);
    m = describe_pixel(img, regions, 3, 1);
    CHECK(m.value == -INFINITY);
    CHECK(m.label == "-inf");
    CHECK(m.text.find("INFINITE") != std::string::npos);
    m = describe_pixel(img, regions, 4, 1); // a subnormal: as stored, and what opcodes read
    CHECK(m.value == double(1e-40f));
    CHECK(m.text.find("(reads as 0)") != std::string::npos);

    // f16: pixel (1, 3) holds h[0] and h[1]; pixel (2, 3) holds h[2] alone.
    m = describe_pixel(img, regions, 1, 3);
    CHECK(m.type == DType::F16);
    CHECK(m.element == 0);
    CHECK(m.elements_here == 2);
    CHECK(m.value == double(float(hs[0])));
    CHECK(m.value2 == INFINITY);
    CHECK(m.text.find("element [0, 0] of matrix h (1x3, f16) = -2.5") != std::string::npos);
    CHECK(m.text.find("element [0, 1] of matrix h (1x3, f16) = +inf") != std::string::npos);
    m = describe_pixel(img, regions, 2, 3);
    CHECK(m.element == 2);
    CHECK(m.elements_here == 1);
    CHECK(m.value == double(float(hs[2])));
    CHECK(describe_pixel(img, regions, 3, 3).role != PixelRole::Element); // past h's 2 pixels

    auto typed = read_typed_matrix(img, 3, DType::F16);
    REQUIRE(typed);
    REQUIRE(typed->stored.size() == 3);
    for (int i = 0; i < 3; ++i)
        CHECK(typed->stored[size_t(i)] == double(float(hs[i])));
    auto xf = read_typed_matrix(img, 1, DType::F32, &regions[0]);
    REQUIRE(xf);
    CHECK(xf->stored[0] == 1.5);
    CHECK(std::isnan(xf->stored[1]));
    CHECK(xf->real.empty()); // scale and zero point apply to codes, not floats
    CHECK(value_text(INFINITY, DType::F32) == "+inf");
    CHECK(value_text(0.1f, DType::F32) == "0.100000001");
    CHECK(value_text(double(float(hs[2])), DType::F16) == "0.099976");
    CHECK(value_text(-7, DType::I32) == "-7");
    // An f16 matrix that does not fit (11 elements need 6 pixels, two rows of this 6-wide image;
    // row 4 is the last): refused, naming the row.
    img.set_pixel(0, 4, encode_header({11, 1}));
    auto bad = read_typed_matrix(img, 4, DType::F16);
    REQUIRE(!bad);
    CHECK(bad.error().message.find("f16 matrix at row 4") != std::string::npos);
}
