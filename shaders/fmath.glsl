// fmath.glsl — pxOS float arithmetic, exact by definition: the GLSL twin of engine/fmath.h
// (definitions in PROTOCOL.md §15). Values travel as uint bit patterns, never as float
// variables, so no NaN, subnormal or -0 ever reaches a float operation the driver could treat
// its own way:
//  * every +, -, * runs on two canonical finite operands (no subnormal, no -0, no NaN, no inf:
//    the special operands take an integer path), in a `precise` expression, so the compiler may
//    neither fuse it into an fma nor reorder, merge or drop it; GLSL 4.30 §4.7.1 makes + - *
//    correctly rounded; the result's bits are canonicalized at once (fm_canon), whatever the
//    hardware did with a subnormal result;
//  * no division, sqrt, inversesqrt, exp, tanh, fma or other built-in whose precision GLSL leaves
//    to the driver: only int/uint operations, float <-> int conversions of integers, comparisons.
// Constants are bit patterns (uintBitsToFloat), so no decimal literal is parsed by the driver.
// Row functions: define FM_ROW_BUFFER as the name of a uint[] (an SSBO member) before including
// this file to get fm_sum_range, fm_dot_range, fm_softmax_row and fm_layernorm_row on it.

const uint FM_NAN = 0x7FC00000u;
const uint FM_INF = 0x7F800000u;
const uint FM_NEG_INF = 0xFF800000u;
const uint FM_ONE = 0x3F800000u;
const uint FM_HALF = 0x3F000000u;
const uint FM_TWO = 0x40000000u;
const uint FM_SIGN = 0x80000000u;

uint fm_canon(uint b) {
    uint mag = b & 0x7FFFFFFFu;
    if (mag > FM_INF) return FM_NAN;
    if (mag <= 0x00800000u) return 0u; // zeros, subnormals and 2^-126 itself
    return b;
}

bool fm_is_nan(uint b) {
    return (b & 0x7FFFFFFFu) > FM_INF;
}
bool fm_special(uint b) {
    return (b & 0x7F800000u) == 0x7F800000u;
} // inf or NaN

// a + b when a or b is inf or NaN (canonical operands).
uint fm_add_special(uint a, uint b) {
    if (fm_is_nan(a) || fm_is_nan(b)) return FM_NAN;
    if (fm_special(a) && fm_special(b)) return a == b ? a : FM_NAN; // inf - inf
    return fm_special(a) ? a : b;
}

uint fm_add(uint a, uint b) {
    if (fm_special(a) || fm_special(b)) return fm_add_special(a, b);
    precise float r = uintBitsToFloat(a) + uintBitsToFloat(b);
    return fm_canon(floatBitsToUint(r));
}

uint fm_sub(uint a, uint b) {
    if (fm_special(a) || fm_special(b)) return fm_add_special(a, fm_is_nan(b) ? b : b ^ FM_SIGN);
    precise float r = uintBitsToFloat(a) - uintBitsToFloat(b);
    return fm_canon(floatBitsToUint(r));
}

uint fm_mul(uint a, uint b) {
    if (fm_special(a) || fm_special(b)) {
        if (fm_is_nan(a) || fm_is_nan(b) || a == 0u || b == 0u) return FM_NAN; // NaN, inf * 0
        return FM_INF | ((a ^ b) & FM_SIGN);
    }
    precise float r = uintBitsToFloat(a) * uintBitsToFloat(b);
    return fm_canon(floatBitsToUint(r));
}

// 2^e, -126 <= e <= 127, from the bits.
uint fm_pow2(int e) {
    return uint(e + 127) << 23u;
}

// Canonical value of a small integer (|i| < 2^24: exact).
uint fm_from_int(int i) {
    return fm_canon(floatBitsToUint(float(i)));
}

// The int32 x as the nearest binary32, ties to even (DEQUANT of i32, PROTOCOL.md §16.4), by hand:
// float(int) is not trusted to round correctly for |x| > 2^24 on every driver.
uint fm_from_i32_rne(int x) {
    if (x == 0) return 0u;
    uint sign = x < 0 ? FM_SIGN : 0u;
    uint m = x < 0 ? ~uint(x) + 1u : uint(x); // |x|, 2^31 for -2^31
    int e = findMSB(m);                       // 0 .. 31
    uint mant;
    if (e <= 23) {
        mant = m << uint(23 - e); // exact
    } else {
        uint sh = uint(e - 23), rest = m & ((1u << sh) - 1u), half_ulp = 1u << (sh - 1u);
        mant = m >> sh;
        if (rest > half_ulp || (rest == half_ulp && (mant & 1u) != 0u)) mant += 1u;
        if (mant == (1u << 24)) { // rounded up to the next power of two
            mant >>= 1u;
            e += 1;
        }
    }
    return sign | (uint(e + 127) << 23u) | (mant & 0x7FFFFFu);
}

// floor(t) of a canonical finite t, |t| < 2^30: truncation (exact), corrected.
int fm_floor_int(uint t) {
    float f = uintBitsToFloat(t);
    int i = int(f);
    if (float(i) > f) i -= 1;
    return i;
}

// Float comparisons of canonical non-NaN values, on the bits (sign-magnitude order).
bool fm_less(uint a, uint b) {
    bool na = (a & FM_SIGN) != 0u, nb = (b & FM_SIGN) != 0u;
    if (na != nb) return na;
    return na ? a > b : a < b;
}

// ---- float16 (storage only) ----

uint fm_from_f16(uint h) {
    uint sign = (h & 0x8000u) << 16u;
    uint e = (h >> 10u) & 0x1Fu;
    uint m = h & 0x3FFu;
    if (e == 0x1Fu) return m != 0u ? FM_NAN : (sign | FM_INF);
    if (e == 0u) {
        if (m == 0u) return 0u;
        int shift = 0;
        while ((m & 0x400u) == 0u) {
            m <<= 1u;
            ++shift;
        }
        return sign | (uint(113 - shift) << 23u) | ((m & 0x3FFu) << 13u);
    }
    return sign | ((e + 112u) << 23u) | (m << 13u);
}

uint fm_to_f16(uint x) {
    uint b = fm_canon(x);
    uint sign = (b >> 16u) & 0x8000u;
    uint mag = b & 0x7FFFFFFFu;
    if (mag > FM_INF) return 0x7E00u;
    if (mag == FM_INF) return sign | 0x7C00u;
    if (mag == 0u) return 0u;
    int e = int(mag >> 23u) - 127;
    uint m = (mag & 0x7FFFFFu) | 0x800000u;
    if (e >= 16) return sign | 0x7C00u;
    int drop = e < -14 ? 13 + (-14 - e) : 13;
    if (drop > 24) return 0u;
    uint q = m >> uint(drop);
    uint rest = m & ((1u << uint(drop)) - 1u);
    uint half_ = 1u << uint(drop - 1);
    if (rest > half_ || (rest == half_ && (q & 1u) != 0u)) ++q;
    uint outv;
    if (e < -14) {
        outv = q;
    } else {
        outv = (uint(e + 15) << 10u) + (q - 0x400u);
        if (outv >= 0x7C00u) outv = 0x7C00u;
    }
    if (outv == 0u) return 0u;
    return sign | outv;
}

// ---- Reductions ----

// The fixed halving tree over 16 terms: u[i] + u[i+8], then + [i+4], + [i+2], + [i+1].
uint fm_block_sum(uint u[16]) {
    uint v[8];
    for (int i = 0; i < 8; ++i)
        v[i] = fm_add(u[i], u[i + 8]);
    for (int i = 0; i < 4; ++i)
        v[i] = fm_add(v[i], v[i + 4]);
    for (int i = 0; i < 2; ++i)
        v[i] = fm_add(v[i], v[i + 2]);
    return fm_add(v[0], v[1]);
}

// ---- Exact product (Dekker, Veltkamp split by 4097) ----

void fm_split(uint a, out uint hi, out uint lo) {
    uint c = fm_mul(0x45801000u, a);
    hi = fm_sub(c, fm_sub(c, a));
    lo = fm_sub(a, hi);
}

void fm_two_product(uint a, uint b, out uint h, out uint l) {
    h = fm_mul(a, b);
    uint ah, al, bh, bl;
    fm_split(a, ah, al);
    fm_split(b, bh, bl);
    l = fm_add(fm_add(fm_add(fm_sub(fm_mul(ah, bh), h), fm_mul(ah, bl)), fm_mul(al, bh)), fm_mul(al, bl));
}

// ---- Elementary functions ----

uint fm_exp(uint x) {
    x = fm_canon(x);
    if (fm_is_nan(x)) return FM_NAN;
    if (fm_less(0x42B20000u, x)) return FM_INF; // x > 89
    if (fm_less(x, 0xC2D00000u)) return 0u;     // x < -104
    int n = fm_floor_int(fm_add(fm_mul(x, 0x3FB8AA3Bu), FM_HALF));
    uint fn = fm_from_int(n);
    uint r = fm_sub(fm_sub(x, fm_mul(fn, 0x3F317200u)), fm_mul(fn, 0x35BFBE8Eu));
    uint p = 0x39500D01u;
    p = fm_add(fm_mul(p, r), 0x3AB60B61u);
    p = fm_add(fm_mul(p, r), 0x3C088889u);
    p = fm_add(fm_mul(p, r), 0x3D2AAAABu);
    p = fm_add(fm_mul(p, r), 0x3E2AAAABu);
    p = fm_add(fm_mul(p, r), FM_HALF);
    p = fm_add(fm_mul(p, r), FM_ONE);
    p = fm_add(fm_mul(p, r), FM_ONE);
    int n1 = n >= 0 ? n / 2 : -(-n / 2); // n / 2 truncated toward zero; no negative operand
    int n2 = n - n1;
    return fm_mul(fm_mul(p, fm_pow2(n1)), fm_pow2(n2));
}

uint fm_recip(uint x) {
    uint b = fm_canon(x);
    uint mag = b & 0x7FFFFFFFu, sign = b & FM_SIGN;
    if (mag > FM_INF) return FM_NAN;
    if (mag == 0u) return FM_INF;
    if (mag == FM_INF) return 0u;
    int e = int(mag >> 23u) - 127;
    uint m = (mag & 0x7FFFFFu) | FM_ONE;
    uint y = fm_sub(0x3FB4B4B5u, fm_mul(0x3EF0F0F1u, m));
    for (int i = 0; i < 3; ++i)
        y = fm_add(y, fm_mul(y, fm_sub(FM_ONE, fm_mul(m, y))));
    uint h, l;
    fm_two_product(m, y, h, l);
    y = fm_add(y, fm_mul(y, fm_sub(fm_sub(FM_ONE, h), l)));
    if (e >= 127) return 0u;
    return fm_canon(fm_mul(y, fm_pow2(-e)) | sign);
}

uint fm_rsqrt(uint x) {
    uint b = fm_canon(x);
    if (fm_is_nan(b)) return FM_NAN;
    if (b == 0u) return FM_INF;
    if ((b & FM_SIGN) != 0u) return FM_NAN;
    if (b == FM_INF) return 0u;
    int e = int(b >> 23u) - 127;
    int h = e >= 0 ? e / 2 : -((1 - e) / 2);
    uint m = (b & 0x7FFFFFu) | (uint(127 + e - 2 * h) << 23u);
    uint y = 0x5F3759DFu - (m >> 1u);
    for (int i = 0; i < 2; ++i)
        y = fm_add(y, fm_mul(fm_mul(FM_HALF, y), fm_sub(FM_ONE, fm_mul(fm_mul(m, y), y))));
    uint yh, yl, mh, ml;
    fm_two_product(y, y, yh, yl);
    fm_two_product(m, yh, mh, ml);
    uint r = fm_sub(fm_sub(fm_sub(FM_ONE, mh), ml), fm_mul(m, yl));
    y = fm_add(y, fm_mul(fm_mul(FM_HALF, y), r));
    return fm_mul(y, fm_pow2(-h));
}

uint fm_tanh(uint x) {
    x = fm_canon(x);
    if (fm_is_nan(x)) return FM_NAN;
    uint sign = x & FM_SIGN;
    uint a = x & 0x7FFFFFFFu;
    uint y;
    if (!fm_less(a, 0x41200000u)) { // a >= 10
        y = FM_ONE;
    } else if (!fm_less(a, FM_HALF)) { // a >= 0.5
        y = fm_sub(FM_ONE, fm_mul(FM_TWO, fm_recip(fm_add(fm_exp(fm_mul(FM_TWO, a)), FM_ONE))));
    } else {
        uint s = fm_mul(a, a);
        uint p = 0x3A1AAC12u;
        p = fm_add(fm_mul(p, s), 0xBABED1B2u);
        p = fm_add(fm_mul(p, s), 0x3B6B69E8u);
        p = fm_add(fm_mul(p, s), 0xBC11371Bu);
        p = fm_add(fm_mul(p, s), 0x3CB327A4u);
        p = fm_add(fm_mul(p, s), 0xBD5D0DD1u);
        p = fm_add(fm_mul(p, s), 0x3E088889u);
        p = fm_add(fm_mul(p, s), 0xBEAAAAABu);
        y = fm_add(a, fm_mul(a, fm_mul(s, p)));
    }
    return fm_canon(y | sign);
}

uint fm_gelu(uint x) {
    x = fm_canon(x);
    if (fm_is_nan(x)) return FM_NAN;
    if (x == FM_INF) return FM_INF;
    if (x == FM_NEG_INF) return 0u;
    uint x3 = fm_mul(fm_mul(x, x), x);
    uint u = fm_mul(0x3F4C422Au, fm_add(x, fm_mul(0x3D372713u, x3)));
    return fm_mul(x, fm_recip(fm_add(FM_ONE, fm_exp(fm_mul(0xC0000000u, u)))));
}

// ---- Row functions on FM_ROW_BUFFER ----
#ifdef FM_ROW_BUFFER

// sum of FM_ROW_BUFFER[base + k * stride], k < n, in the fixed order.
uint fm_sum_range(uint base, uint stride, uint n) {
    uint acc = 0u;
    for (uint j = 0u; j < n; j += 16u) {
        uint u[16];
        for (uint i = 0u; i < 16u; ++i)
            u[i] = j + i < n ? fm_canon(FM_ROW_BUFFER[base + (j + i) * stride]) : 0u;
        acc = fm_add(acc, fm_block_sum(u));
    }
    return acc;
}

uint fm_dot_range(uint a, uint stride_a, uint b, uint stride_b, uint n) {
    uint acc = 0u;
    for (uint j = 0u; j < n; j += 16u) {
        uint u[16];
        for (uint i = 0u; i < 16u; ++i)
            u[i] = j + i < n ? fm_mul(fm_canon(FM_ROW_BUFFER[a + (j + i) * stride_a]),
                                      fm_canon(FM_ROW_BUFFER[b + (j + i) * stride_b]))
                             : 0u;
        acc = fm_add(acc, fm_block_sum(u));
    }
    return acc;
}

// y[i] = FM_ROW_BUFFER[out + i] from x = FM_ROW_BUFFER[in + i], i < n (out may equal in).
void fm_softmax_row(uint in_, uint out_, uint n) {
    uint m = FM_NEG_INF;
    bool any_nan = false;
    for (uint i = 0u; i < n; ++i) {
        uint v = fm_canon(FM_ROW_BUFFER[in_ + i]);
        if (fm_is_nan(v))
            any_nan = true;
        else if (fm_less(m, v))
            m = v;
    }
    if (any_nan) {
        for (uint i = 0u; i < n; ++i)
            FM_ROW_BUFFER[out_ + i] = FM_NAN;
        return;
    }
    for (uint i = 0u; i < n; ++i)
        FM_ROW_BUFFER[out_ + i] = fm_exp(fm_sub(fm_canon(FM_ROW_BUFFER[in_ + i]), m));
    uint r = fm_recip(fm_sum_range(out_, 1u, n));
    for (uint i = 0u; i < n; ++i)
        FM_ROW_BUFFER[out_ + i] = fm_mul(FM_ROW_BUFFER[out_ + i], r);
}

void fm_layernorm_row(uint x, uint gain, uint bias, uint eps, uint out_, uint n) {
    uint r = fm_recip(fm_from_int(int(n)));
    uint mean = fm_mul(fm_sum_range(x, 1u, n), r);
    for (uint i = 0u; i < n; ++i)
        FM_ROW_BUFFER[out_ + i] = fm_sub(fm_canon(FM_ROW_BUFFER[x + i]), mean);
    uint var = fm_mul(fm_dot_range(out_, 1u, out_, 1u, n), r);
    uint s = fm_rsqrt(fm_add(var, fm_canon(eps)));
    for (uint i = 0u; i < n; ++i)
        FM_ROW_BUFFER[out_ + i] =
            fm_add(fm_mul(fm_mul(FM_ROW_BUFFER[out_ + i], s), fm_canon(FM_ROW_BUFFER[gain + i])),
                   fm_canon(FM_ROW_BUFFER[bias + i]));
}

#endif // FM_ROW_BUFFER

// ---- uint8 quantization (PROTOCOL.md §15 F.9), scale / inv_scale positive normal ----

// mul(float(q - zp), scale): q - zp in [-255, 255] converts exactly.
uint fm_dequantize(uint q, uint zp, uint scale) {
    return fm_mul(fm_from_int(int(q) - int(zp)), scale);
}

// clamp(rne(mul(x, inv_scale)) + zp, 0, 255), NaN -> zp: t clamped to [-512, 512] (0xC4000000,
// 0x44000000), rounded to an integer by adding and subtracting 1.5 * 2^23 (0x4B400000).
uint fm_quantize(uint x, uint inv_scale, uint zp) {
    uint t = fm_mul(fm_canon(x), inv_scale);
    if (fm_is_nan(t)) return zp;
    if (fm_less(t, 0xC4000000u)) t = 0xC4000000u;
    if (fm_less(0x44000000u, t)) t = 0x44000000u;
    uint r = fm_sub(fm_add(t, 0x4B400000u), 0x4B400000u);
    return uint(clamp(int(uintBitsToFloat(r)) + int(zp), 0, 255));
}
