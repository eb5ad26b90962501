#version 430
// flayernorm_simple.comp — LAYERNORM, one invocation per row: the two F.5 sums block by block in
// order, exactly the reference's steps (fm::layernorm_row).
layout(local_size_x = 64) in;
#include "common.glsl"
#include "fmath.glsl"
#include "flayernorm_common.glsl"

void main() {
    uint m = linear_invocation(64u);
    write_header_once(m == 0u);
    if (m >= u_m) return;
    uint r = fm_recip(fm_from_int(int(u_n)));
    uint nb = (u_n + 15u) / 16u;
    uint acc = 0u;
    for (uint j = 0u; j < nb; ++j)
        acc = fm_add(acc, ln_block(m, j, 0u, 0u));
    uint mean = fm_mul(acc, r);
    acc = 0u;
    for (uint j = 0u; j < nb; ++j)
        acc = fm_add(acc, ln_block(m, j, 1u, mean));
    uint s = fm_rsqrt(fm_add(fm_mul(acc, r), u_eps));
    for (uint k = 0u; k < u_n; ++k)
        ln_store(m, k, mean, s);
}
