#version 430
// fsoftmax_simple.comp — FSOFTMAX (PROTOCOL.md §12.1), one invocation per row: z = mul(x, scale)
// into the gathered copy of a (gather32.comp: a private buffer, so it is rewritten in place), then
// fm_softmax_row (shaders/fmath.glsl, F.6), then the row is stored. Invocation 0 writes c's header.
layout(local_size_x = 64) in;
#include "common.glsl"
layout(std430, binding = 0) buffer A { uint a_words[]; };
#define FM_ROW_BUFFER a_words
#include "fmath.glsl"
uniform uint u_out_row;
uniform uint u_count; // rows
uniform uint u_cols;
uniform uint u_scale; // f32 bits
uniform uint u_width;
uniform uvec4 u_header;

void main() {
    uint r = linear_invocation(64u);
    ivec2 hp = ivec2(0, int(u_out_row));
    if (r == 0u && inside_image(hp)) imageStore(u_image, hp, u_header);
    if (r >= u_count) return;
    uint base = r * u_cols, scale = fm_canon(u_scale);
    for (uint i = 0u; i < u_cols; ++i)
        a_words[base + i] = fm_mul(fm_canon(a_words[base + i]), scale);
    fm_softmax_row(base, base, u_cols);
    for (uint i = 0u; i < u_cols; ++i)
        store_element_rgba(element_pos(u_out_row, base + i, u_width), a_words[base + i]);
}
