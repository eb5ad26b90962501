// fattention_common.glsl — what both FATTENTION kernels share (PROTOCOL.md §12.2): q, K and V
// gathered as whole f32 words (gather32.comp), the scores buffer (one slice of L words per unit of
// work, a unit being one (query row, head)), the score and the weighted sum in F.5 order, and
// the store. Include after fmath.glsl, with `scores` declared as FM_ROW_BUFFER.
layout(std430, binding = 0) readonly buffer Q { uint q_words[]; };
layout(std430, binding = 1) readonly buffer K { uint k_words[]; };
layout(std430, binding = 3) readonly buffer V { uint v_words[]; };
uniform uint u_out_row;
uniform uint u_count; // units in this dispatch
uniform uint u_unit0; // the first unit of this dispatch (the units are split to bound the scores buffer)
uniform uint u_t, u_l, u_d, u_heads; // q is T x D, K and V are L x D
uniform uint u_scale;                // f32 bits
uniform uint u_width;
uniform uvec4 u_header;

// mul(dot(q[t][col ..], K[j][col ..]), scale) over hd = D / heads terms, F.5 order.
uint attn_score(uint t, uint col, uint j, uint hd, uint scale) {
    uint acc = 0u;
    for (uint k0 = 0u; k0 < hd; k0 += 16u) {
        uint u[16];
        for (uint i = 0u; i < 16u; ++i) {
            uint k = k0 + i;
            u[i] = k < hd ? fm_mul(fm_canon(q_words[t * u_d + col + k]), fm_canon(k_words[j * u_d + col + k])) : 0u;
        }
        acc = fm_add(acc, fm_block_sum(u));
    }
    return fm_mul(acc, scale);
}

// The F.5 sum over positions j < n of mul(p[j], V[j][c]), p = scores[base ..].
uint attn_weighted(uint c, uint base, uint n) {
    uint acc = 0u;
    for (uint j0 = 0u; j0 < n; j0 += 16u) {
        uint u[16];
        for (uint i = 0u; i < 16u; ++i) {
            uint j = j0 + i;
            u[i] = j < n ? fm_mul(scores[base + j], fm_canon(v_words[j * u_d + c])) : 0u;
        }
        acc = fm_add(acc, fm_block_sum(u));
    }
    return acc;
}

void attn_store(uint t, uint c, uint value) {
    store_element_rgba(element_pos(u_out_row, t * u_d + c, u_width), value);
}

void attn_header(bool first) {
    ivec2 hp = ivec2(0, int(u_out_row));
    if (first && inside_image(hp)) imageStore(u_image, hp, u_header);
}
