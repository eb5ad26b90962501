// Tests of the quantized opcodes (PROTOCOL.md §5.5) on the CPU interpreter, and of the offline
// quantizer. Expected bytes were computed independently of the C++: by hand for the rounding ties
// (noted beside them) and with a Python 3 script using exact integers and the formulas of §5.5
// (rq(x) = (x*M + 2^(s-1)) // 2^s, accumulator wrapped to int32), run once.
#include "quant.h"
#include "test_util.h"
#include "vm.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace px;
using namespace pxtest;

namespace {

constexpr int32_t kMaxM = 2147483647;

// Writes an instruction and its parameter pixels at x; returns the x after it.
uint32_t put_q(Image& img, uint32_t x, Opcode op, uint8_t a, uint8_t b, uint8_t c,
               const std::vector<Rgba>& params) {
    img.set_pixel(x, 0, {uint8_t(op), a, b, c});
    for (size_t i = 0; i < params.size(); ++i)
        img.set_pixel(x + 1 + uint32_t(i), 0, params[i]);
    return x + 1 + uint32_t(params.size());
}

void put_bias(Image& img, uint32_t row, const std::vector<int32_t>& bias) {
    img.set_pixel(0, row, encode_header({uint32_t(bias.size()), 1}));
    for (size_t i = 0; i < bias.size(); ++i)
        img.set_pixel(1 + uint32_t(i), row, i32_to_rgba(bias[i]));
}

std::vector<uint8_t> r_of(const Image& img, uint32_t row) {
    auto v = read_matrix(img, row);
    REQUIRE(v.ok());
    return v.value();
}

QMatmulParams qmm(uint8_t za, uint8_t zb, uint8_t zc, int32_t m, uint8_t shift, uint16_t bias_row = 0,
                  uint8_t lo = 0, uint8_t hi = 255) {
    QMatmulParams p;
    p.za = za, p.zb = zb, p.zc = zc, p.multiplier = m, p.shift = shift, p.bias_row = bias_row;
    p.clamp_lo = lo, p.clamp_hi = hi;
    return p;
}

QAddParams qad(uint8_t za, uint8_t zb, uint8_t zc, int32_t ma, int32_t mb, uint8_t shift, uint8_t lo = 0,
               uint8_t hi = 255) {
    QAddParams p;
    p.za = za, p.zb = zb, p.zc = zc, p.ma = ma, p.mb = mb, p.shift = shift, p.clamp_lo = lo, p.clamp_hi = hi;
    return p;
}

// Runs one QMATMUL a(row 1) @ b(row 2) -> c(row 3), bias optionally at row 4, and returns c.
std::vector<uint8_t> run_qmatmul(uint32_t m, uint32_t k, uint32_t n, const std::vector<uint8_t>& a,
                                 const std::vector<uint8_t>& b, QMatmulParams p,
                                 const std::vector<int32_t>& bias = {}) {
    Image img = make_image(16, 6);
    put_matrix(img, 1, m, k, a);
    put_matrix(img, 2, k, n, b);
    if (!bias.empty()) {
        put_bias(img, 4, bias);
        p.bias_row = 4;
    }
    put_q(img, 0, Opcode::QMATMUL, 1, 2, 3, encode_params(p));
    VmState vm = make_vm(img);
    step(vm);
    REQUIRE(vm.status == VmStatus::Ready);
    CHECK(vm.pc == 4);
    CHECK(decode_header(vm.image.pixel(0, 3)) == MatrixHeader{n, m});
    return r_of(vm.image, 3);
}

std::vector<uint8_t> run_qadd(uint32_t rows, uint32_t cols, const std::vector<uint8_t>& a, uint32_t brows,
                              const std::vector<uint8_t>& b, const QAddParams& p) {
    Image img = make_image(16, 5);
    put_matrix(img, 1, rows, cols, a);
    put_matrix(img, 2, brows, cols, b);
    put_q(img, 0, Opcode::QADD, 1, 2, 3, encode_params(p));
    VmState vm = make_vm(img);
    step(vm);
    REQUIRE(vm.status == VmStatus::Ready);
    CHECK(vm.pc == 5);
    return r_of(vm.image, 3);
}

using B = std::vector<uint8_t>;

} // namespace

TEST_CASE("QMATMUL rounds ties upwards, once, for both signs") {
    // a - za = (1, -1); b - zb = [[5, -5], [0, 0]]: acc = (5, -5). rq = floor((acc + 1) / 2):
    // 2.5 -> 3 and -2.5 -> -2 (by hand), plus zc = 100.
    CHECK(run_qmatmul(1, 2, 2, {11, 9}, {25, 15, 20, 20}, qmm(10, 20, 100, 1, 1)) == B{103, 98});
    // The same real multiplier 0.5 as M = 2^30, shift 31.
    CHECK(run_qmatmul(1, 2, 2, {11, 9}, {25, 15, 20, 20}, qmm(10, 20, 100, 1 << 30, 31)) == B{103, 98});
    // acc = (3, -3): 1.5 -> 2, -1.5 -> -1 (by hand).
    CHECK(run_qmatmul(1, 2, 2, {11, 9}, {23, 17, 20, 20}, qmm(10, 20, 100, 1, 1)) == B{102, 99});
}

TEST_CASE("QMATMUL with negative accumulators, saturation, fused ReLU and bias") {
    // acc = (-127*127 - 127*... ) saturates at 0 and 255 with multiplier 0.5 around zc = 128.
    CHECK(run_qmatmul(1, 2, 2, {0, 255}, {255, 0, 0, 255}, qmm(128, 128, 128, 1 << 30, 31)) == B{0, 255});
    // M = 1431655765 (about 2/3 * 2^31), shift 40.
    CHECK(run_qmatmul(2, 2, 3, {3, 7, 250, 1}, {9, 200, 40, 77, 0, 255}, qmm(5, 100, 60, 1431655765, 40)) ==
          B{60, 59, 61, 31, 92, 40});
    // Fused ReLU: clamp_lo = zc.
    CHECK(run_qmatmul(2, 2, 3, {3, 7, 250, 1}, {9, 200, 40, 77, 0, 255},
                      qmm(5, 100, 60, 1431655765, 40, 0, 60, 255)) == B{60, 60, 61, 60, 92, 60});
    CHECK(run_qmatmul(2, 2, 3, {3, 7, 250, 1}, {9, 200, 40, 77, 0, 255}, qmm(5, 100, 60, 1431655765, 40),
                      {-100000, 123456, 7}) == B{0, 220, 61, 0, 253, 40});
}

TEST_CASE("QMATMUL at the extreme multipliers and shifts") {
    // M = 0: every output is zc. M = 1, shift 62: every small accumulator rounds to 0.
    CHECK(run_qmatmul(1, 2, 2, {255, 0}, {255, 0, 255, 0}, qmm(0, 0, 42, 0, 1)) == B{42, 42});
    CHECK(run_qmatmul(1, 2, 2, {255, 0}, {255, 0, 255, 0}, qmm(0, 0, 42, 1, 62)) == B{42, 42});
    CHECK(run_qmatmul(1, 2, 2, {255, 255}, {255, 0, 255, 0}, qmm(0, 0, 7, kMaxM, 62)) == B{7, 7});
    // Largest M with shift 1: acc = 2 gives 2^31 - 1, saturating at 255.
    CHECK(run_qmatmul(1, 2, 2, {129, 127}, {129, 129, 127, 127}, qmm(128, 128, 100, kMaxM, 1)) ==
          B{255, 255});
    // Largest |acc| (bias 2^31-1 and -2^31) times the largest M: the product is within 2^62 of
    // the int64 limits. (2^31-1)^2 / 2^62 + 1/2 floors to 1; -2^31 (2^31-1) / 2^62 + 1/2 to -1.
    CHECK(run_qmatmul(1, 1, 2, {50}, {60, 60}, qmm(50, 60, 100, kMaxM, 62), {kMaxM, INT32_MIN}) ==
          B{101, 99});
    CHECK(run_qmatmul(1, 1, 2, {50}, {60, 60}, qmm(50, 60, 100, kMaxM, 31), {kMaxM, INT32_MIN}) == B{255, 0});
}

TEST_CASE("QMATMUL accumulates modulo 2^32") {
    // bias 2^31-1 plus 1*1 wraps to -2^31: rq gives -2^30, clamped to 0 (255 without the wrap).
    CHECK(run_qmatmul(1, 1, 1, {129}, {129}, qmm(128, 128, 128, 1, 1), {kMaxM}) == B{0});
}

TEST_CASE("QMATMUL32 writes whole int32 pixels, wrapping") {
    Image img = make_image(8, 6);
    put_matrix(img, 1, 2, 2, {3, 7, 250, 1});
    put_matrix(img, 2, 2, 3, {9, 200, 40, 77, 0, 255});
    put_bias(img, 4, {-100000, 123456, 7});
    QMatmul32Params p;
    p.za = 5, p.zb = 100, p.bias_row = 4;
    put_q(img, 0, Opcode::QMATMUL32, 1, 2, 3, encode_params(p));
    VmState vm = make_vm(img);
    step(vm);
    REQUIRE(vm.status == VmStatus::Ready);
    CHECK(vm.pc == 3);
    CHECK(decode_header(vm.image.pixel(0, 3)) == MatrixHeader{3, 2});
    const Rgba want[6] = {{232, 121, 254, 255}, {176, 224, 1, 0}, {181, 1, 0, 0},
                          {165, 34, 254, 255},  {132, 67, 2, 0},  {47, 196, 255, 255}};
    for (uint32_t i = 0; i < 6; ++i)
        CHECK(vm.image.pixel(1 + i % 7, 3 + i / 7) == want[i]);

    // Wrap both ways: 2^31-1 + 16385 and -2^31 - 16384.
    Image w = make_image(8, 5);
    put_matrix(w, 1, 1, 2, {129, 0});
    put_matrix(w, 2, 2, 2, {129, 0, 0, 255});
    put_bias(w, 4, {kMaxM, INT32_MIN});
    put_q(w, 0, Opcode::QMATMUL32, 1, 2, 3, encode_params(QMatmul32Params{128, 128, 4}));
    VmState wv = make_vm(w);
    step(wv);
    REQUIRE(wv.status == VmStatus::Ready);
    CHECK(rgba_to_i32(wv.image.pixel(1, 3)) == -2147467264);
    CHECK(rgba_to_i32(wv.image.pixel(2, 3)) == 2147467264);
}

TEST_CASE("QMATMUL output may overlap its input") {
    Image img = make_image(8, 4);
    put_matrix(img, 1, 1, 2, {10, 20});
    put_matrix(img, 2, 2, 2, {1, 2, 3, 4});
    put_q(img, 0, Opcode::QMATMUL, 1, 2, 1, encode_params(qmm(0, 0, 0, 1 << 30, 30)));
    VmState vm = make_vm(img);
    step(vm);
    REQUIRE(vm.status == VmStatus::Ready);
    CHECK(r_of(vm.image, 1) == B{70, 100}); // 10*1 + 20*3, 10*2 + 20*4 from the old a
}

TEST_CASE("QADD rounds, saturates, broadcasts and may write in place") {
    // (a-za) = 3, -3, 1, -1 with M = 1, shift 1: 1.5 -> 2, -1.5 -> -1, 0.5 -> 1, -0.5 -> 0 (by hand).
    CHECK(run_qadd(1, 4, {13, 7, 11, 9}, 1, {10, 10, 10, 10}, qad(10, 10, 50, 1, 1, 1)) == B{52, 49, 51, 50});
    CHECK(run_qadd(1, 2, {10, 10}, 1, {13, 7}, qad(10, 10, 50, 1, 1, 1)) == B{52, 49});
    CHECK(run_qadd(1, 3, {255, 0, 128}, 1, {255, 0, 128}, qad(128, 128, 128, 1 << 30, 1 << 30, 30)) ==
          B{255, 0, 128});
    CHECK(run_qadd(2, 3, {1, 2, 3, 4, 5, 6}, 1, {100, 200, 0},
                   qad(3, 100, 20, 1518500250, 858993459, 31, 10, 250)) == B{19, 59, 10, 21, 61, 10});
    CHECK(run_qadd(1, 2, {255, 0}, 1, {255, 0}, qad(0, 255, 9, kMaxM, kMaxM, 62)) == B{9, 9});
    CHECK(run_qadd(1, 2, {129, 127}, 1, {128, 128}, qad(128, 128, 100, kMaxM, kMaxM, 1)) == B{255, 0});

    Image img = make_image(8, 3);
    put_matrix(img, 1, 1, 3, {1, 2, 3});
    put_matrix(img, 2, 1, 3, {4, 5, 6});
    put_q(img, 0, Opcode::QADD, 1, 2, 1, encode_params(qad(0, 0, 0, 1 << 30, 1 << 30, 30)));
    VmState vm = make_vm(img);
    step(vm);
    REQUIRE(vm.status == VmStatus::Ready);
    CHECK(r_of(vm.image, 1) == B{5, 7, 9});
}

TEST_CASE("QRELU clamps at the zero point in place and keeps G, B, A") {
    Image img = make_image(8, 3);
    put_matrix(img, 1, 1, 4, {0, 5, 10, 200});
    img.at(2, 1)[1] = 77; // reserved channel of element 1
    put_q(img, 0, Opcode::QRELU, 1, 0, 0, encode_params(QReluParams{10}));
    VmState vm = make_vm(img);
    StepResult r = step(vm);
    REQUIRE(vm.status == VmStatus::Ready);
    CHECK(r_of(vm.image, 1) == B{10, 10, 10, 200});
    CHECK(vm.image.at(2, 1)[1] == 77);
    CHECK(vm.image.pixel(0, 1) == img.pixel(0, 1));
    REQUIRE(r.written.size() == 1);
    CHECK(r.written[0] == Rect{1, 1, 4, 1});
}

namespace {
Trap trap_of(const Image& img) {
    VmState vm = make_vm(img);
    step(vm);
    CHECK(vm.status == VmStatus::Trapped);
    CHECK(vm.image.rgba == img.rgba);
    return vm.trap;
}

Image qmatmul_image(const QMatmulParams& p, uint32_t height = 6) {
    Image img = make_image(16, height);
    put_matrix(img, 1, 1, 2, {1, 2});
    put_matrix(img, 2, 2, 2, {1, 2, 3, 4});
    put_bias(img, 4, {1, 2});
    put_q(img, 0, Opcode::QMATMUL, 1, 2, 3, encode_params(p));
    return img;
}
} // namespace

TEST_CASE("every BAD_PARAM of QMATMUL, in order") {
    auto bad = [](QMatmulParams p, const char* what) {
        Trap t = trap_of(qmatmul_image(p));
        CHECK(t.code == TrapCode::BAD_PARAM);
        CHECK(t.x == 0);
        CHECK(t.y == 0);
        CHECK_MESSAGE(t.message.find(what) != std::string::npos, t.message);
    };
    bad(qmm(0, 0, 0, 1, 0), "shift 0");
    bad(qmm(0, 0, 0, 1, 63), "shift 63");
    bad(qmm(0, 0, 0, -1, 10), "multiplier M = -1");
    bad(qmm(0, 0, 0, INT32_MIN, 10), "negative");
    bad(qmm(0, 0, 0, 1, 10, 6), "bias row 6");
    bad(qmm(0, 0, 0, 1, 10, 0, 11, 10), "clamp_lo 11 > clamp_hi 10");
    // Several faults: the first in the documented order is reported.
    bad(qmm(0, 0, 0, -1, 0, 9, 11, 10), "shift 0");
    bad(qmm(0, 0, 0, -1, 5, 9, 11, 10), "multiplier");
    bad(qmm(0, 0, 0, 1, 5, 9, 11, 10), "bias row 9");
    // The edges are valid.
    Image ok = qmatmul_image(qmm(0, 0, 0, 0, 1, 4, 10, 10));
    VmState vm = make_vm(ok);
    step(vm);
    CHECK(vm.status == VmStatus::Ready);
    CHECK(r_of(vm.image, 3) == B{10, 10});
}

TEST_CASE("QMATMUL bias shape and fit, checks after parameters") {
    Image img = qmatmul_image(qmm(0, 0, 0, 1, 10, 4));
    img.set_pixel(0, 4, encode_header({3, 1})); // 1x3 bias for a 2-column b
    Trap t = trap_of(img);
    CHECK(t.code == TrapCode::SHAPE_MISMATCH);
    CHECK(t.y == 4);
    // A bias whose header is right (1x4) but which runs past the last row: at width 4 it needs
    // two rows and starts in the last one.
    QMatmulParams p = qmm(0, 0, 0, 1, 10, 6);
    Image img2 = make_image(4, 7);
    put_matrix(img2, 1, 1, 1, {1});
    put_matrix(img2, 2, 1, 4, {1, 2, 3, 4}); // 2 rows at width 4
    img2.set_pixel(0, 6, encode_header({4, 1}));
    put_q(img2, 0, Opcode::QMATMUL, 1, 2, 4, encode_params(p));
    Trap t2 = trap_of(img2);
    CHECK(t2.code == TrapCode::MATRIX_OVERFLOW);
    CHECK(t2.y == 6);
    // Shape of a and b is checked before the bias.
    Image img3 = qmatmul_image(qmm(0, 0, 0, 1, 10, 4));
    img3.set_pixel(0, 2, encode_header({2, 3})); // b is 3x2 now; a is 1x2
    img3.set_pixel(0, 4, encode_header({3, 1}));
    Trap t3 = trap_of(img3);
    CHECK(t3.code == TrapCode::SHAPE_MISMATCH);
    CHECK(t3.y == 2);
    // Parameters are checked before shapes.
    Image img4 = qmatmul_image(qmm(0, 0, 0, 1, 0, 4));
    img4.set_pixel(0, 2, encode_header({2, 3}));
    CHECK(trap_of(img4).code == TrapCode::BAD_PARAM);
}

TEST_CASE("every BAD_PARAM of QADD, QRELU and QMATMUL32") {
    auto qadd_img = [](const std::vector<Rgba>& params) {
        Image img = make_image(16, 5);
        put_matrix(img, 1, 1, 2, {1, 2});
        put_matrix(img, 2, 1, 2, {3, 4});
        put_q(img, 0, Opcode::QADD, 1, 2, 3, params);
        return img;
    };
    auto expect = [](const Image& img, const char* what) {
        Trap t = trap_of(img);
        CHECK(t.code == TrapCode::BAD_PARAM);
        CHECK_MESSAGE(t.message.find(what) != std::string::npos, t.message);
    };
    expect(qadd_img(encode_params(qad(0, 0, 0, 1, 1, 0))), "shift 0");
    expect(qadd_img(encode_params(qad(0, 0, 0, 1, 1, 63))), "shift 63");
    expect(qadd_img(encode_params(qad(0, 0, 0, -5, 1, 3))), "Ma = -5");
    expect(qadd_img(encode_params(qad(0, 0, 0, 1, INT32_MIN, 3))), "Mb = -2147483648");
    expect(qadd_img(encode_params(qad(0, 0, 0, 1, 1, 3, 200, 100))), "clamp_lo 200 > clamp_hi 100");
    auto params = encode_params(qad(0, 0, 0, 1, 1, 3));
    params[3][2] = 1;
    expect(qadd_img(params), "reserved channel B");
    params[3][2] = 0, params[3][3] = 9;
    expect(qadd_img(params), "reserved channel A");

    for (int ch = 1; ch < 4; ++ch) {
        Image img = make_image(8, 3);
        put_matrix(img, 1, 1, 2, {1, 2});
        Rgba p{10, 0, 0, 0};
        p[ch] = 1;
        put_q(img, 0, Opcode::QRELU, 1, 0, 0, {p});
        expect(img, "reserved channel");
    }

    auto q32_img = [](const std::vector<Rgba>& params) {
        Image img = make_image(16, 6);
        put_matrix(img, 1, 1, 2, {1, 2});
        put_matrix(img, 2, 2, 2, {1, 2, 3, 4});
        put_q(img, 0, Opcode::QMATMUL32, 1, 2, 3, params);
        return img;
    };
    expect(q32_img({{0, 0, 1, 0}, {0, 0, 0, 0}}), "P1 at (1,0): reserved channel B");
    expect(q32_img({{0, 0, 0, 1}, {0, 0, 0, 0}}), "reserved channel A");
    expect(q32_img({{0, 0, 0, 0}, {6, 0, 0, 0}}), "bias row 6");
    expect(q32_img({{0, 0, 0, 0}, {0, 1, 0, 0}}), "bias row 256");
    expect(q32_img({{0, 0, 0, 0}, {0, 0, 1, 0}}), "P2 at (2,0): reserved channel B");
}

TEST_CASE("parameter pixels past the end of row 0 are TRUNCATED; WIDE counts them") {
    Image img = make_image(3, 4);
    put_matrix(img, 1, 1, 1, {1});
    put_matrix(img, 2, 1, 1, {1});
    put_q(img, 0, Opcode::QMATMUL, 1, 2, 3, {{0, 0, 0, 1}, {1, 0, 0, 0}}); // P3 would be at x = 3
    Trap t = trap_of(img);
    CHECK(t.code == TrapCode::TRUNCATED);
    CHECK(t.x == 0);

    Image w = make_image(8, 4);
    put_matrix(w, 1, 1, 2, {3, 4});
    w.set_pixel(0, 0, {kWidePrefix, 0, 0, 0});
    put_q(w, 1, Opcode::QRELU, 1, 0, 0, {{4, 0, 0, 0}});
    put_ins(w, 3, Opcode::HALT);
    VmState vm = make_vm(w);
    step(vm);
    CHECK(vm.pc == 3);
    CHECK(r_of(vm.image, 1) == B{4, 4});
}

TEST_CASE("describe_params decodes every quantized opcode") {
    Instruction ins;
    ins.opcode = uint8_t(Opcode::QMATMUL);
    auto p = encode_params(qmm(128, 121, 0, 1 << 30, 31, 19, 0, 255));
    std::copy(p.begin(), p.end(), ins.params.begin());
    CHECK(describe_params(ins) ==
          "za=128 zb=121 zc=0 M=1073741824 shift=31 (x0.5) bias=row 19 clamp=[0,255]");
    ins.opcode = uint8_t(Opcode::QRELU);
    ins.params[0] = {7, 0, 0, 0};
    CHECK(describe_params(ins) == "zero_point=7");
    ins.opcode = uint8_t(Opcode::QMATMUL32);
    ins.params[0] = {1, 2, 0, 0};
    ins.params[1] = {0, 0, 0, 0};
    CHECK(describe_params(ins) == "za=1 zb=2 bias=none out=int32 pixels");
    ins.opcode = uint8_t(Opcode::QADD);
    p = encode_params(qad(1, 2, 3, 1 << 30, 1 << 29, 31, 4, 5));
    std::copy(p.begin(), p.end(), ins.params.begin());
    CHECK(describe_params(ins) ==
          "za=1 zb=2 zc=3 Ma=1073741824 Mb=536870912 shift=31 (x0.5, x0.25) clamp=[4,5]");
    ins.opcode = uint8_t(Opcode::MATMUL);
    CHECK(describe_params(ins).empty());
}

TEST_CASE("the quantizer makes 0.0 exact and nudges the zero point") {
    QuantParams q = choose_quant_params(-1.0, 3.0); // scale 4/255, -min/scale = 63.75 -> 64
    CHECK(q.scale == doctest::Approx(4.0 / 255.0));
    CHECK(q.zero_point == 64);
    CHECK(quantize(0.0, q) == 64);
    CHECK(dequantize(64, q) == 0.0);
    CHECK(quantize(100.0, q) == 255);
    CHECK(quantize(-100.0, q) == 0);
    CHECK(choose_quant_params(1.0, 2.0).zero_point == 0); // widened to [0, 2]
    CHECK(choose_quant_params(1.0, 2.0).scale == doctest::Approx(2.0 / 255.0));
    CHECK(choose_quant_params(-3.0, -1.0).zero_point == 255);
    CHECK(quantize(0.0, choose_quant_params(-3.0, -1.0)) == 255);
    CHECK(choose_quant_params(0.0, 0.0).zero_point == 0);
    // Offline rounding to the nearest code.
    QuantParams unit{1.0, 10};
    CHECK(quantize(2.4, unit) == 12);
    CHECK(quantize(-2.6, unit) == 7);
}

TEST_CASE("quantize_multiplier keeps 31 bits and the shift range") {
    auto m = quantize_multiplier(0.5);
    REQUIRE(m.ok());
    CHECK(m->m == (1 << 30));
    CHECK(m->shift == 31);
    m = quantize_multiplier(1.0);
    REQUIRE(m.ok());
    CHECK(m->m == (1 << 30));
    CHECK(m->shift == 30);
    m = quantize_multiplier(std::ldexp(1.0, -40)); // would need shift 70: low bits of M dropped
    REQUIRE(m.ok());
    CHECK(m->m == (1 << 22));
    CHECK(m->shift == 62);
    m = quantize_multiplier(0.0);
    REQUIRE(m.ok());
    CHECK(m->m == 0);
    m = quantize_multiplier(1.0 - 1e-12); // rounds up to 2^31: renormalized
    REQUIRE(m.ok());
    CHECK(m->m == (1 << 30));
    CHECK(m->shift == 30);
    m = quantize_multiplier(0.1);
    REQUIRE(m.ok());
    CHECK(m->m == 1717986918); // round(0.8 * 2^31), 0.1 = 0.8 * 2^-3
    CHECK(m->shift == 34);
    CHECK_FALSE(quantize_multiplier(-1.0).ok());
    CHECK_FALSE(quantize_multiplier(std::ldexp(1.0, 30)).ok());
    CHECK_FALSE(quantize_multiplier(NAN).ok());
}
