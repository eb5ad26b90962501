#version 430
// fmatmul_tiled.comp — FMATMUL with shared-memory tiles: a work group of 16 x 16 invocations
// computes a 16 x 16 block of c; k is walked 16 at a time through shared copies of a and b (each
// element loaded and canonicalized once per group, not once per output). One tile of k is exactly
// one block of PROTOCOL.md §15 F.5: each invocation forms its 16 products, sums them by the
// halving tree and adds the block sum to its running accumulator, so the order is the reference's.
#define TILE 16u
layout(local_size_x = 16, local_size_y = 16) in;
#include "common.glsl"
#include "fmath.glsl"
#include "fmatmul_common.glsl"

shared uint tile_a[TILE][TILE]; // [m][k]
shared uint tile_b[TILE][TILE]; // [k][n]

void main() {
    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
    uint m = gl_WorkGroupID.y * TILE + ty, n = gl_WorkGroupID.x * TILE + tx;
    write_header_once(gl_WorkGroupID.x == 0u && gl_WorkGroupID.y == 0u && tx == 0u && ty == 0u);
    uint acc = 0u;
    for (uint k0 = 0u; k0 < u_k; k0 += TILE) {
        uint ka = k0 + tx, kb = k0 + ty;
        tile_a[ty][tx] = (m < u_m && ka < u_k) ? fm_canon(a_words[m * u_k + ka]) : 0u;
        tile_b[ty][tx] = (kb < u_k && n < u_n) ? fm_canon(b_words[kb * u_n + n]) : 0u;
        barrier();
        uint u[16];
        for (uint i = 0u; i < TILE; ++i)
            u[i] = k0 + i < u_k ? fm_mul(tile_a[ty][i], tile_b[i][tx]) : 0u;
        acc = fm_add(acc, fm_block_sum(u));
        barrier();
    }
    if (m < u_m && n < u_n) store_fmatmul(m, n, acc);
}
