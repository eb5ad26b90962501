#version 430
// add.comp — ADD a, b, c (PROTOCOL.md §5.2): c[i] = min(a[i] + b[i], 255), b broadcast as a row
// bias when it is 1 x cols(a). One invocation per element; invocation 0 writes the header.
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) readonly buffer A { uint a_words[]; };
layout(std430, binding = 1) readonly buffer B { uint b_words[]; };
uniform uint u_out_row;
uniform uint u_count;  // elements of a (and c)
uniform uint u_b_cols; // 0: b has a's shape; else b is 1 x u_b_cols
uniform uint u_width;
uniform uvec4 u_header; // the whole header pixel of c

void main() {
    uint i = linear_invocation(256u);
    if (i == 0u && inside_image(ivec2(0, int(u_out_row)))) imageStore(u_image, ivec2(0, int(u_out_row)), u_header);
    if (i >= u_count) return;
    uint j = u_b_cols == 0u ? i : i % u_b_cols;
    uint s = PACKED_BYTE(a_words, i) + PACKED_BYTE(b_words, j);
    store_element_r(element_pos(u_out_row, i, u_width), min(s, 255u));
}
