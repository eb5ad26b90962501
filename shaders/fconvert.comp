#version 430
// fconvert.comp — the element-wise float conversions and GELU (PROTOCOL.md §11.4, 11.5, 11.7),
// selected by u_opcode, one invocation per element of c (per pixel of c for f32 -> f16, which packs
// two elements into each pixel). a comes gathered before anything is written (§4.2): packed bytes
// (gather.comp) for DEQUANT of u8, whole words (gather32.comp) otherwise, f16 pairs as one word per
// pixel. The arithmetic is shaders/fmath.glsl only. Shared by both GL variants.
layout(local_size_x = 256) in;
#include "common.glsl"
#include "fmath.glsl"
layout(std430, binding = 0) readonly buffer A { uint a_words[]; };
uniform uint u_opcode;
uniform uint u_out_row;
uniform uint u_count;    // invocations that store: elements of c, or its pixels when c is f16
uniform uint u_elements; // elements of a and c
uniform uint u_width;
uniform uvec4 u_header;
uniform bool u_write_header;
uniform uint u_scale;      // DEQUANT: scale, QUANT: inv_scale (f32 bits)
uniform uint u_zero_point; // DEQUANT, QUANT
uniform bool u_to_f16;     // FCONVERT: f32 -> f16 (else f16 -> f32)
uniform bool u_a_i32;      // DEQUANT of i32 words (§16.4; zero point 0) instead of u8 codes

void main() {
    uint i = linear_invocation(256u);
    ivec2 hp = ivec2(0, int(u_out_row));
    if (i == 0u && u_write_header && inside_image(hp)) imageStore(u_image, hp, u_header);
    if (i >= u_count) return;
    ivec2 p = element_pos(u_out_row, i, u_width);
    if (u_opcode == OP_DEQUANT && u_a_i32) {
        store_element_rgba(p, fm_mul(fm_from_i32_rne(int(a_words[i])), u_scale));
    } else if (u_opcode == OP_DEQUANT) {
        store_element_rgba(p, fm_dequantize(PACKED_BYTE(a_words, i), u_zero_point, u_scale));
    } else if (u_opcode == OP_QUANT) {
        store_element_r(p, fm_quantize(a_words[i], u_scale, u_zero_point));
    } else if (u_opcode == OP_GELU) {
        store_element_rgba(p, fm_gelu(fm_canon(a_words[i])));
    } else if (u_to_f16) { // pixel i holds elements 2i (low half) and 2i + 1 (high half, 0 past the end)
        uint lo = fm_to_f16(a_words[2u * i]);
        uint hi = 2u * i + 1u < u_elements ? fm_to_f16(a_words[2u * i + 1u]) : 0u;
        store_element_rgba(p, lo | (hi << 16u));
    } else {
        uint w = a_words[i >> 1u];
        store_element_rgba(p, fm_from_f16((i & 1u) != 0u ? w >> 16u : w & 0xFFFFu));
    }
}
