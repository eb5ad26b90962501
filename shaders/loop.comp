#version 430
// loop.comp — LOOP's write (PROTOCOL.md §13.1): the 1x1 i32 counter at element 0 of u_row becomes
// n - 1 when n > 0. The plan (plan_instruction, on pixels read back from this texture) decided
// the jump from the same pixel, so the two agree; one invocation.
layout(local_size_x = 1) in;
#include "common.glsl"
uniform uint u_row;
uniform uint u_width;

void main() {
    ivec2 p = element_pos(u_row, 0u, u_width);
    if (u_width < 2u || !inside_image(p)) return;
    uvec4 px = imageLoad(u_image, p);
    uint w = px.r | px.g << 8u | px.b << 16u | px.a << 24u;
    if (int(w) > 0) store_element_rgba(p, w - 1u);
}
