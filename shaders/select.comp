#version 430
// select.comp — ARGMAX and SAMPLE (PROTOCOL.md §13.4, §13.5), selected by u_opcode: the GLSL twin
// of argmax_bits / sample_bits (engine/vm/ops/gen_ops.h), step for step, every float operation
// fmath.glsl's, so the token is the CPU's bit for bit. One invocation: it reads the logits (the
// last row of a) and the PRNG state before it writes anything (§4.2). scratch[0..n) holds the
// canonical logits, scratch[n..2n) the weights e_i, summed by fm_sum_range (F.5 order).
layout(local_size_x = 1) in;
#include "common.glsl"
layout(std430, binding = 1) buffer Scratch { uint scratch[]; };
#define FM_ROW_BUFFER scratch
#include "fmath.glsl"
uniform uint u_opcode;
uniform uint u_a_row;
uniform uint u_first; // element index of the last row's first element
uniform uint u_n;     // columns of a (the vocabulary)
uniform uint u_b_row;
uniform uint u_out_row;
uniform uint u_width;
uniform uint u_temperature; // canonical bits
uniform uint u_top_k;       // 0: all
uniform uvec4 u_header;

uint load_word(uint row, uint i) {
    ivec2 p = element_pos(row, i, u_width);
    uvec4 px = inside_image(p) ? imageLoad(u_image, p) : uvec4(0u);
    return (px.r & 0xFFu) | (px.g & 0xFFu) << 8u | (px.b & 0xFFu) << 16u | (px.a & 0xFFu) << 24u;
}

// logit_key: larger key = larger value, NaN below -inf.
uint logit_key(uint c) {
    if ((c & 0x7FFFFFFFu) > FM_INF) return 0u;
    return (c & FM_SIGN) != 0u ? ~c : (c | FM_SIGN);
}

uint mix32(uint h) {
    h ^= h >> 16u;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13u;
    h *= 0xC2B2AE35u;
    h ^= h >> 16u;
    return h;
}

uint count_at_least(uint t) {
    uint c = 0u;
    for (uint i = 0u; i < u_n; ++i)
        if (logit_key(scratch[i]) >= t) ++c;
    return c;
}

void main() {
    uint n = u_n;
    if (n == 0u || u_width < 2u) return;
    for (uint i = 0u; i < n; ++i)
        scratch[i] = fm_canon(load_word(u_a_row, u_first + i));
    uint top = 0u, best = logit_key(scratch[0]);
    for (uint i = 1u; i < n; ++i) {
        uint k = logit_key(scratch[i]);
        if (k > best) {
            top = i;
            best = k;
        }
    }
    uint token = top;
    if (u_opcode == OP_SAMPLE) {
        uint state = load_word(u_b_row, 0u) + 0x9E3779B9u;
        uint z = mix32(state);
        uint m = scratch[top];
        if (u_temperature != 0u && (m & 0x7FFFFFFFu) < FM_INF) {
            uint k = (u_top_k == 0u || u_top_k > n) ? n : u_top_k;
            // The k-th largest key: the largest t with at least k keys >= t.
            uint lo = 0u, hi = 0xFFFFFFFFu;
            while (lo < hi) {
                uint mid = lo + (hi - lo) / 2u + 1u;
                if (count_at_least(mid) >= k) lo = mid;
                else hi = mid - 1u;
            }
            uint thr = lo;
            uint greater = 0u;
            for (uint i = 0u; i < n; ++i)
                if (logit_key(scratch[i]) > thr) ++greater;
            uint ties = k - greater; // keys equal to thr taken, lowest index first
            uint r = fm_recip(u_temperature);
            for (uint i = 0u; i < n; ++i) {
                uint key = logit_key(scratch[i]);
                bool selected = key > thr;
                if (key == thr && ties > 0u) {
                    selected = true;
                    --ties;
                }
                scratch[n + i] = selected && key != 0u ? fm_exp(fm_mul(fm_sub(scratch[i], m), r)) : 0u;
            }
            uint total = fm_sum_range(n, 1u, n);
            uint u = fm_mul(fm_from_int(int(z >> 8u)), 0x33800000u); // (z >> 8) * 2^-24, exact
            uint t = fm_mul(u, total);
            uint c = 0u;
            for (uint i = 0u; i < n; ++i) {
                c = fm_add(c, scratch[n + i]);
                if (fm_less(t, c)) {
                    token = i;
                    break;
                }
            }
        }
        store_element_rgba(element_pos(u_b_row, 0u, u_width), state); // b first, then c
    }
    ivec2 hp = ivec2(0, int(u_out_row));
    if (inside_image(hp)) imageStore(u_image, hp, u_header);
    store_element_rgba(element_pos(u_out_row, 0u, u_width), token);
}
