#version 430 core
// view.vert — pxdbg's program view: one quad covering the on-screen part of the image.
// u_quad is (x0, y0, x1, y1) in normalized device coordinates; view.frag does the rest.
uniform vec4 u_quad;
void main() {
    vec2 corner = vec2(float(gl_VertexID & 1), float(gl_VertexID >> 1));
    gl_Position = vec4(mix(u_quad.xy, u_quad.zw, corner), 0.0, 1.0);
}
