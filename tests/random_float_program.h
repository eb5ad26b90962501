// random_float_program.h — seeded random programs of the float opcodes (PROTOCOL.md §11: FMATMUL,
// FADD, FMUL, DEQUANT, QUANT, FCONVERT, LAYERNORM, GELU; §12: FSOFTMAX, FATTENTION) for the parity tests:
// CPU reference vs fast executor (cpu_fast_test.cpp) and vs the GL executor with both matmul kernels
// (gl_float_random_test.cpp). Aimed at what float executors get wrong: K around the block size 16 (15, 16,
// 17, 31, 33, ...) and not a multiple of it, hostile element bits (NaN payloads, +-inf, subnormals, -0,
// 2^-126, MAX, values whose products overflow or cancel, fma-sensitive pairs), bias rows, every activation,
// scales and epsilons at their extremes, f16 pairs read from any bits, outputs overlapping inputs, chains of
// instructions on each other's results, and a share of parameter and shape errors (traps). Softmax rows and
// attention caches sometimes exceed the 64 invocations of a GL work group (so its strided loops wrap) and
// cross block boundaries; scales include 0, -1, +-inf, NaN and MAX.
#pragma once
#include "dtype.h"
#include "image.h"
#include "layout.h"
#include "opcodes.h"
#include "ops/op_params.h"

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace pxtest {

struct FloatProgram {
    px::Image image;
    std::string what;
};

inline FloatProgram random_float_program(std::mt19937& g) {
    auto below = [&g](uint32_t n) { return n ? uint32_t(g() % n) : 0u; };
    auto range = [&](uint32_t lo, uint32_t hi) { return lo + below(hi - lo + 1); };
    auto chance = [&](uint32_t percent) { return below(100) < percent; };
    auto dim = [&]() -> uint32_t {
        static constexpr uint32_t kEdges[] = {1, 2, 15, 16, 17, 31, 32, 33, 47};
        return chance(50) ? range(1, 6) : kEdges[below(9)];
    };
    auto value = [&](uint32_t style) -> uint32_t {
        static constexpr uint32_t kHostile[] = {
            0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x00800000, 0x80800000, 0x00800001,
            0x7F800000, 0xFF800000, 0x7FC00000, 0x7FC12345, 0xFFFFFFFF, 0x7F800001, 0x7F7FFFFF,
            0xFF7FFFFF, 0x3F800000, 0xBF800000, 0x3F800800, 0xBF801000, 0x1F800000, 0x5F800000};
        float f = 0;
        switch (style) {
        case 0: f = std::normal_distribution<float>(0, 1)(g); break;
        case 1: f = float(int(range(0, 8)) - 4); break;
        case 2:
            f = std::normal_distribution<float>(0, 1)(g) * std::ldexp(1.0f, int(range(0, 120)) - 60);
            break;
        default: return chance(60) ? kHostile[below(sizeof kHostile / 4)] : uint32_t(g());
        }
        uint32_t b;
        std::memcpy(&b, &f, 4);
        return b;
    };

    const uint32_t M = dim(), K = chance(20) ? range(40, 80) : dim(), N = dim();
    // Attention: T queries, L >= T cached rows (often past 64), heads of hd columns (hd past 64 too).
    uint32_t heads = chance(50) ? 1 : range(2, 5), hd = chance(15) ? range(64, 70) : range(1, 20);
    const uint32_t T = range(1, 3);
    uint32_t L = T + (chance(25) ? range(60, 90) : range(0, 17));
    const uint32_t width = chance(30) ? range(2, 12) : range(17, 70);
    const uint32_t stride = width - 1;
    auto rows_for = [&](uint64_t n) { return uint32_t(std::max<uint64_t>(1, (n + stride - 1) / stride)); };
    // Each cache within 24 image rows, so that the operands stay addressable without WIDE.
    while (rows_for(uint64_t(L) * heads * hd) > 24) {
        if (hd > 1)
            hd = (hd + 1) / 2;
        else if (heads > 1)
            --heads;
        else
            L = T + (L - T) / 2;
    }
    const uint32_t D = heads * hd;
    // Slots: a (M x K), b (K x N), bias (1 x N), c (M x N), b2 (N x N) for a chained instruction,
    // q (T x D), K (L x D), V (L x D), out (T x D).
    constexpr int kSlots = 9;
    const px::MatrixHeader shapes[kSlots] = {{K, M}, {N, K}, {N, 1}, {N, M}, {N, N},
                                             {D, T}, {D, L}, {D, L}, {D, T}};
    uint32_t rows[kSlots], next = 1;
    for (int s = 0; s < kSlots; ++s) {
        rows[s] = next;
        next += rows_for(shapes[s].elements());
    }
    const uint32_t height = next + (chance(10) ? 0 : range(0, 2));
    px::Image img = px::make_image(width, height);
    const uint32_t style = below(4);
    for (int s = 0; s < kSlots; ++s) {
        if ((s == 3 || s == 8) && chance(30)) continue; // c sometimes starts empty (BAD_HEADER if read first)
        img.set_pixel(0, rows[s], px::encode_header(shapes[s]));
        for (uint64_t i = 0; i < shapes[s].elements(); ++i)
            img.set_pixel(px::element_x(i, width), uint32_t(px::element_y(i, rows[s], width)),
                          px::word_pixel(chance(90) ? value(style) : value(3)));
    }

    uint32_t x = 0;
    auto emit = [&](px::Opcode op, uint32_t a, uint32_t b, uint32_t c, const std::vector<px::Rgba>& params) {
        if (x + 1 + params.size() > width) return false;
        if (a > 255 || b > 255 || c > 255) return false; // no WIDE prefixes here
        img.set_pixel(x, 0, {uint8_t(op), uint8_t(a), uint8_t(b), uint8_t(c)});
        for (size_t k = 0; k < params.size(); ++k)
            img.set_pixel(x + 1 + uint32_t(k), 0, params[k]);
        x += 1 + uint32_t(params.size());
        return true;
    };
    // A scale, inverse scale or epsilon pixel: usually valid (powers of two, random normal values,
    // the extremes), sometimes not (0, negative, subnormal, NaN, inf: BAD_PARAM).
    auto scale_bits = [&](bool allow_zero) -> uint32_t {
        static constexpr uint32_t kBad[] = {0x00000000, 0x80000000, 0xBF800000, 0x00000001, 0x007FFFFF,
                                            0x00800000, 0x7F800000, 0x7FC00000, 0xFFFFFFFF};
        static constexpr uint32_t kGood[] = {0x3F800000, 0x3D800000, 0x41200000, 0x00800001,
                                             0x7F7FFFFF, 0x3727C5AC, 0x01000000, 0x4B000000};
        if (chance(6)) return kBad[below(sizeof kBad / 4)];
        if (allow_zero && chance(10)) return 0;
        if (chance(50)) return kGood[below(sizeof kGood / 4)];
        const float f = std::ldexp(1.0f + float(below(1u << 20)) / float(1u << 20), int(range(0, 40)) - 20);
        uint32_t b;
        std::memcpy(&b, &f, 4);
        return b;
    };
    // DEQUANT, QUANT, FCONVERT, LAYERNORM, GELU over the same slots: c (M x N) is the usual
    // operand (it may not exist yet: BAD_HEADER), the bias row (1 x N) the gain, b2 (N x N) an
    // f16 or u8 destination, a (M x K) a destination that may be too small or a wrong-shape input.
    auto emit_unary = [&](uint32_t pick, px::FloatDtypes dtype) {
        const uint32_t k = below(100);
        if (pick < 63) { // LAYERNORM
            px::LayerNormParams p;
            p.dtype = dtype;
            p.bias_row = uint16_t(chance(60) ? rows[2] : (chance(10) ? rows[4] : 0)); // rows[4]: wrong shape
            p.eps_bits = scale_bits(true);
            if (chance(2)) p.reserved = 1;
            uint32_t a = rows[3], g = rows[2], c = k < 40 ? rows[3] : rows[0];
            if (k >= 90)
                a = rows[0]; // M x K: SHAPE_MISMATCH unless K == N
            else if (k >= 80)
                g = rows[4]; // N x N gain: SHAPE_MISMATCH unless N == 1
            return emit(px::Opcode::LAYERNORM, a, g, c, px::encode_params(p));
        }
        if (pick < 71) { // GELU, in place or into a (which may be too small)
            px::FloatDtypes d{1, 0, 1, dtype.reserved};
            if (chance(4)) d.b = 1; // BAD_PARAM: b is of kind none
            return emit(px::Opcode::GELU, rows[3], 0, k < 50 ? rows[3] : rows[0],
                        px::encode_params(px::FUnaryParams{d}));
        }
        if (pick < 86) { // QUANT c -> a's rows (u8: R only), or DEQUANT of what is there
            px::QConvertParams p;
            const bool quant = chance(50);
            p.dtype = quant ? px::FloatDtypes{1, 0, 0, 0} : px::FloatDtypes{0, 0, 1, 0};
            if (chance(4)) p.dtype.b = 1;
            p.scale_bits = scale_bits(false);
            p.zero_point = uint8_t(chance(30) ? (chance(50) ? 0 : 255) : below(256));
            if (chance(3)) p.reserved = 1;
            const uint32_t a = quant ? rows[3] : (k < 50 ? rows[0] : rows[3]);
            const uint32_t c = k < 30 ? a : (quant ? rows[0] : rows[4]);
            return emit(quant ? px::Opcode::QUANT : px::Opcode::DEQUANT, a, 0, c, px::encode_params(p));
        }
        // FCONVERT: f32 -> f16 of c into b2 or in place; f16 -> f32 of b2 (any bits) into c.
        const bool to_f16 = chance(50);
        px::FUnaryParams p{to_f16 ? px::FloatDtypes{1, 0, 2, 0} : px::FloatDtypes{2, 0, 1, 0}};
        if (chance(4)) p.dtype.c = p.dtype.a; // f16 -> f16 or f32 -> f32: BAD_PARAM
        const uint32_t a = to_f16 ? rows[3] : rows[4];
        const uint32_t c = k < 25 ? a : (to_f16 ? rows[4] : (k < 60 ? rows[3] : rows[0]));
        return emit(px::Opcode::FCONVERT, a, 0, c, px::encode_params(p));
    };
    for (uint32_t n = range(1, 4); n > 0; --n) {
        px::FloatDtypes dtype;
        if (chance(5)) dtype.b = uint8_t(below(4)); // usually BAD_PARAM
        if (chance(2)) dtype.reserved = 1;
        auto scale = [&]() -> uint32_t {
            static constexpr uint32_t kScales[] = {0x3F800000, 0x3E000000, 0x3F3504F3, 0,
                                                   0xBF800000, 0x7F800000, 0xFF800000, 0x7FC12345,
                                                   0x7F7FFFFF, 0x00000001};
            return chance(70) ? kScales[below(3)] : chance(70) ? kScales[below(10)] : uint32_t(g());
        };
        bool ok = false;
        const uint32_t pick = below(100), kind = below(100);
        if (pick >= 52) { // the conversions and row functions (PROTOCOL.md §11.4-11.7)
            ok = emit_unary(pick, dtype);
        } else if (kind < 15) { // FSOFTMAX on a's rows, the matmul's output, q, or K in place
            px::FSoftmaxParams p;
            p.dtype = {1, 0, 1, 0};
            if (chance(5)) p.dtype.b = 1; // BAD_PARAM: b is none
            if (chance(2)) p.dtype.reserved = 1;
            p.scale = scale();
            static constexpr int kFrom[] = {0, 3, 5, 6};
            const uint32_t a = rows[kFrom[below(4)]];
            ok = emit(px::Opcode::FSOFTMAX, a, 0, chance(40) ? a : rows[3], px::encode_params(p));
        } else if (kind < 35) { // FATTENTION on the caches; sometimes V = K, out over q, or a wrong shape
            px::FAttentionParams p;
            p.dtype = dtype;
            p.heads = uint16_t(heads);
            p.v_row = uint16_t(rows[7]);
            p.scale = scale();
            uint32_t a = rows[5], b = rows[6], c = chance(25) ? rows[5] : rows[8];
            const uint32_t k = below(100);
            if (k < 10)
                p.v_row = uint16_t(rows[6]); // V = K: valid
            else if (k < 14)
                p.heads = uint16_t(range(0, 7)); // 0 is BAD_PARAM; most others SHAPE_MISMATCH
            else if (k < 17)
                p.v_row = uint16_t(chance(50) ? 0 : rows[5]); // BAD_PARAM, or V of the wrong shape
            else if (k < 20)
                b = rows[5]; // K = q: valid (L = T)
            else if (k < 23)
                a = rows[6]; // L queries over L rows: valid (a prefill)
            else if (k < 25)
                a = rows[0]; // usually SHAPE_MISMATCH
            ok = emit(px::Opcode::FATTENTION, a, b, c, px::encode_params(p));
        } else if (kind < 70) {
            px::FMatmulParams p;
            p.dtype = dtype;
            p.activation = uint8_t(below(3));
            p.bias_row = uint16_t(chance(50) ? rows[2] : 0);
            if (chance(3)) p.activation = uint8_t(range(3, 255));
            if (chance(2)) p.reserved = 1;
            uint32_t a = rows[0], b = rows[1], c = rows[3];
            const uint32_t k = below(100);
            if (k < 15)
                c = rows[0]; // c overlaps a (and b when shapes allow)
            else if (k < 25)
                a = rows[3], b = rows[4]; // chained: c @ b2 (c may not exist yet)
            else if (k < 30)
                b = rows[4]; // usually SHAPE_MISMATCH
            else if (k < 33)
                p.bias_row = uint16_t(rows[4]); // bias of the wrong shape unless N == 1
            ok = emit(px::Opcode::FMATMUL, a, b, c, px::encode_params(p));
        } else { // FADD / FMUL: on the matmul's output, with the bias row broadcast, in place, or wrong
            const px::Opcode op = chance(50) ? px::Opcode::FADD : px::Opcode::FMUL;
            uint32_t a = rows[3], b = rows[2], c = rows[3];
            const uint32_t k = below(100);
            if (k < 25)
                b = rows[3]; // equal shapes, a == b
            else if (k < 40)
                a = rows[4], b = rows[4]; // N x N with itself
            else if (k < 50)
                a = rows[4], c = rows[0]; // N x N + 1 x N row, written over a
            else if (k < 58)
                b = rows[1]; // usually SHAPE_MISMATCH
            else if (k < 65)
                a = rows[0], b = rows[0], c = rows[4]; // may overflow the image
            ok = emit(op, a, b, c, px::encode_params(px::FBinaryParams{dtype}));
        }
        if (!ok) break;
    }
    if (x < width && chance(80)) img.set_pixel(x, 0, {0, 0, 0, 0}); // HALT (or run off the end)
    FloatProgram out;
    out.image = std::move(img);
    out.what = std::to_string(width) + "x" + std::to_string(height) + " M,K,N=" + std::to_string(M) + "," +
               std::to_string(K) + "," + std::to_string(N) + " T,L,D,heads=" + std::to_string(T) + "," +
               std::to_string(L) + "," + std::to_string(D) + "," + std::to_string(heads) + " style " +
               std::to_string(style);
    return out;
}

} // namespace pxtest
