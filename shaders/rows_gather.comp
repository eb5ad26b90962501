#version 430
// rows_gather.comp — the read half of GATHER and APPEND (PROTOCOL.md §13.2, §13.3): element i of
// the result (row r = i / u_d, column j = i % u_d) is element src * u_d + j of the matrix at
// u_a_row, src = the i32 index in element r of u_b_row (mode 0), r (mode 1: prefix, and APPEND's
// straight copy) or u_last (mode 2). Read as its dtype (u8: R; f32: canonical bits; i32: the
// word) into an SSBO before rows_store.comp writes anything (§4.2). The plan checked every index.
layout(local_size_x = 256) in;
#include "common.glsl"
#include "fmath.glsl"
layout(std430, binding = 0) writeonly buffer Out { uint words[]; };
uniform uint u_mode;
uniform uint u_a_row;
uniform uint u_b_row;
uniform uint u_d;
uniform uint u_count;
uniform uint u_dtype;
uniform uint u_last;
uniform uint u_width;

void main() {
    uint i = linear_invocation(256u);
    if (i >= u_count || u_d == 0u) return;
    uint r = i / u_d, j = i % u_d;
    uint src = u_mode == 0u ? load_element_word(u_b_row, r, u_width) : u_mode == 2u ? u_last : r;
    uint w = load_element_word(u_a_row, src * u_d + j, u_width);
    words[i] = u_dtype == 0u ? (w & 0xFFu) : u_dtype == 1u ? fm_canon(w) : w;
}
