#version 430
// felementwise.comp — FADD and FMUL (PROTOCOL.md §11.3), selected by u_opcode: one invocation per
// element of a, c[i] = fm_add / fm_mul (shaders/fmath.glsl) of a[i] and b[j], operands gathered as
// whole f32 words (gather32.comp) and canonicalized on load; j = i, or i % cols when b is a
// 1 x cols row (u_b_cols != 0). Invocation 0 writes c's header. Shared by both GL variants.
layout(local_size_x = 256) in;
#include "common.glsl"
#include "fmath.glsl"
layout(std430, binding = 0) readonly buffer A { uint a_words[]; };
layout(std430, binding = 1) readonly buffer B { uint b_words[]; };
uniform uint u_opcode;
uniform uint u_out_row;
uniform uint u_count;  // elements of a (and c)
uniform uint u_b_cols; // 0: b has a's shape; else b is 1 x u_b_cols
uniform uint u_width;
uniform uvec4 u_header;
uniform bool u_write_header;

void main() {
    uint i = linear_invocation(256u);
    ivec2 hp = ivec2(0, int(u_out_row));
    if (i == 0u && u_write_header && inside_image(hp)) imageStore(u_image, hp, u_header);
    if (i >= u_count) return;
    uint j = u_b_cols == 0u ? i : i % u_b_cols;
    uint a = fm_canon(a_words[i]), b = fm_canon(b_words[j]);
    uint c = u_opcode == OP_FMUL ? fm_mul(a, b) : fm_add(a, b);
    store_element_rgba(element_pos(u_out_row, i, u_width), c);
}
