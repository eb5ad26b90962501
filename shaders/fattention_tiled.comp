#version 430
// fattention_tiled.comp — FATTENTION (PROTOCOL.md §12.2), one work group of 64 per (query row,
// head): the visible scores in parallel (one invocation per position), the group softmax of
// frow_group.glsl (the bits of F.6), then the head's outputs in parallel (one invocation per
// output column, each an F.5 sum over positions reading a column of V).
layout(local_size_x = 64) in;
#include "common.glsl"
layout(std430, binding = 2) coherent buffer Scores { uint scores[]; };
#define FM_ROW_BUFFER scores
#include "fmath.glsl"
#include "frow_group.glsl"
#include "fattention_common.glsl"

void main() {
    uint g = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x, lid = gl_LocalInvocationIndex;
    attn_header(u_unit0 == 0u && g == 0u && lid == 0u);
    if (g >= u_count) return; // the whole group
    uint unit = u_unit0 + g, t = unit / u_heads, hd = u_d / u_heads, col = (unit % u_heads) * hd;
    uint n = u_l - u_t + t + 1u, base = g * u_l, scale = fm_canon(u_scale);
    for (uint j = lid; j < n; j += FROW_GROUP)
        scores[base + j] = attn_score(t, col, j, hd, scale);
    memoryBarrierBuffer();
    barrier();
    frow_softmax(base, n);
    for (uint d = lid; d < hd; d += FROW_GROUP)
        attn_store(t, col + d, attn_weighted(col + d, base, n));
}
