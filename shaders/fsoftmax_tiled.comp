#version 430
// fsoftmax_tiled.comp — FSOFTMAX (PROTOCOL.md §12.1), one work group of 64 per row: the scaling
// element by element, then the group softmax of frow_group.glsl (parallel max, exps and block sums,
// block sums added in order: the bits of F.6), in place on the gathered copy of a.
layout(local_size_x = 64) in;
#include "common.glsl"
layout(std430, binding = 0) coherent buffer A { uint a_words[]; };
#define FM_ROW_BUFFER a_words
#include "fmath.glsl"
#include "frow_group.glsl"
uniform uint u_out_row;
uniform uint u_count; // rows
uniform uint u_cols;
uniform uint u_scale; // f32 bits
uniform uint u_width;
uniform uvec4 u_header;

void main() {
    uint r = gl_WorkGroupID.x, lid = gl_LocalInvocationIndex;
    ivec2 hp = ivec2(0, int(u_out_row));
    if (r == 0u && lid == 0u && inside_image(hp)) imageStore(u_image, hp, u_header);
    if (r >= u_count) return; // the whole group
    uint base = r * u_cols, scale = fm_canon(u_scale);
    for (uint i = lid; i < u_cols; i += FROW_GROUP)
        a_words[base + i] = fm_mul(fm_canon(a_words[base + i]), scale);
    memoryBarrierBuffer();
    barrier();
    frow_softmax(base, u_cols);
    for (uint i = lid; i < u_cols; i += FROW_GROUP)
        store_element_rgba(element_pos(u_out_row, base + i, u_width), a_words[base + i]);
}
