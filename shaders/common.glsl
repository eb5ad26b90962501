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
