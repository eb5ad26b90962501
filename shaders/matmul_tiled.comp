#version 430
// matmul_tiled.comp — MATMUL / QMATMUL / QMATMUL32 with shared-memory tiles. A work group of 16x16
// invocations computes a TILE_M x TILE_N block of c, each invocation TM x TN outputs (rows
// ty + 16*i, columns tx + 16*j, so neighbouring invocations read neighbouring shared words). The
// k dimension is walked TILE_K at a time through shared copies of a and b, each element loaded
// once per group instead of once per output.
//
// Zero points are folded in as gemmlowp does: the inner loop multiplies raw bytes, and
//   sum (a-za)(b-zb) = sum a*b - zb * rowsum(a) - za * colsum(b) + K*za*zb,
// an identity of integers that also holds modulo 2^32, so evaluating it in wrapping uint gives
// exactly the accumulator of PROTOCOL.md §5.5.7 (and, with za = zb = 0, MATMUL's plain sum).
#define TM 2u
#define TN 4u
#define TILE_M (16u * TM)
#define TILE_N (16u * TN)
#define TILE_K 16u
layout(local_size_x = 16, local_size_y = 16) in;
#include "common.glsl"
#include "matmul_common.glsl"

shared uint tile_a[TILE_K][TILE_M]; // k-major so the inner loop reads a row of each tile
shared uint tile_b[TILE_K][TILE_N];

void main() {
    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
    uint lid = gl_LocalInvocationIndex;
    uint m0 = group_y() * TILE_M, n0 = gl_WorkGroupID.x * TILE_N;
    write_header_once(gl_WorkGroupID.x == 0u && group_y() == 0u && lid == 0u);
    bool fold = u_za != 0u || u_zb != 0u;

    uint acc[TM][TN];
    uint row_sum[TM], col_sum[TN];
    for (uint i = 0u; i < TM; ++i) {
        row_sum[i] = 0u;
        for (uint j = 0u; j < TN; ++j) acc[i][j] = 0u;
    }
    for (uint j = 0u; j < TN; ++j) col_sum[j] = 0u;

    for (uint k0 = 0u; k0 < u_k; k0 += TILE_K) {
        for (uint e = lid; e < TILE_M * TILE_K; e += 256u) {
            uint r = e / TILE_K, kk = e % TILE_K;
            uint m = m0 + r, k = k0 + kk;
            tile_a[kk][r] = (m < u_m && k < u_k) ? PACKED_BYTE(a_words, m * u_k + k) : 0u;
        }
        for (uint e = lid; e < TILE_K * TILE_N; e += 256u) {
            uint kk = e / TILE_N, c = e % TILE_N;
            uint k = k0 + kk, n = n0 + c;
            tile_b[kk][c] = (k < u_k && n < u_n) ? PACKED_BYTE(b_words, k * u_n + n) : 0u;
        }
        barrier();
        for (uint kk = 0u; kk < TILE_K; ++kk) {
            uint av[TM], bv[TN];
            for (uint i = 0u; i < TM; ++i) av[i] = tile_a[kk][ty + 16u * i];
            for (uint j = 0u; j < TN; ++j) bv[j] = tile_b[kk][tx + 16u * j];
            for (uint i = 0u; i < TM; ++i)
                for (uint j = 0u; j < TN; ++j) acc[i][j] += av[i] * bv[j];
            if (fold) { // padding outside a and b is 0, so it adds nothing to the sums
                for (uint i = 0u; i < TM; ++i) row_sum[i] += av[i];
                for (uint j = 0u; j < TN; ++j) col_sum[j] += bv[j];
            }
        }
        barrier();
    }
    uint kzz = u_k * u_za * u_zb;
    for (uint i = 0u; i < TM; ++i) {
        uint m = m0 + ty + 16u * i;
        if (m >= u_m) continue;
        for (uint j = 0u; j < TN; ++j) {
            uint n = n0 + tx + 16u * j;
            if (n >= u_n) continue;
            uint v = bias_at(n) + acc[i][j];
            if (fold) v += kzz - u_zb * row_sum[i] - u_za * col_sum[j];
            store_matmul(m, n, v);
        }
    }
}
