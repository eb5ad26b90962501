// matmul_common.glsl — what both MATMUL kernels share: operands, parameters, and the output rule
// of MATMUL (§5.4), QMATMUL (§5.5.2) and QMATMUL32 (§5.5.5), selected by u_opcode.
// The accumulator handed to store_matmul() is acc[m, n] = bias[n] + sum_k (a-za)*(b-zb) modulo
// 2^32 (za = zb = 0 and no bias for MATMUL, where it is the plain sum, < 2^32 without wrapping).
layout(std430, binding = 0) readonly buffer A { uint a_words[]; };
layout(std430, binding = 1) readonly buffer B { uint b_words[]; };
layout(std430, binding = 3) readonly buffer Bias { uint bias_words[]; };
uniform uint u_opcode;
uniform uint u_out_row;
uniform uint u_m, u_k, u_n; // a is m x k, b is k x n
// The first work-group row of this dispatch: a large product is dispatched in bands of rows
// (gl_executor.cpp, dispatch_bands), so the group row of an invocation is this plus its own.
uniform uint u_group_y0;
uint group_y() {
    return u_group_y0 + gl_WorkGroupID.y;
}
uniform uint u_width;
uniform uvec4 u_header;
uniform bool u_has_bias;
uniform uint u_za, u_zb, u_zc, u_shift, u_clamp_lo, u_clamp_hi;
uniform int u_multiplier;

uint bias_at(uint n) { return u_has_bias ? bias_words[n] : 0u; }

void write_header_once(bool first) {
    ivec2 hp = ivec2(0, int(u_out_row));
    if (first && inside_image(hp)) imageStore(u_image, hp, u_header);
}

void store_matmul(uint m, uint n, uint acc) {
    ivec2 p = element_pos(u_out_row, m * u_n + n, u_width);
    if (u_opcode == OP_MATMUL) store_element_r(p, min(acc, 255u));
    else if (u_opcode == OP_QMATMUL)
        store_element_r(p, requantize_acc(acc, u_multiplier, u_shift, u_zc, u_clamp_lo, u_clamp_hi));
    else if (u_opcode == OP_QMATMUL32) store_element_rgba(p, acc);
}
