#version 430
// matmul_simple.comp — MATMUL / QMATMUL / QMATMUL32, the reference kernel: one invocation per
// output element, acc = bias[n] + sum_k uint((a[m,k]-za) * (b[k,n]-zb)) in wrapping uint exactly
// as PROTOCOL.md §5.5.7 step 1 states it (for MATMUL, za = zb = 0: the plain uint sum, which never
// wraps since 255*255*65535 < 2^32). Kept as the baseline the tiled kernel is tested and
// benchmarked against.
layout(local_size_x = 16, local_size_y = 16) in;
#include "common.glsl"
#include "matmul_common.glsl"

void main() {
    uint n = gl_GlobalInvocationID.x, m = group_y() * gl_WorkGroupSize.y + gl_LocalInvocationID.y;
    write_header_once(n == 0u && m == 0u);
    if (m >= u_m || n >= u_n) return;
    uint acc = bias_at(n);
    int za = int(u_za), zb = int(u_zb);
    for (uint k = 0u; k < u_k; ++k)
        acc += uint((int(PACKED_BYTE(a_words, m * u_k + k)) - za) * (int(PACKED_BYTE(b_words, k * u_n + n)) - zb));
    store_matmul(m, n, acc);
}
