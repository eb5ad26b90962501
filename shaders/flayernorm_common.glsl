// flayernorm_common.glsl — what both LAYERNORM kernels share (PROTOCOL.md §11.6,
// PROTOCOL.md §15 F.10): x (M x N), the gain and the bias gathered as whole f32 words before
// anything is written (§4.2), the terms of the two sums and the store. Values stay uint bits.
layout(std430, binding = 0) readonly buffer A { uint a_words[]; };    // x, M x N
layout(std430, binding = 1) readonly buffer B { uint b_words[]; };    // gain, 1 x N
layout(std430, binding = 3) readonly buffer Bias { uint bias_words[]; };
uniform uint u_out_row;
uniform uint u_m, u_n;
uniform uint u_width;
uniform uvec4 u_header;
uniform bool u_has_bias;
uniform uint u_eps; // canonical (checked by the plan)

void write_header_once(bool first) {
    ivec2 hp = ivec2(0, int(u_out_row));
    if (first && inside_image(hp)) imageStore(u_image, hp, u_header);
}

// Term k of row m's first sum (pass 0: x_k) or second (pass 1: d_k * d_k, d_k = x_k - mean);
// +0 past the row's end (F.5's padding).
uint ln_term(uint m, uint k, uint pass, uint mean) {
    if (k >= u_n) return 0u;
    uint x = fm_canon(a_words[m * u_n + k]);
    if (pass == 0u) return x;
    uint d = fm_sub(x, mean);
    return fm_mul(d, d);
}

// The F.5 tree over block j of row m's terms.
uint ln_block(uint m, uint j, uint pass, uint mean) {
    uint u[16];
    for (uint i = 0u; i < 16u; ++i)
        u[i] = ln_term(m, j * 16u + i, pass, mean);
    return fm_block_sum(u);
}

// y_k = add(mul(mul(d_k, s), g_k), bias_k), bias +0 when there is none.
void ln_store(uint m, uint k, uint mean, uint s) {
    uint d = fm_sub(fm_canon(a_words[m * u_n + k]), mean);
    uint bias = u_has_bias ? fm_canon(bias_words[k]) : 0u;
    uint y = fm_add(fm_mul(fm_mul(d, s), fm_canon(b_words[k])), bias);
    store_element_rgba(element_pos(u_out_row, m * u_n + k, u_width), y);
}
