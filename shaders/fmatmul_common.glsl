// fmatmul_common.glsl — what both FMATMUL kernels share (PROTOCOL.md §11.2): operands gathered
// as whole f32 words (gather32.comp), the bias, the activation and the store. The arithmetic is
// shaders/fmath.glsl only; values stay uint bit patterns throughout.
layout(std430, binding = 0) readonly buffer A { uint a_words[]; };
layout(std430, binding = 1) readonly buffer B { uint b_words[]; };
layout(std430, binding = 3) readonly buffer Bias { uint bias_words[]; };
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
uniform uint u_activation; // 0 none, 1 relu, 2 gelu

void write_header_once(bool first) {
    ivec2 hp = ivec2(0, int(u_out_row));
    if (first && inside_image(hp)) imageStore(u_image, hp, u_header);
}

// ReLU on a canonical value: NaN stays NaN, x > 0 stays, +0, negatives and -inf give +0.
uint f_activate(uint x) {
    if (u_activation == 1u) return fm_is_nan(x) ? FM_NAN : ((x & FM_SIGN) != 0u ? 0u : x);
    if (u_activation == 2u) return fm_gelu(x);
    return x;
}

// sum is the F.5 reduction of c[m][n]'s products; adds the bias, applies the activation, stores.
void store_fmatmul(uint m, uint n, uint sum) {
    if (u_has_bias) sum = fm_add(sum, fm_canon(bias_words[n]));
    store_element_rgba(element_pos(u_out_row, m * u_n + n, u_width), f_activate(sum));
}
