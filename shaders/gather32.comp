#version 430
// gather32.comp — copies a matrix of whole int32 pixels (QMATMUL's bias, PROTOCOL.md §5.5.2) into
// an SSBO, one uint per element, before anything is written (§4.2: the bias may overlap c).
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Words { uint words[]; };
uniform uint u_row;
uniform uint u_count;
uniform uint u_width;

void main() {
    uint i = linear_invocation(256u);
    if (i >= u_count) return;
    ivec2 p = element_pos(u_row, i, u_width);
    uvec4 px = inside_image(p) ? imageLoad(u_image, p) : uvec4(0u);
    words[i] = (px.r & 0xFFu) | (px.g & 0xFFu) << 8u | (px.b & 0xFFu) << 16u | (px.a & 0xFFu) << 24u;
}
