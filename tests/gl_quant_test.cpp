// Parity of the quantized opcodes (PROTOCOL.md §5.5) between the CPU reference and the GL
// executor: hand-picked extremes (ties of both signs, the smallest and largest multipliers and
// shifts around the 32-bit boundaries of the GLSL 64-bit emulation, saturation, a wrapping
// accumulator, int32 bias extremes, overlapping outputs, every BAD_PARAM) and seeded random
// programs with parameters drawn mostly from their extremes, for both MATMUL kernels (the tiled
// one folds zero points in as gemmlowp does, so it takes a different arithmetic path).
#include "gl_test_util.h"
#include "quant.h"
#include "test_util.h"

#include <climits>
#include <random>

using namespace px;
using namespace pxtest;

namespace {

uint32_t put_q(Image& img, uint32_t x, Opcode op, uint32_t a, uint32_t b, uint32_t c,
               const std::vector<Rgba>& params) {
    if (a > 255 || b > 255 || c > 255)
        img.set_pixel(x++, 0, {15, uint8_t(a >> 8), uint8_t(b >> 8), uint8_t(c >> 8)});
    img.set_pixel(x, 0, {uint8_t(op), uint8_t(a), uint8_t(b), uint8_t(c)});
    for (size_t i = 0; i < params.size() && x + 1 + i < img.width; ++i)
        img.set_pixel(x + 1 + uint32_t(i), 0, params[i]);
    return x + 1 + uint32_t(params.size());
}

void put_bias(Image& img, uint32_t row, const std::vector<int32_t>& bias) {
    img.set_pixel(0, row, encode_header({uint32_t(bias.size()), 1}));
    for (size_t i = 0; i < bias.size(); ++i)
        img.set_pixel(element_x(i, img.width), uint32_t(element_y(i, row, img.width)), i32_to_rgba(bias[i]));
}

void both_kernels(const Image& img, const std::string& what) {
    for (auto k : {gl::MatmulKernel::Simple, gl::MatmulKernel::Tiled}) {
        gl::Executor ex = test_executor(k);
        CHECK(lockstep(ex, img, what + (k == gl::MatmulKernel::Tiled ? " (tiled)" : " (simple)")) >= 0);
    }
}

struct Rng {
    std::mt19937 g;
    uint32_t below(uint32_t n) { return n ? uint32_t(g() % n) : 0; }
    uint32_t range(uint32_t lo, uint32_t hi) { return lo + below(hi - lo + 1); }
    bool chance(uint32_t percent) { return below(100) < percent; }
    template <typename T> T pick(std::initializer_list<T> xs) {
        return *(xs.begin() + below(uint32_t(xs.size())));
    }
};

uint8_t zero_point(Rng& r) {
    return uint8_t(r.chance(70) ? r.pick<uint32_t>({0, 1, 127, 128, 254, 255}) : r.below(256));
}
uint8_t shift(Rng& r) {
    if (r.chance(3)) return uint8_t(r.pick<uint32_t>({0, 63, 255}));
    if (r.chance(60)) return uint8_t(r.pick<uint32_t>({1, 2, 30, 31, 32, 33, 34, 40, 47, 61, 62}));
    return uint8_t(r.range(1, 62));
}
int32_t multiplier(Rng& r) {
    if (r.chance(3)) return -int32_t(r.range(1, 1000));
    if (r.chance(50)) return int32_t(r.pick<uint32_t>({0, 1, 2, 1u << 30, (1u << 30) + 1, 0x7FFFFFFFu}));
    return int32_t(r.chance(60) ? (1u << 30) + r.below(1u << 30) : r.below(1u << 20));
}
int32_t bias_value(Rng& r) {
    if (r.chance(30)) return r.pick<int32_t>({INT_MIN, INT_MAX, 0, -1, 1, INT_MIN + 1, INT_MAX - 1});
    if (r.chance(50)) return int32_t(r.range(0, 200000)) - 100000;
    return int32_t(r.g());
}
void clamps(Rng& r, uint8_t& lo, uint8_t& hi) {
    if (r.chance(3)) {
        lo = uint8_t(r.range(1, 255)), hi = uint8_t(r.below(lo));
    } else if (r.chance(60)) {
        lo = 0, hi = 255;
    } else {
        lo = uint8_t(r.below(256)), hi = uint8_t(r.range(lo, 255));
    }
}
uint32_t dim(Rng& r) {
    return r.chance(65)   ? r.range(1, 8)
           : r.chance(70) ? r.pick<uint32_t>({15, 16, 17, 31, 32, 33, 63, 64, 65})
                          : r.range(1, 40);
}

Image generate(uint64_t seed) {
    Rng r{std::mt19937(uint32_t(seed * 2246822519u + 7))};
    const uint32_t M = dim(r), K = dim(r), N = dim(r);
    const uint32_t width = r.pick<uint32_t>({3, 16, 17, 33, 64, 97, r.range(20, 90)});
    const bool wide = r.chance(8);
    // a M x K, b K x N, bias 1 x N (int32 pixels), addend M x N, out M x N, row bias 1 x N, bias 1 x N.
    std::vector<MatrixHeader> shapes = {{K, M}, {N, K}, {N, 1}, {N, M}, {N, M}, {N, 1}, {N, 1}};
    if (r.chance(5)) shapes[1] = {dim(r), dim(r)};
    std::vector<uint32_t> rows;
    uint64_t next = wide ? r.range(250, 300) : 1;
    for (const auto& h : shapes) {
        rows.push_back(uint32_t(next));
        next += rows_for_elements(h.elements(), width) + (r.chance(10) ? 1 : 0);
    }
    Image img = make_image(width, uint32_t(next));
    for (size_t i = size_t(width) * 4; i < img.rgba.size(); ++i)
        img.rgba[i] = uint8_t(r.below(256));
    const uint32_t style = r.below(3);
    for (size_t m = 0; m < shapes.size(); ++m) {
        if (m == 2 || m == 6) {
            std::vector<int32_t> bias(N);
            for (auto& v : bias)
                v = bias_value(r);
            put_bias(img, rows[m], bias);
            continue;
        }
        std::vector<uint8_t> v(shapes[m].elements());
        for (auto& x : v)
            x = uint8_t(style == 0   ? r.below(256)
                        : style == 1 ? r.pick<uint32_t>({0, 1, 127, 128, 254, 255})
                                     : 120 + r.below(16));
        (void)write_matrix(img, rows[m], shapes[m], v);
    }
    uint32_t x = 0;
    while (x < width) {
        if (x + 6 > width && r.chance(70)) break; // mostly no room for parameters: stop cleanly
        const uint32_t k = r.below(100);
        uint8_t lo, hi;
        clamps(r, lo, hi);
        auto bias_row = [&]() -> uint16_t {
            const uint32_t b = r.below(100);
            if (b < 35) return 0;
            if (b < 92) return uint16_t(r.chance(50) ? rows[2] : rows[6]);
            if (b < 96) return uint16_t(rows[4]); // the output's own row: shape mismatch or overlap
            return uint16_t(r.chance(50) ? img.height + r.below(5) : rows[0]);
        };
        const uint32_t out = r.chance(90) ? rows[4] : r.pick<uint32_t>({rows[0], rows[1], rows[2], rows[3]});
        if (k < 30) {
            QMatmulParams p;
            p.za = zero_point(r), p.zb = zero_point(r), p.zc = zero_point(r), p.shift = shift(r);
            p.multiplier = multiplier(r), p.bias_row = bias_row(), p.clamp_lo = lo, p.clamp_hi = hi;
            x = put_q(img, x, Opcode::QMATMUL, rows[0], rows[1], out, encode_params(p));
        } else if (k < 45) {
            QMatmul32Params p;
            p.za = zero_point(r), p.zb = zero_point(r), p.bias_row = bias_row();
            auto params = encode_params(p);
            if (r.chance(3)) params[r.below(2)][2 + r.below(2)] = 1; // reserved channel set
            x = put_q(img, x, Opcode::QMATMUL32, rows[0], rows[1], out, params);
        } else if (k < 70) {
            QAddParams p;
            p.za = zero_point(r), p.zb = zero_point(r), p.zc = zero_point(r), p.shift = shift(r);
            p.ma = multiplier(r), p.mb = multiplier(r), p.clamp_lo = lo, p.clamp_hi = hi;
            auto params = encode_params(p);
            if (r.chance(3)) params[3][2 + r.below(2)] = 7;
            const uint32_t a = r.chance(70) ? rows[3] : rows[4];
            const uint32_t b = r.chance(50) ? rows[3] : rows[5];
            x = put_q(img, x, Opcode::QADD, a, b, r.chance(40) ? a : out, params);
        } else if (k < 85) {
            QReluParams p{zero_point(r)};
            auto params = encode_params(p);
            if (r.chance(3)) params[0][1 + r.below(3)] = 1;
            x = put_q(img, x, Opcode::QRELU, r.pick<uint32_t>({rows[0], rows[3], rows[4]}), 0, 0, params);
        } else if (k < 92) {
            x = put_q(img, x, Opcode::MATMUL, rows[0], rows[1], out, {});
        } else {
            x = put_q(img, x, Opcode::ADD, rows[3], rows[5], rows[4], {});
        }
        if (r.chance(8)) break;
    }
    if (x < width) img.set_pixel(x, 0, {0, 0, 0, 0});
    return img;
}

} // namespace

TEST_CASE("QMATMUL ties, extremes of M and shift, saturation and bias: GL equals CPU") {
    // One 3x5 @ 5x4 layer run with many parameter sets, each its own program.
    const std::vector<uint8_t> a = {0, 1, 2, 254, 255, 128, 127, 3, 200, 9, 255, 255, 255, 0, 1};
    std::vector<uint8_t> b(20);
    for (size_t i = 0; i < b.size(); ++i)
        b[i] = uint8_t(i * 53 + 7);
    const int32_t ms[] = {0, 1, 1 << 30, 0x7FFFFFFF, 1518500250};
    const uint8_t shifts[] = {1, 2, 31, 32, 33, 62};
    int programs = 0;
    for (int32_t m : ms)
        for (uint8_t s : shifts)
            for (int zp = 0; zp < 3; ++zp) {
                Image img = make_image(16, 8);
                put_matrix(img, 1, 3, 5, a);
                put_matrix(img, 2, 5, 4, b);
                put_bias(img, 5, {INT_MIN, INT_MAX, -12345, 0});
                QMatmulParams p;
                p.za = uint8_t(zp * 127), p.zb = uint8_t(255 - zp * 100), p.zc = uint8_t(zp * 120);
                p.multiplier = m, p.shift = s, p.bias_row = zp == 1 ? 0 : 5;
                p.clamp_lo = zp == 2 ? p.zc : 0;
                uint32_t x = put_q(img, 0, Opcode::QMATMUL, 1, 2, 3, encode_params(p));
                QMatmul32Params p32;
                p32.za = p.za, p32.zb = p.zb, p32.bias_row = p.bias_row;
                put_q(img, x, Opcode::QMATMUL32, 1, 2, 4, encode_params(p32));
                both_kernels(img, "M=" + std::to_string(m) + " shift=" + std::to_string(s) + " zp set " +
                                      std::to_string(zp));
                ++programs;
            }
    CHECK(programs == 90);
}

TEST_CASE("rounding ties of both signs and QADD at its extremes: GL equals CPU") {
    // acc = +-5 (or +-3) with M/2^shift = 1/2: ties +2.5 -> 3 and -2.5 -> -2.
    for (int sign : {1, -1})
        for (uint8_t s : {1, 32, 33, 62}) {
            Image img = make_image(16, 8);
            put_matrix(img, 1, 1, 1, {uint8_t(sign > 0 ? 15 : 5)});
            put_matrix(img, 2, 1, 1, {1});
            QMatmulParams p;
            p.za = 10, p.zb = 0, p.zc = 100, p.shift = s;
            p.multiplier = s <= 31 ? int32_t(1u << (s - 1)) : int32_t(1u << 30); // 1/2 for s <= 31
            put_q(img, 0, Opcode::QMATMUL, 1, 2, 3, encode_params(p));
            both_kernels(img, "tie sign " + std::to_string(sign) + " shift " + std::to_string(s));
        }
    for (int32_t ma : {0, 1, 0x7FFFFFFF})
        for (uint8_t s : {1, 31, 32, 33, 62}) {
            Image img = make_image(8, 8);
            put_matrix(img, 1, 2, 3, {0, 255, 128, 1, 254, 127});
            put_matrix(img, 2, 1, 3, {255, 0, 128});
            QAddParams p;
            p.za = 128, p.zb = 127, p.zc = 128, p.shift = s, p.ma = ma, p.mb = 0x7FFFFFFF - ma;
            put_q(img, 0, Opcode::QADD, 1, 2, 1, encode_params(p)); // in place, row bias
            QReluParams r{130};
            put_q(img, 5, Opcode::QRELU, 1, 0, 0, encode_params(r));
            both_kernels(img, "qadd Ma=" + std::to_string(ma) + " shift=" + std::to_string(s));
        }
}

TEST_CASE("a wrapping QMATMUL accumulator (K = 33100) wraps identically on both kernels") {
    const uint32_t K = 33100, width = 1025;
    Image img = make_image(width, 80);
    put_matrix(img, 1, 1, K, std::vector<uint8_t>(K, 0));    // a - za = -255
    put_matrix(img, 40, K, 1, std::vector<uint8_t>(K, 255)); // b - zb = 255
    QMatmulParams p;
    p.za = 255, p.zb = 0, p.zc = 7, p.shift = 40, p.multiplier = 0x7FFFFFFF;
    uint32_t x = put_q(img, 0, Opcode::QMATMUL, 1, 40, 75, encode_params(p));
    QMatmul32Params p32;
    p32.za = 255;
    x = put_q(img, x, Opcode::QMATMUL32, 1, 40, 76, encode_params(p32));
    put_q(img, x, Opcode::DOT, 1, 40, 77, {});
    both_kernels(img, "wrapping accumulator");
    VmState vm = make_vm(img);
    run(vm);
    CHECK(rgba_to_i32(vm.image.pixel(1, 76)) == int32_t(uint32_t(-255 * 255) * K)); // wrapped
}

TEST_CASE("every BAD_PARAM traps identically on the GPU") {
    struct Case {
        const char* what;
        Opcode op;
        std::vector<Rgba> params;
    };
    const std::vector<Case> cases = {
        {"qmatmul shift 0", Opcode::QMATMUL, {{0, 0, 0, 0}, {1, 0, 0, 0}, {0, 0, 0, 255}}},
        {"qmatmul shift 63", Opcode::QMATMUL, {{0, 0, 0, 63}, {1, 0, 0, 0}, {0, 0, 0, 255}}},
        {"qmatmul M<0", Opcode::QMATMUL, {{0, 0, 0, 8}, {0, 0, 0, 128}, {0, 0, 0, 255}}},
        {"qmatmul bias row", Opcode::QMATMUL, {{0, 0, 0, 8}, {1, 0, 0, 0}, {200, 0, 0, 255}}},
        {"qmatmul clamp", Opcode::QMATMUL, {{0, 0, 0, 8}, {1, 0, 0, 0}, {0, 0, 9, 8}}},
        {"qadd Mb<0", Opcode::QADD, {{0, 0, 0, 8}, {1, 0, 0, 0}, {0, 0, 0, 255}, {0, 255, 0, 0}}},
        {"qadd reserved", Opcode::QADD, {{0, 0, 0, 8}, {1, 0, 0, 0}, {1, 0, 0, 0}, {0, 255, 0, 1}}},
        {"qrelu reserved", Opcode::QRELU, {{3, 0, 1, 0}}},
        {"qmatmul32 reserved", Opcode::QMATMUL32, {{0, 0, 1, 0}, {0, 0, 0, 0}}},
        {"qmatmul32 bias shape", Opcode::QMATMUL32, {{0, 0, 0, 0}, {1, 0, 0, 0}}},
    };
    for (const Case& c : cases) {
        Image img = make_image(8, 8);
        put_matrix(img, 1, 2, 2, {1, 2, 3, 4});
        put_q(img, 0, c.op, 1, 1, 3, c.params);
        gl::Executor ex = test_executor(gl::MatmulKernel::Tiled);
        CHECK(lockstep(ex, img, c.what) >= 0);
        CHECK_MESSAGE(gl_trap(ex).code == (std::string(c.what).find("shape") != std::string::npos
                                               ? TrapCode::SHAPE_MISMATCH
                                               : TrapCode::BAD_PARAM),
                      c.what);
    }
}

TEST_CASE("600 random quantized programs: CPU and GL agree after every step, both kernels") {
    const uint64_t base = seed_from_env(1125);
    for (auto k : {gl::MatmulKernel::Simple, gl::MatmulKernel::Tiled}) {
        gl::Executor ex = test_executor(k);
        int steps = 0, trapped = 0;
        for (int i = 0; i < 600; ++i) {
            const uint64_t seed = base + uint64_t(i);
            const int n = lockstep(ex, generate(seed), "quant seed " + std::to_string(seed));
            REQUIRE(n >= 0);
            steps += n;
            trapped += gl_status(ex) == VmStatus::Trapped;
        }
        MESSAGE("600 programs, " << steps << " steps, " << trapped << " trapped");
        CHECK(steps > 1500);
        CHECK(trapped > 30);
        CHECK(trapped < 400);
    }
}
