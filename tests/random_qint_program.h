// random_qint_program.h — seeded random programs of the integer transformer opcodes (PROTOCOL.md
// §16) for the parity tests: CPU reference vs fast executor (qint_ops_test.cpp) and vs the GL
// executor with both matmul kernels (gl_qint_random_test.cpp). Each is one u8 attention block:
//
//   QLAYERNORM x, gb -> h       (random zero points, shift, E, gains and biases, clamp)
//   QATTENTION h, K -> o        (V at v_row; T <= L, heads dividing D, Ms from tiny to 2^31-1)
//   QLUT o, table -> g          (a random table)
//   DEQUANT acc -> f            (i32 words, zero point 0, a random scale)
//   HALT
//
// with random placement and widths (matrices wrapping over image rows), outputs that sometimes
// overwrite their own input (in place), extreme codes and zero points, and a share of parameter
// and shape errors (each of which traps before anything is written).
#pragma once
#include "fmath.h"
#include "image.h"
#include "layout.h"
#include "opcodes.h"
#include "ops/op_params.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace pxtest {

struct QintProgram {
    px::Image image;
    std::string what;
};

inline QintProgram random_qint_program(std::mt19937& g) {
    using namespace px;
    auto below = [&g](uint32_t n) { return n ? uint32_t(g() % n) : 0u; };
    auto range = [&](int64_t lo, int64_t hi) { return lo + int64_t(g() % uint64_t(hi - lo + 1)); };
    auto chance = [&](uint32_t percent) { return below(100) < percent; };
    auto code = [&](uint8_t z) { // near the zero point, or anywhere, or an extreme
        if (chance(10)) return uint8_t(chance(50) ? 0 : 255);
        if (chance(50)) return uint8_t(std::clamp<int64_t>(int64_t(z) + range(-20, 20), 0, 255));
        return uint8_t(below(256));
    };
    auto zero_point = [&]() { return uint8_t(chance(15) ? (chance(50) ? 0 : 255) : below(256)); };

    const uint32_t heads = uint32_t(range(1, 3)), hd = uint32_t(range(1, 6)), D = heads * hd;
    const uint32_t L = uint32_t(range(1, 12)), T = chance(30) ? 1 : uint32_t(range(1, L));
    const uint32_t width = uint32_t(range(17, 40));
    const MatrixHeader hx{D, T}, hgb{D, 2}, hl{256, 1}, hk{D, L},
        hacc{uint32_t(range(1, 9)), uint32_t(range(1, 3))};
    // x, gb, table, K, V, h, o, g, acc, f
    const Allocation al = allocate_rows({hx, hgb, hl, hk, hk, hx, hx, hx, hacc, hacc}, width);
    Image img = make_image(width, al.height);
    uint32_t rx = al.rows[0], rgb = al.rows[1], rl = al.rows[2], rk = al.rows[3], rv = al.rows[4],
             rh = al.rows[5], ro = al.rows[6], rg = al.rows[7], racc = al.rows[8], rf = al.rows[9];
    auto words = [&](uint32_t row, MatrixHeader h, const std::vector<int32_t>& v) {
        img.set_pixel(0, row, encode_header(h));
        for (uint64_t i = 0; i < v.size(); ++i)
            img.set_pixel(element_x(i, width), uint32_t(element_y(i, row, width)), i32_to_rgba(v[i]));
    };
    auto codes = [&](uint32_t row, MatrixHeader h, uint8_t z) {
        std::vector<uint8_t> v(h.elements());
        for (auto& c : v)
            c = code(z);
        (void)write_matrix(img, row, h, v);
    };

    QLayerNormParams ln;
    ln.za = zero_point(), ln.zc = zero_point(), ln.shift = uint8_t(range(13, 40));
    ln.eps = chance(30) ? 0 : int32_t(range(0, chance(50) ? 100 : 1000000));
    ln.clamp_lo = uint8_t(chance(70) ? 0 : below(128)),
    ln.clamp_hi = uint8_t(chance(70) ? 255 : range(128, 255));
    codes(rx, hx, ln.za);
    std::vector<int32_t> gb(2 * size_t(D));
    for (uint32_t j = 0; j < D; ++j) {
        const int gbits = std::min(30, int(ln.shift) - 12), bbits = std::min(30, int(ln.shift) + 6);
        gb[j] = int32_t(chance(5) ? (chance(50) ? INT32_MIN : INT32_MAX)
                                  : range(-(int64_t(1) << gbits), int64_t(1) << gbits));
        gb[D + j] = int32_t(range(-(int64_t(1) << bbits), int64_t(1) << bbits));
    }
    words(rgb, hgb, gb);

    std::vector<uint8_t> table(256);
    for (auto& t : table)
        t = uint8_t(below(256));
    (void)write_matrix(img, rl, hl, table);

    QAttentionParams at;
    at.zq = ln.zc, at.zk = zero_point(), at.zv = zero_point(), at.zc = zero_point();
    at.v_row = uint16_t(rv), at.heads = uint16_t(heads);
    at.ms = int32_t(chance(10) ? INT32_MAX : range(0, INT32_MAX)),
    at.shift_s = uint8_t(range(chance(10) ? 1 : 20, 45));
    at.mo = int32_t(range(1 << 30, INT32_MAX)), at.shift_o = uint8_t(range(50, 56));
    at.clamp_lo = uint8_t(chance(80) ? 0 : below(100)),
    at.clamp_hi = uint8_t(chance(80) ? 255 : range(150, 255));
    codes(rk, hk, at.zk);
    codes(rv, hk, at.zv);

    std::vector<int32_t> acc(hacc.elements());
    for (auto& a : acc) // some of 0, +-1 and the extremes
        a = chance(10) ? std::array<int32_t, 5>{0, 1, -1, INT32_MIN, INT32_MAX}[below(5)]
                       : int32_t(chance(20) ? int64_t(int32_t(g())) : range(-100000, 100000));
    words(racc, hacc, acc);
    QConvertParams dq;
    dq.dtype = {3, 0, 1, 0};
    float scale = std::ldexp(1.0f + float(below(1000)) / 1000.0f, int(range(-30, 10)));
    // The smallest and the largest scale allowed (positive normal): products just above 2^-126, and
    // past the largest float (inf).
    if (chance(10)) scale = fm::from_bits(chance(50) ? 0x00800001u : 0x7F7FFFFFu);
    std::memcpy(&dq.scale_bits, &scale, 4);

    std::string what = "T=" + std::to_string(T) + " L=" + std::to_string(L) + " D=" + std::to_string(D) +
                       " heads=" + std::to_string(heads) + " width=" + std::to_string(width);
    // In place: QLAYERNORM onto x, QATTENTION onto its q, QLUT onto its input.
    if (chance(15)) rh = rx, what += " ln-in-place";
    if (chance(15)) ro = rh, what += " attention-in-place";
    if (chance(15)) rg = ro, what += " lut-in-place";

    std::vector<Rgba> row0;
    auto emit = [&](Opcode op, uint32_t a, uint32_t b, uint32_t c, const std::vector<Rgba>& params) {
        row0.push_back({uint8_t(op), uint8_t(a), uint8_t(b), uint8_t(c)});
        row0.insert(row0.end(), params.begin(), params.end());
    };
    std::vector<Rgba> pln = encode_params(ln), pat = encode_params(at), pdq = encode_params(dq);
    // A share of errors: one random parameter byte of one instruction, or a wrong shape.
    if (chance(12)) {
        std::vector<Rgba>& victim = chance(50) ? pln : pat;
        victim[below(uint32_t(victim.size()))][below(4)] = uint8_t(below(256));
        what += " corrupted-param";
    }
    uint32_t rk_used = rk;
    if (chance(5)) rk_used = rl, what += " K-is-the-table"; // 1 x 256: SHAPE_MISMATCH (or heads)
    emit(Opcode::QLAYERNORM, rx, rgb, rh, pln);
    emit(Opcode::QATTENTION, rh, rk_used, ro, pat);
    emit(Opcode::QLUT, ro, rl, rg, {});
    emit(Opcode::DEQUANT, racc, 0, rf, pdq);
    emit(Opcode::HALT, 0, 0, 0, {});
    for (uint32_t x = 0; x < row0.size() && x < width; ++x)
        img.set_pixel(x, 0, row0[x]);
    return {std::move(img), what};
}

} // namespace pxtest
