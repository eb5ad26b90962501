#version 430
// dot.comp — DOT a, b, c (PROTOCOL.md §5.1), the reduction: each work group sums a grid-strided
// share of a[i]*b[i] in uint, reduces it in shared memory and adds it to `sum` atomically. Every
// step is addition modulo 2^32, which is associative and commutative, so the order the GPU picks
// gives exactly the CPU's sum. dot_store.comp then writes the pixel.
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) readonly buffer A { uint a_words[]; };
layout(std430, binding = 1) readonly buffer B { uint b_words[]; };
layout(std430, binding = 2) buffer Sum { uint sum; };
uniform uint u_count;
shared uint partial[256];

void main() {
    uint stride = gl_NumWorkGroups.x * 256u;
    uint acc = 0u;
    for (uint i = gl_GlobalInvocationID.x; i < u_count; i += stride)
        acc += PACKED_BYTE(a_words, i) * PACKED_BYTE(b_words, i);
    partial[gl_LocalInvocationIndex] = acc;
    barrier();
    for (uint half_ = 128u; half_ > 0u; half_ >>= 1u) {
        if (gl_LocalInvocationIndex < half_)
            partial[gl_LocalInvocationIndex] += partial[gl_LocalInvocationIndex + half_];
        barrier();
    }
    if (gl_LocalInvocationIndex == 0u) atomicAdd(sum, partial[0]);
}
