#version 430
// qlut.comp — QLUT (PROTOCOL.md §16.2): c[i] = b[a[i]], one invocation per element; a and the
// 1 x 256 table b come gathered as whole pixel words (the code is the low byte, R) before anything
// is written (§4.2), so c may be a or b. Invocation 0 writes c's header.
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) readonly buffer A { uint a_words[]; };
layout(std430, binding = 1) readonly buffer B { uint b_words[]; };
uniform uint u_out_row;
uniform uint u_count; // elements of a (and c)
uniform uint u_width;
uniform uvec4 u_header;

void main() {
    uint i = linear_invocation(256u);
    ivec2 hp = ivec2(0, int(u_out_row));
    if (i == 0u && inside_image(hp)) imageStore(u_image, hp, u_header);
    if (i >= u_count) return;
    store_element_r(element_pos(u_out_row, i, u_width), b_words[a_words[i] & 0xFFu] & 0xFFu);
}
