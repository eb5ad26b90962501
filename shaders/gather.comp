#version 430
// gather.comp — copies a matrix's R channel out of the stride layout into a packed SSBO.
// Runs for every input of an instruction before anything is written, so the compute pass reads
// the image as it was before the instruction (PROTOCOL.md §4.2) even when its output overlaps.
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Packed { uint words[]; };
uniform uint u_row;   // header row of the matrix
uniform uint u_count; // elements
uniform uint u_width; // image width

void main() {
    uint w = linear_invocation(256u);
    if (w * 4u >= u_count) return;
    uint word = 0u;
    for (uint q = 0u; q < 4u; ++q) {
        uint i = w * 4u + q;
        if (i >= u_count) break;
        ivec2 p = element_pos(u_row, i, u_width);
        uint v = inside_image(p) ? imageLoad(u_image, p).r : 0u;
        word |= (v & 0xFFu) << (q * 8u);
    }
    words[w] = word;
}
