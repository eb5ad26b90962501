#version 430
// select.comp — ARGMAX and SAMPLE (PROTOCOL.md §13.4, §13.5), selected by u_opcode: the GLSL twin
// of argmax_bits / sample_bits (engine/vm/ops/gen_ops.h), every float operation fmath.glsl's, so
// the token is the CPU's bit for bit. One work group of 256: the counting passes (argmax, the
// top-k threshold by bisection on the key, the tie bound by bisection on the index, the weights
// e_i, the F.5 block sums) are split over the invocations, so no invocation loops more than about
// 2^16 times (llvmpipe stops longer loops); invocation 0 adds the block sums in order, walks the
// cumulative sum (the order is the definition) and writes. Everything is read before anything is
// written (§4.2). scratch: [0, n) canonical logits, [n, 2n) weights e_i, [2n, 2n + n/16) block sums.
layout(local_size_x = 256) in;
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

shared uint s_key[256];
shared uint s_idx[256];
shared uint s_count;

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

void sync() {
    memoryBarrierShared();
    memoryBarrierBuffer();
    barrier();
}

// How many i < n have key >= t (mode 0), or key == t and i <= t2 (mode 1); all invocations call
// it together (it synchronizes).
uint count_all(uint mode, uint t, uint t2) {
    uint lid = gl_LocalInvocationIndex;
    if (lid == 0u) s_count = 0u;
    sync();
    uint c = 0u;
    for (uint i = lid; i < u_n; i += 256u) {
        uint k = logit_key(scratch[i]);
        if (mode == 0u ? k >= t : (k == t && i <= t2)) ++c;
    }
    atomicAdd(s_count, c);
    sync();
    uint total = s_count;
    sync();
    return total;
}

void main() {
    uint n = u_n, lid = gl_LocalInvocationIndex;
    if (n == 0u || u_width < 2u) return;
    for (uint i = lid; i < n; i += 256u)
        scratch[i] = fm_canon(load_element_word(u_a_row, u_first + i, u_width));
    sync();
    // Argmax: each invocation's best of its elements (ascending, so ties keep the first), then
    // invocation 0 reduces (ties to the lower index).
    uint bk = 0u, bi = 0xFFFFFFFFu;
    for (uint i = lid; i < n; i += 256u) {
        uint k = logit_key(scratch[i]);
        if (bi == 0xFFFFFFFFu || k > bk) {
            bk = k;
            bi = i;
        }
    }
    s_key[lid] = bk;
    s_idx[lid] = bi;
    sync();
    uint top = 0u, best = 0u;
    for (uint j = 0u; j < 256u; ++j) {
        uint i = s_idx[j], k = s_key[j];
        if (i == 0xFFFFFFFFu) continue;
        if (j == 0u || k > best || (k == best && i < top)) {
            top = i;
            best = k;
        }
    }
    uint token = top;
    uint state = 0u;
    bool is_sample = u_opcode == OP_SAMPLE;
    if (is_sample) state = load_element_word(u_b_row, 0u, u_width) + 0x9E3779B9u;
    uint m = scratch[top];
    if (is_sample && u_temperature != 0u && (m & 0x7FFFFFFFu) < FM_INF) { // uniform: every invocation
        uint k = (u_top_k == 0u || u_top_k > n) ? n : u_top_k;
        // The k-th largest key: the largest t with at least k keys >= t.
        uint lo = 0u, hi = 0xFFFFFFFFu;
        while (lo < hi) {
            uint mid = lo + (hi - lo) / 2u + 1u;
            if (count_all(0u, mid, 0u) >= k) lo = mid;
            else hi = mid - 1u;
        }
        uint thr = lo;
        uint greater = thr == 0xFFFFFFFFu ? 0u : count_all(0u, thr + 1u, 0u);
        uint ties = k - greater; // >= 1: keys equal to thr taken, lowest index first
        // The index bound: the smallest b with ties keys == thr at indices <= b.
        uint blo = 0u, bhi = n - 1u;
        while (blo < bhi) {
            uint mid = blo + (bhi - blo) / 2u;
            if (count_all(1u, thr, mid) >= ties) bhi = mid;
            else blo = mid + 1u;
        }
        uint bound = blo;
        uint r = fm_recip(u_temperature);
        for (uint i = lid; i < n; i += 256u) {
            uint key = logit_key(scratch[i]);
            bool selected = key > thr || (key == thr && i <= bound);
            scratch[n + i] = selected && key != 0u ? fm_exp(fm_mul(fm_sub(scratch[i], m), r)) : 0u;
        }
        sync();
        uint nb = (n + 15u) / 16u;
        for (uint bl = lid; bl < nb; bl += 256u) {
            uint u[16];
            for (uint q = 0u; q < 16u; ++q)
                u[q] = bl * 16u + q < n ? scratch[n + bl * 16u + q] : 0u;
            scratch[2u * n + bl] = fm_block_sum(u);
        }
        sync();
        if (lid == 0u) {
            uint total = 0u;
            for (uint bl = 0u; bl < nb; ++bl)
                total = fm_add(total, scratch[2u * n + bl]);
            uint u = fm_mul(fm_from_int(int(mix32(state) >> 8u)), 0x33800000u); // (z >> 8) * 2^-24
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
    }
    if (lid != 0u) return;
    if (is_sample) store_element_rgba(element_pos(u_b_row, 0u, u_width), state); // b first, then c
    ivec2 hp = ivec2(0, int(u_out_row));
    if (inside_image(hp)) imageStore(u_image, hp, u_header);
    store_element_rgba(element_pos(u_out_row, 0u, u_width), token);
}
