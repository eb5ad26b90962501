#version 430
// flayernorm_tiled.comp — LAYERNORM, one work group of 256 invocations per row: each invocation
// computes the F.5 tree of its own blocks (j = lane, lane + 256, ...) into shared memory, and lane 0
// adds the block sums in order (F.5 step 3: the only sequential part, N/16 additions); the element
// passes are spread over the lanes. The same bits as the simple kernel and the CPU.
layout(local_size_x = 256) in;
#include "common.glsl"
#include "fmath.glsl"
#include "flayernorm_common.glsl"

shared uint s_block[256];
shared uint s_result;

// The F.5 sum of row m's terms for this pass, the same value in every lane. Called in uniform
// control flow (every bound below is the same for the whole group).
uint row_sum(uint m, uint lane, uint pass, uint mean) {
    uint nb = (u_n + 15u) / 16u;
    uint acc = 0u;
    for (uint j0 = 0u; j0 < nb; j0 += 256u) {
        if (j0 + lane < nb) s_block[lane] = ln_block(m, j0 + lane, pass, mean);
        barrier();
        if (lane == 0u) {
            uint count = min(256u, nb - j0);
            for (uint t = 0u; t < count; ++t)
                acc = fm_add(acc, s_block[t]);
        }
        barrier();
    }
    if (lane == 0u) s_result = acc;
    barrier();
    uint sum = s_result;
    barrier(); // s_result is written again by the next call
    return sum;
}

void main() {
    uint m = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x, lane = gl_LocalInvocationIndex;
    write_header_once(m == 0u && lane == 0u);
    if (m >= u_m) return; // the whole group
    uint r = fm_recip(fm_from_int(int(u_n)));
    uint mean = fm_mul(row_sum(m, lane, 0u, 0u), r);
    uint s = fm_rsqrt(fm_add(fm_mul(row_sum(m, lane, 1u, mean), r), u_eps));
    for (uint k = lane; k < u_n; k += 256u)
        ln_store(m, k, mean, s);
}
