#version 430
// penalize.comp — the middle pass of PENALIZE (PROTOCOL.md §13.6): the SSBO holds a copy of a's
// last row (rows_gather.comp, canonical f32 bits); invocation i reads the token id t in element
// u_first_b + i of b and sets word t to sub(x[t], p), x read from the image, which nothing has
// written yet (§4.2). A token that repeats in the window is written by each of its invocations
// with the same value, so it is penalized once, as the reference does. The plan checked every id.
layout(local_size_x = 256) in;
#include "common.glsl"
#include "fmath.glsl"
layout(std430, binding = 0) buffer Row { uint words[]; };
uniform uint u_a_row;
uniform uint u_first_a;
uniform uint u_b_row;
uniform uint u_first_b;
uniform uint u_count;
uniform uint u_penalty;
uniform uint u_width;

void main() {
    uint i = linear_invocation(256u);
    if (i >= u_count) return;
    uint t = load_element_word(u_b_row, u_first_b + i, u_width);
    words[t] = fm_sub(fm_canon(load_element_word(u_a_row, u_first_a + t, u_width)), u_penalty);
}
