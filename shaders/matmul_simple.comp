#version 430
// matmul_simple.comp — MATMUL a, b, c (PROTOCOL.md §5.4), the reference kernel: one invocation per
// output element c[m, n] = min(sum_k a[m, k] * b[k, n], 255), the sum in uint (255*255*65535 < 2^32,
// so it never wraps). Kept as the baseline the tiled kernel is benchmarked and tested against.
layout(local_size_x = 16, local_size_y = 16) in;
#include "common.glsl"
layout(std430, binding = 0) readonly buffer A { uint a_words[]; };
layout(std430, binding = 1) readonly buffer B { uint b_words[]; };
uniform uint u_out_row;
uniform uint u_m, u_k, u_n; // a is m x k, b is k x n
uniform uint u_width;
uniform uvec4 u_header;

void main() {
    uint n = gl_GlobalInvocationID.x, m = gl_GlobalInvocationID.y;
    if (n == 0u && m == 0u && inside_image(ivec2(0, int(u_out_row))))
        imageStore(u_image, ivec2(0, int(u_out_row)), u_header);
    if (m >= u_m || n >= u_n) return;
    uint acc = 0u;
    for (uint k = 0u; k < u_k; ++k) acc += PACKED_BYTE(a_words, m * u_k + k) * PACKED_BYTE(b_words, k * u_n + n);
    store_element_r(element_pos(u_out_row, m * u_n + n, u_width), min(acc, 255u));
}
