#version 430 core
// view.frag — shows an RGBA8UI program texture (or an R8UI matrix texture) as pxdbg's views do.
//
// Runs only for the visible fragments: each finds its image pixel from the pan/zoom uniforms and
// reads it with texelFetch (nearest, exact integers). Channel toggles, the colormap data mode, the
// pixel grid and the comparison overlays (CPU vs GPU difference, changed since start) are all
// computed here, so the CPU never converts the image and the frame cost does not depend on its size.
uniform usampler2D u_image;   // unit 0: what is shown
uniform usampler2D u_compare; // unit 1: compared against when u_compare_mode != 0
uniform ivec2 u_size;         // image size in pixels
uniform vec2 u_origin;        // framebuffer position (GL window coordinates) of image pixel (0,0)'s top-left
uniform vec2 u_zoom;          // framebuffer pixels per image pixel, x and y (y stretched for thin matrices)
uniform bvec4 u_channels;     // R, G, B, A shown
uniform int u_data_mode;      // 1: R through the colormap over [u_range.x, u_range.y]
uniform vec2 u_range;
uniform int u_compare_mode;   // 0 none, 1 mark pixels differing from u_compare, 2 heat of |R - R'|
uniform float u_grid;         // grid line opacity (0 = off)
uniform int u_matrix_mode;    // 1: u_image is a logical matrix (rows x cols element pixels)
uniform int u_elem_type;      // matrix mode, a dtype code: 0 the R byte (u8), 1 the whole pixel as float32, 3 as int32
uniform int u_colormap;       // 0 viridis, 1 gray, 2 diverging (blue, white, red)
uniform int u_per_row;        // data mode: 1 = per-row ranges from u_row_info
uniform sampler2D u_row_info; // unit 2: texel (y, 0) = (lo, hi, dtype code + 4 * end x, 1 if a matrix's row)
// Element types are the dtype codes of engine/numeric/dtype.h: 0 u8, 1 f32, 2 f16 (two per pixel:
// the left half of a cell shows R,G, the right half B,A), 3 i32. Float values always go through
// the diverging map over lo..hi (the debugger makes it symmetric about 0), and values that are
// not numbers are marked: NaN magenta, +inf yellow, -inf cyan.
out vec4 frag;

// A perceptually ordered colormap (a compact polynomial fit of viridis).
vec3 viridis(float t) {
    const vec3 c0 = vec3(0.2777, 0.0054, 0.3341);
    const vec3 c1 = vec3(0.1051, 1.4046, 1.3846);
    const vec3 c2 = vec3(-0.3309, 0.2148, 0.0951);
    const vec3 c3 = vec3(-4.6342, -5.7991, -19.3324);
    const vec3 c4 = vec3(6.2283, 14.1799, 56.6906);
    const vec3 c5 = vec3(4.7764, -13.7451, -65.3530);
    const vec3 c6 = vec3(-5.4355, 4.6459, 26.3124);
    return clamp(c0 + t * (c1 + t * (c2 + t * (c3 + t * (c4 + t * (c5 + t * c6))))), 0.0, 1.0);
}

vec3 colormap(float t) {
    if (u_colormap == 1) return vec3(t);
    if (u_colormap == 2)
        return t < 0.5 ? mix(vec3(0.23, 0.30, 0.75), vec3(0.95), t * 2.0)
                       : mix(vec3(0.95), vec3(0.71, 0.02, 0.15), t * 2.0 - 1.0);
    return viridis(t);
}

vec3 checker(vec2 p) {
    vec2 c = floor(p / 8.0);
    return mod(c.x + c.y, 2.0) < 1.0 ? vec3(0.30) : vec3(0.42);
}

void main() {
    vec2 fb = gl_FragCoord.xy;
    vec2 p = vec2(fb.x - u_origin.x, u_origin.y - fb.y) / u_zoom;
    ivec2 ip = ivec2(floor(p));
    if (ip.x < 0 || ip.y < 0 || ip.x >= u_size.x || ip.y >= u_size.y) discard;
    uvec4 v = texelFetch(u_image, ip, 0);
    vec3 rgb;
    float alpha = 1.0;
    // Per-row ranges: each matrix through the colormap over its own min..max, in its element
    // type; row 0 and header pixels (x = 0) keep their RGB, as do rows no matrix owns.
    vec4 row = vec4(u_range, 0.0, 1.0);
    bool colored = u_data_mode == 1 || u_matrix_mode == 1;
    int type = u_elem_type;
    if (u_matrix_mode == 0 && u_data_mode == 1) {
        type = 0;
        if (u_per_row == 1) {
            row = texelFetch(u_row_info, ivec2(ip.y, 0), 0);
            int bits = int(row.z + 0.5); // type + 4 * (x where the matrix's elements end in this row)
            type = bits & 3;
            colored = row.w > 0.5 && ip.x > 0 && ip.x < (bits >> 2);
        }
    }
    if (colored) {
        uint word = v.r | v.g << 8 | v.b << 16 | v.a << 24;
        float value = float(v.r);
        if (type == 3) value = float(int(word));
        if (type == 1) value = uintBitsToFloat(word);
        if (type == 2) {
            vec2 h = unpackHalf2x16(word);
            value = p.x - float(ip.x) < 0.5 ? h.x : h.y;
        }
        if (type == 1 || type == 2) {
            if (isnan(value)) rgb = vec3(1.0, 0.0, 1.0);
            else if (isinf(value)) rgb = value > 0.0 ? vec3(1.0, 1.0, 0.0) : vec3(0.0, 1.0, 1.0);
            else {
                float t = (value - row.x) / max(row.y - row.x, 1e-37);
                rgb = mix(vec3(0.23, 0.30, 0.75), vec3(0.95), clamp(t * 2.0, 0.0, 1.0));
                if (t > 0.5) rgb = mix(vec3(0.95), vec3(0.71, 0.02, 0.15), clamp(t * 2.0 - 1.0, 0.0, 1.0));
            }
        } else {
            float span = max(row.y - row.x, 1e-6);
            rgb = colormap(clamp((value - row.x) / span, 0.0, 1.0));
        }
    } else {
        vec4 f = vec4(v) / 255.0;
        int shown = int(u_channels.r) + int(u_channels.g) + int(u_channels.b) + int(u_channels.a);
        if (shown == 1) { // a single channel as grey, as texture viewers do
            float g = u_channels.r ? f.r : u_channels.g ? f.g : u_channels.b ? f.b : f.a;
            rgb = vec3(g);
        } else {
            rgb = vec3(u_channels.r ? f.r : 0.0, u_channels.g ? f.g : 0.0, u_channels.b ? f.b : 0.0);
            if (u_channels.a) alpha = f.a; // composited over a checkerboard below
        }
    }
    if (alpha < 1.0) rgb = mix(checker(fb), rgb, alpha);
    if (u_compare_mode != 0) {
        uvec4 o = texelFetch(u_compare, ip, 0);
        bool differs = any(notEqual(v, o));
        if (u_compare_mode == 1) {
            rgb = differs ? vec3(1.0, 0.1, 0.8) : rgb * 0.3;
        } else if (differs) {
            float d = abs(float(v.r) - float(o.r)) / 255.0;
            vec3 heat = mix(vec3(1.0, 0.55, 0.0), vec3(1.0, 0.05, 0.05), sqrt(d));
            rgb = mix(rgb, heat, 0.75);
        }
    }
    if (u_grid > 0.0) {
        vec2 f = (p - vec2(ip)) * u_zoom; // position inside the cell, framebuffer pixels
        if (f.x < 1.0 || f.y < 1.0) rgb = mix(rgb, vec3(0.5), u_grid);
    }
    frag = vec4(rgb, 1.0);
}
