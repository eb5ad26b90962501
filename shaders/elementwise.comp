#version 430
// elementwise.comp — the element-wise opcodes, selected by u_opcode (OP_ numbers injected from
// engine/opcodes.h). One invocation per element of a; invocation 0 writes c's header when
// u_write_header is set.
//   ADD   (PROTOCOL.md §5.2):   c[i] = min(a[i] + b[j], 255)
//   QADD  (§5.5.3):             c[i] = clamp(zc + rq((a[i]-za)*Ma + (b[j]-zb)*Mb), lo, hi)
//   QRELU (§5.5.4):             a[i] = max(a[i], zero_point), in place (u_out_row = a's row)
// j = i, or i % cols when b is a 1 x cols row broadcast to every row (u_b_cols != 0).
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) readonly buffer A { uint a_words[]; };
layout(std430, binding = 1) readonly buffer B { uint b_words[]; };
uniform uint u_opcode;
uniform uint u_out_row;
uniform uint u_count;  // elements of a (and c)
uniform uint u_b_cols; // 0: b has a's shape; else b is 1 x u_b_cols
uniform uint u_width;
uniform uvec4 u_header; // the whole header pixel of c
uniform bool u_write_header;
uniform uint u_za, u_zb, u_zc, u_shift, u_clamp_lo, u_clamp_hi;
uniform int u_ma, u_mb;

void main() {
    uint i = linear_invocation(256u);
    ivec2 hp = ivec2(0, int(u_out_row));
    if (i == 0u && u_write_header && inside_image(hp)) imageStore(u_image, hp, u_header);
    if (i >= u_count) return;
    uint j = u_b_cols == 0u ? i : i % u_b_cols;
    uint a = PACKED_BYTE(a_words, i);
    uint value = a;
    if (u_opcode == OP_ADD) {
        value = min(a + PACKED_BYTE(b_words, j), 255u);
    } else if (u_opcode == OP_QADD) {
        int hi, hi2;
        int lo, lo2;
        imulExtended(int(a) - int(u_za), u_ma, hi, lo);
        imulExtended(int(PACKED_BYTE(b_words, j)) - int(u_zb), u_mb, hi2, lo2);
        uint ulo = uint(lo);
        add64(hi, ulo, hi2, uint(lo2));
        value = requantize64(hi, ulo, u_shift, u_zc, u_clamp_lo, u_clamp_hi);
    } else if (u_opcode == OP_QRELU) {
        value = max(a, u_zc);
    }
    store_element_r(element_pos(u_out_row, i, u_width), value);
}
