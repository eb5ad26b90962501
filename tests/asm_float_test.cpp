// Tests of typed data in .pxasm (docs/pxasm.md "Typed data"): f32, f16 and i32 literals against
// values computed exactly outside the engine (Python's fractions, NumPy), the disassembler writing
// literals that read back to the same bits (every f16 pattern, random and special f32 patterns),
// byte-exact round trips of every float and generation vector and of the f32 Pixel-LLM, a
// hand-written FMATMUL program run to NumPy's values, and errors naming the line.
#include "asm.h"
#include "fmath.h"
#include "npy.h"
#include "pixellm.h"
#include "protocol.h"
#include "test_util.h"
#include "vectors.h"
#include "vm.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <doctest/doctest.h>
#include <random>

using namespace px;
using namespace pxtest;

namespace {

Image must_assemble(const std::string& text, const AsmOptions& o = {}) {
    auto r = assemble(text, o);
    if (!r) FAIL_CHECK(r.error().message);
    REQUIRE(r.ok());
    return r->image;
}

std::string must_fail(const std::string& text) {
    AsmOptions o;
    o.file_name = "t.pxasm";
    auto r = assemble(text, o);
    REQUIRE_FALSE(r.ok());
    return r.error().message;
}

uint32_t lit(const std::string& text, DType t) {
    auto v = parse_element_literal(text, t);
    if (!v) FAIL_CHECK(text << ": " << v.error().message);
    REQUIRE(v.ok());
    return *v;
}

// Lines of the text that are raw pixel writes.
int raw_lines(const std::string& text) {
    int n = 0;
    size_t at = 0;
    while ((at = text.find('\n', at)) != std::string::npos) {
        ++at;
        if (text.compare(at, 5, ".hex ") == 0 || text.compare(at, 6, ".rgba ") == 0) ++n;
    }
    return n;
}

void check_round_trip(const Image& img, const std::string& what) {
    const std::string text = disassemble(img);
    auto back = assemble(text);
    if (!back) FAIL(what << ": " << back.error().message << "\n" << text.substr(0, 2000));
    REQUIRE(back->image.width == img.width);
    REQUIRE(back->image.height == img.height);
    CHECK_MESSAGE(back->image.rgba == img.rgba, what);
    CHECK_MESSAGE(disassemble(back->image) == text, what); // and the text is a fixed point
}

} // namespace

TEST_CASE("f32 literals are the nearest float32, ties to even (expected bits: Python fractions)") {
    // Computed by exact rational rounding of the decimal (not via a double): the seventh line is
    // just above the tie 1 + 2^-24, which a decimal -> double -> float conversion rounds down.
    const std::pair<const char*, uint32_t> cases[] = {
        {"0.5", 0x3F000000u},
        {"-1.25e-3", 0xBAA3D70Au},
        {"0.1", 0x3DCCCCCDu},
        {"1e-45", 0x00000001u}, // the smallest subnormal
        {"7e-46", 0x00000000u}, // below half of it
        {"3.4028235e38", 0x7F7FFFFFu},
        {"1.00000005960464477539062500001", 0x3F800001u},
        {"1.0000000596046447753906250", 0x3F800000u}, // the tie itself: to even
        {"16777217", 0x4B800000u},
        {"1.17549435e-38", 0x00800000u},
        {"3.40282357e38", 0x7F800000u}, // above FLT_MAX + half an ulp: overflows to inf
        {"1e999", 0x7F800000u},
        {"-1e999", 0xFF800000u},
        {"1e-50", 0x00000000u},
        {"-1e-50", 0x80000000u},
        {"-0", 0x80000000u},
        {"+2", 0x40000000u},
        {".5e1", 0x40A00000u},
        {"3.", 0x40400000u},
        {"1E+2", 0x42C80000u},
    };
    for (const auto& [text, bits] : cases) {
        INFO(text);
        CHECK(lit(text, DType::F32) == bits);
    }
    CHECK(lit("inf", DType::F32) == 0x7F800000u);
    CHECK(lit("+inf", DType::F32) == 0x7F800000u);
    CHECK(lit("-inf", DType::F32) == 0xFF800000u);
    CHECK(lit("nan", DType::F32) == 0x7FC00000u);
    CHECK(lit("nan:0x7fc12345", DType::F32) == 0x7FC12345u);
    CHECK(lit("nan:0xFF800001", DType::F32) == 0xFF800001u);
    CHECK(lit("nan:0x3f800000", DType::F32) == 0x3F800000u); // any pattern, in fact
}

TEST_CASE("f16 literals are the binary16 nearest to the double, ties to even (expected: fractions)") {
    const std::pair<const char*, uint32_t> cases[] = {
        {"0.5", 0x3800u},
        {"1.00048828125", 0x3C00u}, // 1 + 2^-11: a tie, to even
        {"1.00146484375", 0x3C02u}, // 1 + 3 * 2^-11: a tie, to even (up)
        {"65504", 0x7BFFu},
        {"65519.99", 0x7BFFu},
        {"65520", 0x7C00u}, // the tie above the largest finite: to even is inf
        {"100000", 0x7C00u},
        {"2.98023223876953125e-8", 0x0000u}, // 2^-25: a tie between 0 and 2^-24
        {"4.4703483581542969e-8", 0x0001u},  // 1.5 * 2^-25
        {"5.96e-8", 0x0001u},
        {"6.1035e-5", 0x0400u}, // rounds up to the smallest normal
        {"0.1", 0x2E66u},
        {"-2.5", 0xC100u},
        {"1e-10", 0x0000u},
        {"-1e-10", 0x8000u},
        {"-0", 0x8000u},
    };
    for (const auto& [text, bits] : cases) {
        INFO(text);
        CHECK(lit(text, DType::F16) == bits);
    }
    CHECK(lit("nan", DType::F16) == 0x7E00u);
    CHECK(lit("nan:0x7e01", DType::F16) == 0x7E01u);
    CHECK(lit("-inf", DType::F16) == 0xFC00u);
    CHECK(lit("1e999", DType::F16) == 0x7C00u);
}

TEST_CASE("i32 and u8 literals") {
    CHECK(lit("-2147483648", DType::I32) == 0x80000000u);
    CHECK(lit("2147483647", DType::I32) == 0x7FFFFFFFu);
    CHECK(lit("-1", DType::I32) == 0xFFFFFFFFu);
    CHECK(lit("+7", DType::I32) == 7u);
    CHECK(lit("0xdeadbeef", DType::I32) == 0xDEADBEEFu);
    CHECK(lit("255", DType::U8) == 255u);
    for (const char* bad : {"2147483648", "-2147483649", "1.5", "0x100000000", "-", "1e3", ""})
        CHECK_MESSAGE(!parse_element_literal(bad, DType::I32).ok(), bad);
    for (const char* bad : {"256", "-1", "1.5"})
        CHECK_MESSAGE(!parse_element_literal(bad, DType::U8).ok(), bad);
    for (const char* bad : {"nan:0xZZ", "nan:", "nan:0x", "nan:0x123456789", "NaN", "infinity", "0x1p3", "1e",
                            "e5", ".", "--1", "1.5.2", "1,5", "nan(1)"})
        CHECK_MESSAGE(!parse_element_literal(bad, DType::F32).ok(), bad);
    CHECK_FALSE(parse_element_literal("nan:0x12345", DType::F16).ok()); // more than 16 bits
    CHECK(element_literal(0x80000000u, DType::I32) == "-2147483648");
    CHECK(element_literal(7, DType::I32) == "7");
}

TEST_CASE("every f16 pattern prints as a literal that reads back to the same bits, at most 5 digits") {
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const std::string text = element_literal(h, DType::F16);
        auto back = parse_element_literal(text, DType::F16);
        REQUIRE_MESSAGE(back.ok(), text);
        if (*back != h) FAIL_CHECK(std::hex << h << " printed " << text << " reads " << *back);
        if ((h & 0x7C00u) != 0x7C00u && h != 0x8000u) { // finite: the shortest of %.3g, %.4g, %.5g
            bool printf_form = false;
            for (int p = 3; p <= 5; ++p) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%.*g", p, double(fm::from_f16(uint16_t(h))));
                printf_form = printf_form || text == buf;
            }
            if (!printf_form) FAIL_CHECK(std::hex << h << " printed " << text);
        }
    }
    CHECK(element_literal(0x3C00, DType::F16) == "1");
    CHECK(element_literal(0x2E66, DType::F16) == "0.1");
    CHECK(element_literal(0x7BFF, DType::F16) == "6.55e+04");
    CHECK(element_literal(0x0001, DType::F16) == "5.96e-08");
    CHECK(element_literal(0x8000, DType::F16) == "-0");
    CHECK(element_literal(0x7E00, DType::F16) == "nan");
    CHECK(element_literal(0xFE00, DType::F16) == "nan:0xfe00");
    CHECK(element_literal(0x7C01, DType::F16) == "nan:0x7c01");
    CHECK(element_literal(0xFC00, DType::F16) == "-inf");
}

TEST_CASE("f32 literals read back to the same bits: specials, boundaries and random patterns") {
    std::vector<uint32_t> patterns = {0u,          0x80000000u, 1u,          0x80000001u, 0x007FFFFFu,
                                      0x00800000u, 0x7F7FFFFFu, 0xFF7FFFFFu, 0x7F800000u, 0xFF800000u,
                                      0x7FC00000u, 0xFFC00000u, 0x7F800001u, 0x7FFFFFFFu, 0xFFFFFFFFu,
                                      0x3F800000u, 0x3DCCCCCDu, 0x3F800001u, 0x4B800001u};
    std::mt19937 rng(13);
    for (int i = 0; i < 200000; ++i)
        patterns.push_back(rng());
    for (uint32_t b : patterns) {
        const std::string text = element_literal(b, DType::F32);
        auto back = parse_element_literal(text, DType::F32);
        REQUIRE_MESSAGE(back.ok(), text);
        if (*back != b) FAIL_CHECK(std::hex << b << " printed " << text << " reads " << *back);
        if ((b & 0x7F800000u) != 0x7F800000u && b != 0x80000000u) { // finite: the first of %.6g..%.9g
            std::string want;
            for (int p = 6; p <= 9 && want.empty(); ++p) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%.*g", p, double(fm::from_bits(b)));
                if (std::strtof(buf, nullptr) == fm::from_bits(b)) want = buf;
            }
            if (text != want) FAIL_CHECK(std::hex << b << " printed " << text << ", not " << want);
        }
    }
    CHECK(element_literal(0x3DCCCCCDu, DType::F32) == "0.1");
    CHECK(element_literal(0x3F800001u, DType::F32) == "1.0000001");
    CHECK(element_literal(0x00000001u, DType::F32) == "1.4013e-45");
    CHECK(element_literal(0x7F7FFFFFu, DType::F32) == "3.4028235e+38");
    CHECK(element_literal(0x80000000u, DType::F32) == "-0");
    CHECK(element_literal(0x00000000u, DType::F32) == "0");
    CHECK(element_literal(0x7FC00000u, DType::F32) == "nan");
    CHECK(element_literal(0xFFC00000u, DType::F32) == "nan:0xffc00000");
    CHECK(element_literal(0x7FC12345u, DType::F32) == "nan:0x7fc12345");
    CHECK(element_literal(0xFF800000u, DType::F32) == "-inf");
}

TEST_CASE("typed matrices assemble to whole pixels and record their dtype in the symbols") {
    const Image img = must_assemble("matrix a 1x2 f32 [1.5 nan:0x7fc12345]\n"
                                    "matrix h 1x3 f16 [1 -2 0.5]\n"
                                    "matrix i 1x2 i32 [-1 0x01020304]\n"
                                    "matrix u 1x2 [7 8]\n"
                                    "matrix z 2x2 f32 fill -0\n"
                                    "HALT\n");
    // a at row 1: 1.5 = 0x3FC00000 little-endian.
    CHECK(decode_header(img.pixel(0, 1)) == MatrixHeader{2, 1});
    CHECK(img.pixel(1, 1) == Rgba{0x00, 0x00, 0xC0, 0x3F});
    CHECK(img.pixel(2, 1) == Rgba{0x45, 0x23, 0xC1, 0x7F});
    // h at row 2: elements 0, 1 in pixel 1 (R,G = 1.0 = 0x3C00; B,A = -2 = 0xC000), element 2 in
    // R,G of pixel 2 (0.5 = 0x3800) and B,A zero; pixel 3 untouched.
    CHECK(decode_header(img.pixel(0, 2)) == MatrixHeader{3, 1});
    CHECK(img.pixel(1, 2) == Rgba{0x00, 0x3C, 0x00, 0xC0});
    CHECK(img.pixel(2, 2) == Rgba{0x00, 0x38, 0x00, 0x00});
    CHECK(img.pixel(3, 2) == Rgba{0, 0, 0, 0});
    CHECK(img.pixel(1, 3) == Rgba{0xFF, 0xFF, 0xFF, 0xFF});
    CHECK(img.pixel(2, 3) == Rgba{0x04, 0x03, 0x02, 0x01});
    CHECK(img.pixel(1, 4) == Rgba{7, 0, 0, 0});
    for (uint32_t x = 1; x <= 4; ++x)
        CHECK(img.pixel(x, 5) == Rgba{0, 0, 0, 0x80});
    auto info = read_debug_info(img);
    REQUIRE(info.ok());
    REQUIRE(info->regions.size() == 5);
    CHECK(info->regions[0].dtype == DType::F32);
    CHECK(info->regions[1].dtype == DType::F16);
    CHECK(info->regions[2].dtype == DType::I32);
    CHECK_FALSE(info->regions[3].dtype.has_value()); // undeclared: tools infer it
    // The text form names the types, and no raw pixels are needed.
    const std::string text = disassemble(img);
    CHECK(text.find("matrix a 1x2 f32 @ row 1 [1.5 nan:0x7fc12345]") != std::string::npos);
    CHECK(text.find("matrix h 1x3 f16 @ row 2 [1 -2 0.5]") != std::string::npos);
    CHECK(text.find("matrix i 1x2 i32 @ row 3 [-1 16909060]") != std::string::npos);
    CHECK(text.find("matrix u 1x2 @ row 4 [7 8]") != std::string::npos);
    CHECK(text.find("matrix z 2x2 f32 @ row 5 fill -0") != std::string::npos);
    CHECK(raw_lines(text) == 0);
    check_round_trip(img, "typed");
}

TEST_CASE("an f16 matrix takes half the rows, and allocation follows") {
    // 30 f16 elements are 15 pixels: one row at width 16; the next matrix follows at row 2.
    const Image img =
        must_assemble("matrix h 2x15 f16 zeros\nmatrix f 1x15 f32 zeros\nmatrix g 1x1 zeros\nHALT\n");
    CHECK(img.width == 16);
    CHECK(decode_header(img.pixel(0, 1)) == MatrixHeader{15, 2});
    CHECK(decode_header(img.pixel(0, 2)) == MatrixHeader{15, 1});
    CHECK(decode_header(img.pixel(0, 3)) == MatrixHeader{1, 1});
    CHECK(img.height == 4);
}

TEST_CASE("every float and generation vector round-trips byte for byte") {
    int float_vectors = 0, gen_vectors = 0;
    for (const std::string& path : vector_files()) {
        const std::string stem = std::filesystem::path(path).stem().string();
        const bool is_float = stem.rfind("float_", 0) == 0, is_gen = stem.rfind("gen_", 0) == 0;
        if (!is_float && !is_gen) continue;
        float_vectors += is_float;
        gen_vectors += is_gen;
        auto v = load_vector(path);
        REQUIRE_MESSAGE(v.ok(), path);
        check_round_trip(v->image, stem);
        // Its result too (the outputs are typed matrices written by the opcodes).
        VmState vm = make_vm(v->image, v->step_limit);
        run(vm);
        check_round_trip(vm.image, stem + " (after the run)");
    }
    CHECK(float_vectors >= 20);
    CHECK(gen_vectors >= 20);
}

TEST_CASE("the float vectors' typed matrices are written as literals, from the instructions' types") {
    auto v = load_vector(source_path("tests/vectors/float_fmatmul.json"));
    REQUIRE(v.ok());
    const std::string text = disassemble(v->image);
    CHECK(text.find("matrix m1 2x3 f32 @ row 1 [1 2 3 4 5 6]") != std::string::npos);
    CHECK(text.find("matrix m2 3x2 f32 @ row 2 [1 0 0 1 1 1]") != std::string::npos);
    CHECK(text.find("scalar m4 @ row 4") != std::string::npos); // c has no header before the run
    CHECK(raw_lines(text) == 0);
    VmState vm = make_vm(v->image);
    run(vm);
    CHECK(disassemble(vm.image).find("matrix m4 2x2 f32 @ row 4 [4 5 10 11]") != std::string::npos);
}

TEST_CASE("random typed matrices round-trip with no raw pixels; symbols give the type") {
    std::mt19937 rng(1302);
    const uint32_t specials[] = {0x7FC00000u, 0xFFC00001u, 0x7F800001u, 0x7F800000u, 0xFF800000u, 0x80000000u,
                                 0x00000001u, 0x807FFFFFu, 0x7F7FFFFFu, 0xFF7FFFFFu, 0x00800000u, 0u};
    const uint16_t specials16[] = {0x7E00, 0xFE01, 0x7C01, 0x7C00, 0xFC00, 0x8000,
                                   0x0001, 0x83FF, 0x7BFF, 0xFBFF, 0x0400, 0};
    for (int trial = 0; trial < 30; ++trial) {
        const DType t = trial % 3 == 0 ? DType::F32 : trial % 3 == 1 ? DType::F16 : DType::I32;
        const uint32_t width = 8 + rng() % 40;
        const MatrixHeader h{uint32_t(1 + rng() % 12), uint32_t(1 + rng() % 9)};
        const uint64_t pixels = dtype_pixels(t, h.elements());
        Image img = make_image(width, uint32_t(2 + rows_for_elements(pixels, width)));
        img.set_pixel(0, 1, encode_header(h));
        for (uint64_t j = 0; j < pixels; ++j) {
            uint32_t w = rng();
            if (rng() % 3 == 0)
                w = t == DType::F16 ? specials16[rng() % 12] | uint32_t(specials16[rng() % 12]) << 16
                                    : specials[rng() % 12];
            if (t == DType::F16 && 2 * j + 1 == h.elements()) w &= 0xFFFFu; // the unused half stays 0
            img.set_pixel(element_x(j, width), uint32_t(element_y(j, 1, width)), word_pixel(w));
        }
        DebugInfo info;
        Region r;
        r.name = "w";
        r.row = 1;
        r.shape = h;
        r.dtype = t;
        info.regions.push_back(r);
        write_debug_info(img, info);
        const std::string text = disassemble(img);
        INFO(text);
        CHECK(text.find("matrix w " + std::to_string(h.rows) + "x" + std::to_string(h.cols) + " " +
                        std::string(dtype_name(t)) + " @ row 1") != std::string::npos);
        CHECK(raw_lines(text) == 0);
        check_round_trip(img, "random typed");
        if (t == DType::F16 && h.elements() % 2) { // a stray byte in the unused half: a raw pixel
            const uint64_t last = pixels - 1;
            img.at(element_x(last, width), uint32_t(element_y(last, 1, width)))[3] = 0x5A;
            CHECK(raw_lines(disassemble(img)) == 1);
            check_round_trip(img, "f16 with a stray half");
        }
    }
}

TEST_CASE("without symbols the instructions' types are used; a conflicting row stays u8") {
    Image img = must_assemble("matrix a 1x2 f32 [0.25 -3]\nmatrix b 2x1 f32 [2 4]\nmatrix c 1x1 f32 zeros\n"
                              "FMATMUL a, b, c, [f32, f32, f32, 0], [0, 0, none, 0]\nHALT\n");
    img.text.clear(); // no symbols, no source
    std::string text = disassemble(img);
    CHECK(text.find("matrix m1 1x2 f32 @ row 1 [0.25 -3]") != std::string::npos);
    CHECK(raw_lines(text) == 0);
    check_round_trip(img, "inferred");
    // MATMUL reads c as u8 after FMATMUL wrote it as f32: two types, so it is written as u8 bytes.
    img = must_assemble("matrix a 1x2 f32 [0.25 -3]\nmatrix b 2x1 f32 [2 4]\nmatrix c 1x1 f32 fill 1.5\n"
                        "FMATMUL a, b, c, [f32, f32, f32, 0], [0, 0, none, 0]\nRELU c\nHALT\n");
    img.text.clear();
    text = disassemble(img);
    CHECK(text.find("matrix m3 1x1 @ row 3 zeros") != std::string::npos); // R of 1.5 = 0x3FC00000 is 0
    CHECK(raw_lines(text) == 1);
    check_round_trip(img, "conflict");
}

TEST_CASE("a hand-written FMATMUL program runs to NumPy's values") {
    // y = x @ W + b in float32; expected bits from NumPy float32 (the F.5 order for K = 3 is
    // (t0 + t2) + t1, which NumPy's x @ W + b matches here).
    const std::string src = "; 2x3 @ 3x2 + bias, literal weights\n"
                            "matrix x 2x3 f32 [0.1 -2 0.5\n"
                            "                  3 0.25 -1e-3]\n"
                            "matrix W 3x2 f32 [0.5 -1, 2 0.125, -3 1.5e3]\n"
                            "matrix b 1x2 f32 @ row 10 [0.1 -0.2]\n"
                            "matrix y 2x2 f32 zeros\n"
                            "FMATMUL x, W, y, [f32, f32, f32, 0], [10, 0, none, 0]\n"
                            "HALT\n";
    const Image img = must_assemble(src);
    VmState vm = make_vm(img);
    run(vm);
    REQUIRE(vm.status == VmStatus::Halted);
    const uint32_t want[] = {0xC0AB3333u, 0x443B5CCDu, 0x4006978Du,
                             0xC0956666u}; // -5.35 749.45 2.103 -4.66875
    for (uint64_t i = 0; i < 4; ++i)
        CHECK(element_bits(vm.image, 3, DType::F32, i) == want[i]);
    CHECK(disassemble(vm.image).find("matrix y 2x2 f32 @ row 3 [-5.35 749.45 2.103 -4.66875]") !=
          std::string::npos);
}

TEST_CASE("the f32 Pixel-LLM disassembles to literals with no raw pixels, and back") {
    PixelLlmBuildOptions o;
    o.dtype = DType::F32;
    o.seed = 7;
    auto img = build_pixellm(seeded_weights(7), o);
    REQUIRE(img.ok());
    const std::string text = disassemble(*img);
    CHECK(raw_lines(text) == 0);
    CHECK(text.find("matrix W_hidden 128x128 f32 @ row") != std::string::npos);
    auto back = assemble(text);
    REQUIRE(back.ok());
    CHECK(back->image.rgba == img->rgba);
}

TEST_CASE("npy data for typed matrices: exact bits where the dtypes match, rounded otherwise") {
    const std::string dir = PXOS_BINARY_DIR;
    const float nan_payload = [] {
        float f;
        const uint32_t b = 0x7FC12345u;
        std::memcpy(&f, &b, 4);
        return f;
    }();
    REQUIRE(
        write_npy(make_npy_f32({2, 2}, {0.1f, -0.0f, nan_payload, 65519.99f}), dir + "/asmf_f32.npy").ok());
    NpyArray h;
    h.shape = {3};
    h.dtype = NpyDtype::F16;
    h.data = {0x01, 0x7E, 0x00, 0x80, 0x00, 0x3C}; // nan:0x7e01, -0, 1
    REQUIRE(write_npy(h, dir + "/asmf_f16.npy").ok());
    const std::vector<double> hv = h.as_double(); // <f2 as values: NaN, -0, 1
    CHECK(std::isnan(hv[0]));
    CHECK((hv[1] == 0 && std::signbit(hv[1])));
    CHECK(hv[2] == 1.0);
    auto h_back = read_npy(dir + "/asmf_f16.npy");
    REQUIRE(h_back.ok());
    CHECK(h_back->dtype == NpyDtype::F16);
    CHECK(h_back->data == h.data);
    NpyArray i;
    i.shape = {2};
    i.dtype = NpyDtype::I32;
    i.data = {0xFF, 0xFF, 0xFF, 0xFF, 5, 0, 0, 0};
    REQUIRE(write_npy(i, dir + "/asmf_i32.npy").ok());
    AsmOptions o;
    o.base_dir = dir;
    const Image img = must_assemble("matrix a 2x2 f32 npy \"asmf_f32.npy\"\n"
                                    "matrix b 2x2 f16 npy \"asmf_f32.npy\"\n"
                                    "matrix c 1x3 f16 npy \"asmf_f16.npy\"\n"
                                    "matrix d 1x2 i32 npy \"asmf_i32.npy\"\n"
                                    "matrix e 1x2 f32 npy \"asmf_i32.npy\"\nHALT\n",
                                    o);
    CHECK(element_bits(img, 1, DType::F32, 0) == 0x3DCCCCCDu);
    CHECK(element_bits(img, 1, DType::F32, 1) == 0x80000000u);
    CHECK(element_bits(img, 1, DType::F32, 2) == 0x7FC12345u);
    CHECK(element_bits(img, 2, DType::F16, 0) == 0x2E66u); // 0.1f rounded to binary16
    CHECK(element_bits(img, 2, DType::F16, 1) == 0x8000u);
    CHECK(element_bits(img, 2, DType::F16, 2) == 0x7E00u); // a NaN: the canonical f16 NaN
    CHECK(element_bits(img, 2, DType::F16, 3) == 0x7BFFu);
    CHECK(element_bits(img, 3, DType::F16, 0) == 0x7E01u);
    CHECK(element_bits(img, 3, DType::F16, 1) == 0x8000u);
    CHECK(element_bits(img, 3, DType::F16, 2) == 0x3C00u);
    CHECK(element_bits(img, 4, DType::I32, 0) == 0xFFFFFFFFu);
    CHECK(element_bits(img, 4, DType::I32, 1) == 5u);
    CHECK(element_bits(img, 5, DType::F32, 0) == 0xBF800000u); // -1
    auto bad = assemble("matrix d 2x2 i32 npy \"asmf_f32.npy\"\nHALT\n", o);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("floating point; an i32 matrix takes") != std::string::npos);
    CHECK(bad.error().message.find("<input>:1:") == 0);
}

TEST_CASE("bad typed data gives an error naming the line and the token") {
    CHECK(must_fail("HALT\nmatrix w 1x2 [1.5 2]\n") == "t.pxasm:2: value of a u8 matrix must be an integer "
                                                       "0..255 (declare the matrix f32, f16 or i32 for other "
                                                       "values, e.g. 'matrix w 2x3 f32 [...]') at '1.5'");
    CHECK(must_fail("matrix w 1x2 [-1 2]\n").find("t.pxasm:1: value of a u8 matrix must be an integer") == 0);
    CHECK(must_fail("matrix w 1x2 [256 2]\n") ==
          "t.pxasm:1: value out of range 0..255 at '256'"); // as before
    CHECK(must_fail("matrix w 1x2 fill 0.5\n").find("t.pxasm:1: fill value of a u8 matrix") == 0);
    CHECK(must_fail("\nmatrix w 1x2 f32 [1 nan:0xZZ]\n") ==
          "t.pxasm:2: nan:0xHEX takes the element's bits as 1..8 hexadecimal digits (nan:0x7fc00001) at "
          "'nan:0xZZ'");
    CHECK(must_fail("matrix w 1x2 f16 [1\n nan:0x12345]\n").find("t.pxasm:2: nan:0xHEX takes") == 0);
    CHECK(must_fail("matrix w 1x3 f32 [1 2]\n") == "t.pxasm:1: matrix 'w' is 1x3 but has 2 values");
    CHECK(must_fail("matrix w 1x1 f32 [1 2]\n") == "t.pxasm:1: matrix 'w' is 1x1 but has 2 values");
    CHECK(must_fail("matrix w 1x1 f32 [infinity]\n") ==
          "t.pxasm:1: an f32 value is a decimal number (1, -0.5, 1.25e-3), inf, -inf, nan or nan:0xHEX at "
          "'infinity'");
    CHECK(must_fail("matrix w 1x1 i32 [2147483648]\n").find("t.pxasm:1: an i32 value is an integer") == 0);
    CHECK(must_fail("matrix w 1x1 i32 [1.5]\n").find("t.pxasm:1: an i32 value is an integer") == 0);
    CHECK(must_fail("matrix w 1x1 [1] f32\n") ==
          "t.pxasm:1: the element type comes before the data at 'f32'");
    CHECK(must_fail("matrix w 1x1 f32 f16 [1]\n") ==
          "t.pxasm:1: the element type of 'w' is given twice at 'f16'");
    CHECK(must_fail("matrix w 1x1 f32 random 3\n") ==
          "t.pxasm:1: random data is for u8 matrices; 'w' is f32 at 'random'");
    CHECK(must_fail("matrix w 1x2 f32 [1\nHALT\n") ==
          "t.pxasm:1: '[' of matrix 'w' is not closed with ']' (line 2 starts 'HALT')");
    // 1e999 is not an error: IEEE 754 rounding of a value beyond the largest float gives inf.
    const Image img = must_assemble("matrix w 1x2 f32 [1e999 -1e999]\nHALT\n");
    CHECK(element_bits(img, 1, DType::F32, 0) == 0x7F800000u);
    CHECK(element_bits(img, 1, DType::F32, 1) == 0xFF800000u);
}
