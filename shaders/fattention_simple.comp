#version 430
// fattention_simple.comp — FATTENTION (PROTOCOL.md §12.2), one invocation per (query row, head):
// the n = L - T + t + 1 visible scores into its slice of the scores buffer, fm_softmax_row on it
// (F.6), then each of the head's hd outputs as the F.5 sum over positions. The reference's loops.
layout(local_size_x = 64) in;
#include "common.glsl"
layout(std430, binding = 2) buffer Scores { uint scores[]; };
#define FM_ROW_BUFFER scores
#include "fmath.glsl"
#include "fattention_common.glsl"

void main() {
    uint g = linear_invocation(64u);
    attn_header(u_unit0 == 0u && g == 0u);
    if (g >= u_count) return;
    uint unit = u_unit0 + g, t = unit / u_heads, hd = u_d / u_heads, col = (unit % u_heads) * hd;
    uint n = u_l - u_t + t + 1u, base = g * u_l, scale = fm_canon(u_scale);
    for (uint j = 0u; j < n; ++j)
        scores[base + j] = attn_score(t, col, j, hd, scale);
    fm_softmax_row(base, base, n);
    for (uint d = 0u; d < hd; ++d)
        attn_store(t, col + d, attn_weighted(col + d, base, n));
}
