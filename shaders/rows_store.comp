#version 430
// rows_store.comp — the write half of GATHER and APPEND (PROTOCOL.md §13.2, §13.3): word i of the
// SSBO goes to element u_offset + i of the matrix at u_out_row (u8: R only, keeping G, B, A; f32
// and i32: the whole pixel); invocation 0 writes the header u_header.
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) readonly buffer In { uint words[]; };
uniform uint u_out_row;
uniform uint u_offset;
uniform uint u_count;
uniform uint u_dtype;
uniform uint u_width;
uniform uvec4 u_header;
uniform bool u_write_header;

void main() {
    uint i = linear_invocation(256u);
    ivec2 hp = ivec2(0, int(u_out_row));
    if (i == 0u && u_write_header && inside_image(hp)) imageStore(u_image, hp, u_header);
    if (i >= u_count) return;
    ivec2 p = element_pos(u_out_row, u_offset + i, u_width);
    if (u_dtype == 0u)
        store_element_r(p, words[i] & 0xFFu);
    else
        store_element_rgba(p, words[i]);
}
