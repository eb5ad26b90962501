// common.glsl — shared by every pxOS compute shader (included textually by the executor).
//
// The program image is bound at image unit 0 as rgba8ui. Matrices follow PROTOCOL.md §3: element i
// of the matrix whose header is at (0, row) sits at x = 1 + i % (w-1), y = row + i / (w-1), value in
// R. Gathered inputs live in SSBOs packed four bytes to a uint, element i in byte i % 4 of word i / 4.
// All arithmetic is on uint: GLSL uint addition and multiplication wrap modulo 2^32 exactly like the
// CPU's uint32_t (PROTOCOL.md §2: integer arithmetic only).
layout(binding = 0, rgba8ui) uniform uimage2D u_image;

ivec2 element_pos(uint row, uint i, uint width) {
    return ivec2(int(1u + i % (width - 1u)), int(row + i / (width - 1u)));
}

bool inside_image(ivec2 p) {
    ivec2 size = imageSize(u_image);
    return p.x >= 0 && p.y >= 0 && p.x < size.x && p.y < size.y;
}

// Element i of the matrix at `row` as a whole pixel word (little-endian); 0 outside the texture.
uint load_element_word(uint row, uint i, uint width) {
    ivec2 p = element_pos(row, i, width);
    uvec4 px = inside_image(p) ? imageLoad(u_image, p) : uvec4(0u);
    return (px.r & 0xFFu) | (px.g & 0xFFu) << 8u | (px.b & 0xFFu) << 16u | (px.a & 0xFFu) << 24u;
}

// Writes R of an element pixel, keeping G, B and A (reserved, PROTOCOL.md §3). The plan checked
// that the matrix fits; the bounds test makes a write outside the texture impossible regardless.
void store_element_r(ivec2 p, uint value) {
    if (!inside_image(p)) return;
    uvec4 px = imageLoad(u_image, p);
    px.r = value;
    imageStore(u_image, p, px);
}

// Dispatches too large for one dimension of work groups use a 2-D grid; this is the linear id.
uint linear_invocation(uint local_size) {
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * local_size + gl_LocalInvocationIndex;
}

#define PACKED_BYTE(words, i) (((words)[(i) >> 2u] >> (((i) & 3u) << 3u)) & 0xFFu)

// Writes a whole element pixel: QMATMUL32's int32 results (PROTOCOL.md §5.5.5).
void store_element_rgba(ivec2 p, uint v) {
    if (!inside_image(p)) return;
    imageStore(u_image, p, uvec4(v & 0xFFu, (v >> 8u) & 0xFFu, (v >> 16u) & 0xFFu, v >> 24u));
}

// ---- Quantized arithmetic (PROTOCOL.md §5.5.7): exact 64-bit integers from 32-bit operations ----
// A 64-bit two's complement value is (int hi, uint lo).

// hi:lo += hi2:lo2 (callers keep the true sum far below 2^63).
void add64(inout int hi, inout uint lo, int hi2, uint lo2) {
    uint carry;
    lo = uaddCarry(lo, lo2, carry);
    hi = hi + hi2 + int(carry);
}

// floor((hi:lo + 2^(shift-1)) / 2^shift) with an arithmetic shift, then saturated to +-511 and
// clamped: clamp(v + zc, lo_c, hi_c). Any |v| >= 512 lands on the same bound as +-511 because
// zc and the clamp bounds are bytes.
uint requantize64(int hi, uint lo, uint shift, uint zc, uint clamp_lo, uint clamp_hi) {
    if (shift <= 32u) {
        uint carry;
        lo = uaddCarry(lo, 1u << (shift - 1u), carry);
        hi += int(carry);
    } else {
        hi += 1 << (shift - 33u);
    }
    int vhi;
    uint vlo;
    if (shift <= 31u) {
        vlo = (lo >> shift) | (uint(hi) << (32u - shift));
        vhi = hi >> shift;
    } else {
        vlo = uint(hi >> (shift - 32u));
        vhi = hi >> 31;
    }
    int t;
    if (vhi > 0 || (vhi == 0 && vlo > 511u)) t = 511;
    else if (vhi < -1 || (vhi == -1 && vlo < 0xFFFFFE01u)) t = -511;
    else t = int(vlo);
    return uint(clamp(t + int(zc), int(clamp_lo), int(clamp_hi)));
}

// QMATMUL's rq(acc) (acc: the int32 accumulator's bits), M >= 0, shift 1..62.
uint requantize_acc(uint acc, int multiplier, uint shift, uint zc, uint clamp_lo, uint clamp_hi) {
    int hi, lo;
    imulExtended(int(acc), multiplier, hi, lo);
    return requantize64(hi, uint(lo), shift, zc, clamp_lo, clamp_hi);
}
