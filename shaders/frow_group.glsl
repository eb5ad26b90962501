// frow_group.glsl — the row softmax of PROTOCOL.md §15 F.6 spread over one work group of
// FROW_GROUP invocations, in place on FM_ROW_BUFFER[base .. base+n) (a coherent SSBO member,
// defined before fmath.glsl is included). Same bits as fm_softmax_row, because every step is
// order-free or follows the definition's order:
//  * max and "any NaN" over strided slices, then combined by one invocation (max is exact and
//    order-free on canonical non-NaN values, F.8 point 10);
//  * e[i] = exp(x[i] - m), element by element;
//  * F.5's sum: the blocks of 16 (each by the halving tree) computed in parallel into shared
//    memory, then added in order by one invocation, which also takes the one recip;
//  * y[i] = mul(e[i], r), element by element.
// Requires n <= 65535 (4096 blocks: 16 KiB of shared memory). Call from uniform control flow.
#define FROW_GROUP 64u

shared uint frow_max[FROW_GROUP];
shared bool frow_nan[FROW_GROUP];
shared uint frow_blocks[4096];
shared uint frow_m, frow_r;
shared bool frow_any_nan;

void frow_softmax(uint base, uint n) {
    uint lid = gl_LocalInvocationIndex;
    uint m = FM_NEG_INF;
    bool nan = false;
    for (uint i = lid; i < n; i += FROW_GROUP) {
        uint v = fm_canon(FM_ROW_BUFFER[base + i]);
        if (fm_is_nan(v))
            nan = true;
        else if (fm_less(m, v))
            m = v;
    }
    frow_max[lid] = m;
    frow_nan[lid] = nan;
    barrier();
    if (lid == 0u) {
        for (uint i = 1u; i < FROW_GROUP; ++i) {
            nan = nan || frow_nan[i];
            if (fm_less(m, frow_max[i])) m = frow_max[i];
        }
        frow_m = m;
        frow_any_nan = nan;
    }
    barrier();
    m = frow_m;
    if (frow_any_nan) { // a row holding a NaN is NaN everywhere (F.6)
        for (uint i = lid; i < n; i += FROW_GROUP)
            FM_ROW_BUFFER[base + i] = FM_NAN;
        memoryBarrierBuffer();
        barrier();
        return;
    }
    for (uint i = lid; i < n; i += FROW_GROUP)
        FM_ROW_BUFFER[base + i] = fm_exp(fm_sub(fm_canon(FM_ROW_BUFFER[base + i]), m));
    memoryBarrierBuffer();
    barrier();
    uint nb = (n + 15u) / 16u;
    for (uint b = lid; b < nb; b += FROW_GROUP) {
        uint u[16];
        for (uint i = 0u; i < 16u; ++i) {
            uint k = b * 16u + i;
            u[i] = k < n ? FM_ROW_BUFFER[base + k] : 0u; // missing terms are +0
        }
        frow_blocks[b] = fm_block_sum(u);
    }
    barrier();
    if (lid == 0u) {
        uint acc = 0u;
        for (uint b = 0u; b < nb; ++b)
            acc = fm_add(acc, frow_blocks[b]); // block sums in order
        frow_r = fm_recip(acc);
    }
    barrier();
    uint r = frow_r;
    for (uint i = lid; i < n; i += FROW_GROUP)
        FM_ROW_BUFFER[base + i] = fm_mul(FM_ROW_BUFFER[base + i], r);
    memoryBarrierBuffer();
    barrier();
}
