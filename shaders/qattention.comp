#version 430
#extension GL_ARB_gpu_shader_int64 : require
// qattention.comp — QATTENTION (PROTOCOL.md §16.3), one invocation per unit (query row t, head h),
// as fattention_simple.comp: the n = L - T + t + 1 visible int32 scores into its slice of the
// probabilities buffer, the max, e_j = iexp(rq(max(s_j - m, -2^30), Ms, shift_s)), p_j =
// floor(e_j * 2^22 / sum e), then each of the head's outputs clamp(zc + rq(sum_j p_j (v_jd - zv),
// Mo, shift_o)). q, K and V come gathered as whole pixel words (the code is the low byte).
layout(local_size_x = 64) in;
#include "common.glsl"
#include "qint_common.glsl"
layout(std430, binding = 0) readonly buffer Q { uint q_words[]; };
layout(std430, binding = 1) readonly buffer K { uint k_words[]; };
layout(std430, binding = 3) readonly buffer V { uint v_words[]; };
layout(std430, binding = 2) buffer Probs { int64_t probs[]; }; // one slice of L per unit
uniform uint u_out_row;
uniform uint u_count; // units in this dispatch
uniform uint u_unit0; // the first unit of this dispatch
uniform uint u_t, u_l, u_d, u_heads; // q is T x D, K and V are L x D
uniform uint u_width;
uniform uvec4 u_header;
uniform uint u_zq, u_zk, u_zv, u_zc, u_shift_s, u_shift_o, u_clamp_lo, u_clamp_hi;
uniform int u_ms, u_mo;

void main() {
    uint g = linear_invocation(64u);
    ivec2 hp = ivec2(0, int(u_out_row));
    if (u_unit0 == 0u && g == 0u && inside_image(hp)) imageStore(u_image, hp, u_header);
    if (g >= u_count) return;
    uint unit = u_unit0 + g, t = unit / u_heads, hd = u_d / u_heads, col = (unit % u_heads) * hd;
    uint n = u_l - u_t + t + 1u, base = g * u_l;
    int m = 0;
    for (uint j = 0u; j < n; ++j) {
        uint acc = 0u; // modulo 2^32, as QMATMUL
        for (uint d = 0u; d < hd; ++d)
            acc += uint((int(q_words[t * u_d + col + d] & 0xFFu) - int(u_zq)) *
                        (int(k_words[j * u_d + col + d] & 0xFFu) - int(u_zk)));
        int s = int(acc);
        probs[base + j] = int64_t(s);
        m = j == 0u ? s : max(m, s);
    }
    int64_t sum = int64_t(0);
    for (uint j = 0u; j < n; ++j) {
        int64_t delta = probs[base + j] - int64_t(m);
        if (delta < -(int64_t(1) << 30)) delta = -(int64_t(1) << 30);
        int64_t e = qi_exp(qi_rq(delta, u_ms, u_shift_s));
        probs[base + j] = e;
        sum += e;
    }
    for (uint j = 0u; j < n; ++j)
        probs[base + j] = (probs[base + j] << 22) / sum; // both >= 0; sum >= iexp(0) > 0
    for (uint d = 0u; d < hd; ++d) {
        int64_t o = int64_t(0); // |o| < 2^30
        for (uint j = 0u; j < n; ++j)
            o += probs[base + j] * int64_t(int(v_words[j * u_d + col + d] & 0xFFu) - int(u_zv));
        store_element_r(element_pos(u_out_row, t * u_d + col + d, u_width),
                        qi_clamp_add(qi_rq(o, u_mo, u_shift_o), u_zc, u_clamp_lo, u_clamp_hi));
    }
}
