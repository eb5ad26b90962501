#version 430
// dot_store.comp — writes DOT's 32-bit sum as the whole pixel (0, c): R, G, B, A = bytes 0..3,
// little-endian (PROTOCOL.md §5.1). One invocation.
layout(local_size_x = 1) in;
#include "common.glsl"
layout(std430, binding = 2) readonly buffer Sum { uint sum; };
uniform uint u_out_row;

void main() {
    ivec2 p = ivec2(0, int(u_out_row));
    if (!inside_image(p)) return;
    imageStore(u_image, p, uvec4(sum & 0xFFu, (sum >> 8u) & 0xFFu, (sum >> 16u) & 0xFFu, sum >> 24u));
}
