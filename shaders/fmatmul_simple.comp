#version 430
// fmatmul_simple.comp — FMATMUL, one invocation per output: the sum of mul(a[m][k], b[k][n]) in
// blocks of 16 by the halving tree, block sums in order (PROTOCOL.md §15 F.5), exactly the
// reference's order. Missing terms of the last block are +0 (not products with padding: 0 * inf
// would be NaN).
layout(local_size_x = 16, local_size_y = 16) in;
#include "common.glsl"
#include "fmath.glsl"
#include "fmatmul_common.glsl"

void main() {
    uint n = gl_GlobalInvocationID.x, m = gl_GlobalInvocationID.y;
    write_header_once(n == 0u && m == 0u);
    if (m >= u_m || n >= u_n) return;
    uint acc = 0u;
    for (uint k0 = 0u; k0 < u_k; k0 += 16u) {
        uint u[16];
        for (uint i = 0u; i < 16u; ++i) {
            uint k = k0 + i;
            u[i] = k < u_k ? fm_mul(fm_canon(a_words[m * u_k + k]), fm_canon(b_words[k * u_n + n])) : 0u;
        }
        acc = fm_add(acc, fm_block_sum(u));
    }
    store_fmatmul(m, n, acc);
}
