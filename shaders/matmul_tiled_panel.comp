#version 430
// matmul_tiled_panel.comp — the tiled MATMUL kernel's configuration for short a (fewer than 16
// rows, e.g. the 1 x 128 activations of the Pixel-LLM), where a 32-row tile would compute mostly
// padding. A work group of 64 invocations computes one row m of c over PANEL_N = 256 columns,
// 4 columns per invocation (n = n0 + tx + 64*j). The row of a is walked PANEL_K at a time through
// shared memory (loaded once per group, read by all); b has no reuse across a single row and is
// read straight from its packed buffer, neighbouring invocations reading neighbouring bytes.
// Zero points are folded in exactly as in matmul_tiled.comp (identity modulo 2^32).
#define TN 4u
#define PANEL_N (64u * TN)
#define PANEL_K 64u
layout(local_size_x = 64) in;
#include "common.glsl"
#include "matmul_common.glsl"

shared uint tile_a[PANEL_K];

void main() {
    uint tx = gl_LocalInvocationID.x;
    uint m = group_y(), n0 = gl_WorkGroupID.x * PANEL_N;
    write_header_once(gl_WorkGroupID.x == 0u && m == 0u && tx == 0u);
    bool fold = u_za != 0u || u_zb != 0u;
    uint acc[TN], col_sum[TN];
    uint cols[TN]; // column index, clamped into b so that reads stay inside it
    for (uint j = 0u; j < TN; ++j) {
        acc[j] = 0u;
        col_sum[j] = 0u;
        cols[j] = min(n0 + tx + 64u * j, u_n - 1u);
    }
    uint row_sum = 0u;
    for (uint k0 = 0u; k0 < u_k; k0 += PANEL_K) {
        uint k = k0 + tx;
        tile_a[tx] = (m < u_m && k < u_k) ? PACKED_BYTE(a_words, m * u_k + k) : 0u;
        barrier();
        uint kend = min(PANEL_K, u_k - k0);
        for (uint kk = 0u; kk < kend; ++kk) {
            uint av = tile_a[kk];
            uint base = (k0 + kk) * u_n;
            for (uint j = 0u; j < TN; ++j) {
                uint bv = PACKED_BYTE(b_words, base + cols[j]);
                acc[j] += av * bv;
                if (fold) col_sum[j] += bv;
            }
            row_sum += av;
        }
        barrier();
    }
    if (m >= u_m) return;
    uint kzz = u_k * u_za * u_zb;
    for (uint j = 0u; j < TN; ++j) {
        uint n = n0 + tx + 64u * j;
        if (n >= u_n) continue;
        uint v = bias_at(n) + acc[j];
        if (fold) v += kzz - u_zb * row_sum - u_za * col_sum[j];
        store_matmul(m, n, v);
    }
}
