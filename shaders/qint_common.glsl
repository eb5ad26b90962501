// qint_common.glsl — the exact integer arithmetic of PROTOCOL.md §16 in 64-bit integers
// (GL_ARB_gpu_shader_int64; the shaders that include this require it, and the executor reports
// a clear error where the context lacks it). The same definitions as engine/vm/ops/qint_ops.h.
// Divisions are done only on non-negative operands (GLSL leaves signed division of negative
// numbers loosely specified), shifts of int64_t are arithmetic.

// floor(n / d) for d > 0.
int64_t qi_floor_div(int64_t n, int64_t d) {
    if (n >= int64_t(0)) return n / d;
    return -((-n + d - int64_t(1)) / d);
}

// The exact floor of sqrt(n), digit by digit.
uint64_t qi_isqrt(uint64_t n) {
    uint64_t r = uint64_t(0), bit = uint64_t(1) << 62;
    while (bit > n)
        bit >>= 2;
    while (bit != uint64_t(0)) {
        if (n >= r + bit) {
            n -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r;
}

// floor((x * m + 2^(shift-1)) / 2^shift), |x| <= 2^31, 0 <= m < 2^31, shift 1..62 (§5.5.1).
int64_t qi_rq(int64_t x, int m, uint shift) {
    return (x * int64_t(m) + (int64_t(1) << int(shift - 1u))) >> int(shift);
}

// clamp(zc + v, lo, hi) as a byte.
uint qi_clamp_add(int64_t v, uint zc, uint lo, uint hi) {
    int64_t t = v + int64_t(zc);
    if (t < int64_t(lo)) t = int64_t(lo);
    if (t > int64_t(hi)) t = int64_t(hi);
    return uint(t);
}

// i-exp of z <= 0 with 16 fraction bits (§16.3): LN2 = 45426, B = 88670, C = 4121251743.
int64_t qi_exp(int64_t z) {
    int64_t u = -z;
    int64_t k = u / int64_t(45426);
    int64_t r = u - k * int64_t(45426);
    int64_t b = int64_t(88670) - r;
    int64_t L = b * b + int64_t(4121251743u);
    return k < int64_t(64) ? L >> int(k) : int64_t(0);
}
