#version 430
#extension GL_ARB_gpu_shader_int64 : require
// qlayernorm.comp — QLAYERNORM (PROTOCOL.md §16.1), one invocation per row of a: the sum S, V =
// sum d_i^2 with d_i = N x_i - S, D = isqrt(floor(V / N) + E), then each t_i, acc and output code.
// a and b (2 x N: gains, biases) come gathered as whole pixel words before anything is written.
layout(local_size_x = 64) in;
#include "common.glsl"
#include "qint_common.glsl"
layout(std430, binding = 0) readonly buffer A { uint a_words[]; };
layout(std430, binding = 1) readonly buffer B { uint b_words[]; };
uniform uint u_out_row;
uniform uint u_rows, u_n; // a is rows x n, n <= 8192
uniform uint u_width;
uniform uvec4 u_header;
uniform uint u_za, u_zc, u_shift, u_clamp_lo, u_clamp_hi;
uniform int u_eps;

void main() {
    uint r = linear_invocation(64u);
    ivec2 hp = ivec2(0, int(u_out_row));
    if (r == 0u && inside_image(hp)) imageStore(u_image, hp, u_header);
    if (r >= u_rows) return;
    uint base = r * u_n;
    int S = 0; // |S| <= 8192 * 255
    for (uint i = 0u; i < u_n; ++i)
        S += int(a_words[base + i] & 0xFFu) - int(u_za);
    int64_t V = int64_t(0);
    for (uint i = 0u; i < u_n; ++i) {
        int64_t d = int64_t(int(u_n) * (int(a_words[base + i] & 0xFFu) - int(u_za)) - S); // |d| < 2^22
        V += d * d;
    }
    int64_t D = int64_t(qi_isqrt(uint64_t(V) / uint64_t(u_n) + uint64_t(u_eps)));
    for (uint i = 0u; i < u_n; ++i) {
        int64_t d = int64_t(int(u_n) * (int(a_words[base + i] & 0xFFu) - int(u_za)) - S);
        int64_t t = D == int64_t(0) ? int64_t(0) : qi_floor_div(d * int64_t(131072) + D, int64_t(2) * D);
        int64_t acc = t * int64_t(int(b_words[i])) + int64_t(int(b_words[u_n + i]));
        int64_t v = (acc + (int64_t(1) << int(u_shift - 1u))) >> int(u_shift);
        store_element_r(element_pos(u_out_row, base + i, u_width), qi_clamp_add(v, u_zc, u_clamp_lo, u_clamp_hi));
    }
}
