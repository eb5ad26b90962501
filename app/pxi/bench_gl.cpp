#include "bench_gl.h"

#if PXOS_HAVE_GL
#include "gl/gl_executor.h"

#include <epoxy/gl.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace pxbench {
namespace {

// Every invocation reads uvec4s a grid-stride apart (so a warp's reads are adjacent) and folds
// them into one word it writes, so nothing read can be skipped.
constexpr const char* kReadShader = R"(#version 430
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Src { uvec4 src[]; };
layout(std430, binding = 1) writeonly buffer Dst { uint dst[]; };
uniform uint n_vec4;
void main() {
    uint i = gl_GlobalInvocationID.x;
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    uvec4 acc = uvec4(0u);
    for (; i < n_vec4; i += stride) acc ^= src[i];
    dst[gl_GlobalInvocationID.x] = acc.x ^ acc.y ^ acc.z ^ acc.w;
}
)";

// Four independent chains of x = x * k + k on 4-vectors: 16 multiply-adds an iteration, every
// lane summed into the output so none can be dropped. Float: `precise` keeps the multiply and the
// add separate (no fused multiply-add), as FMATMUL's F.5 arithmetic is; uint: 32-bit wrapping, as
// MATMUL's accumulators.
std::string peak_shader(bool is_float) {
    std::string source = R"(#version 430
layout(local_size_x = 256) in;
layout(std430, binding = 1) writeonly buffer Dst { SCALAR dst[]; };
uniform uint iters;
uniform SCALAR k;
void main() {
    precise VEC a = VEC(SCALAR(gl_GlobalInvocationID.x));
    precise VEC b = a + k, c = b + k, d = c + k;
    for (uint i = 0u; i < iters; ++i) {
        a = a * k + k; b = b * k + k; c = c * k + k; d = d * k + k;
    }
    VEC t = a + b + c + d;
    dst[gl_GlobalInvocationID.x] = t.x + t.y + t.z + t.w;
}
)";
    for (const auto& [name, value] :
         {std::pair<std::string, std::string>{"SCALAR", is_float ? "float" : "uint"},
          {"VEC", is_float ? "vec4" : "uvec4"}})
        for (size_t at = source.find(name); at != std::string::npos;
             at = source.find(name, at + value.size()))
            source.replace(at, name.size(), value);
    return source;
}

// Milliseconds of `reps` dispatches of `groups` workgroups back to back, by the host's clock
// between two glFinish calls: GL_TIME_ELAPSED measured nothing on llvmpipe (1 ns a dispatch), and
// over passes of milliseconds the host's clock costs a GPU little.
double dispatch_ms(GLuint groups, uint32_t reps) {
    glFinish();
    const auto t0 = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < reps; ++i)
        glDispatchCompute(groups, 1, 1);
    glFinish();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The best of `runs` timings, after one untimed.
double best_ms(GLuint groups, uint32_t reps, int runs) {
    dispatch_ms(groups, reps);
    double best = 1e300;
    for (int i = 0; i < runs; ++i)
        best = std::min(best, dispatch_ms(groups, reps));
    return best;
}

// GMAC/s of a peak shader (16 multiply-adds an iteration an invocation): iterations double until a
// dispatch takes at least target_ms.
double peak_gmacs(GLuint program, bool is_float, GLuint groups, double target_ms, int runs) {
    glUseProgram(program);
    const GLint it = glGetUniformLocation(program, "iters"), k = glGetUniformLocation(program, "k");
    if (is_float)
        glUniform1f(k, 0.999f);
    else
        glUniform1ui(k, 1664525u);
    uint32_t iters = 64;
    double ms = 0;
    for (;;) {
        glUniform1ui(it, iters);
        ms = best_ms(groups, 1, runs);
        if (ms >= target_ms || iters >= (1u << 24)) break;
        iters *= 2;
    }
    const double macs = double(groups) * 256.0 * double(iters) * 16.0;
    return ms > 0 ? macs / ms / 1e6 : 0;
}

} // namespace

GlCeilings measure_gl_ceilings(bool quick) {
    GlCeilings c;
    auto read = px::gl::compile_compute(kReadShader, "bench: read ceiling");
    auto fpeak = px::gl::compile_compute(peak_shader(true), "bench: float peak");
    auto ipeak = px::gl::compile_compute(peak_shader(false), "bench: integer peak");
    for (const auto* p : {&read, &fpeak, &ipeak})
        if (!*p) {
            c.error = p->error().message;
            return c;
        }
    GLint64 max_block = 0;
    glGetInteger64v(GL_MAX_SHADER_STORAGE_BLOCK_SIZE, &max_block);
    c.read_bytes =
        std::min<uint64_t>(quick ? uint64_t(16) << 20 : uint64_t(256) << 20, uint64_t(max_block)) / 16 * 16;
    const GLuint groups = quick ? 64 : 1024; // workgroups of 256 invocations
    px::gl::Buffer src = px::gl::make_buffer("bench: read ceiling source");
    px::gl::Buffer dst = px::gl::make_buffer("bench: ceilings output");
    std::vector<uint8_t> fill(c.read_bytes);
    for (size_t i = 0; i < fill.size(); ++i)
        fill[i] = uint8_t(i * 131 + 7);
    glNamedBufferStorage(src.get(), GLsizeiptr(c.read_bytes), fill.data(), 0);
    glNamedBufferStorage(dst.get(), GLsizeiptr(groups) * 256 * 4, nullptr, 0);
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, src.get());
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 1, dst.get());
    const int runs = quick ? 2 : 5;

    const double target_ms = quick ? 2.0 : 20.0;
    glUseProgram(read->get());
    glUniform1ui(glGetUniformLocation(read->get(), "n_vec4"), GLuint(c.read_bytes / 16));
    uint32_t reps = 1; // passes over the buffer in one timing, doubled until it takes target_ms
    double read_ms = best_ms(groups, reps, runs);
    while (read_ms < target_ms && reps < 4096)
        read_ms = best_ms(groups, reps *= 2, runs);
    c.read_gbs = read_ms > 0 ? double(c.read_bytes) * reps / read_ms / 1e6 : 0;
    c.float_gmacs = peak_gmacs(fpeak->get(), true, groups, target_ms, runs);
    c.int_gmacs = peak_gmacs(ipeak->get(), false, groups, target_ms, runs);
    glUseProgram(0);
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, 0);
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 1, 0);
    if (const GLenum e = glGetError(); e != GL_NO_ERROR) {
        c.error = "GL error " + std::to_string(e) + " while measuring the GL ceilings";
        return c;
    }
    c.measured = c.read_gbs > 0 && c.float_gmacs > 0 && c.int_gmacs > 0;
    if (!c.measured) c.error = "a GL ceiling measured as 0";
    return c;
}

} // namespace pxbench

#else

namespace pxbench {
GlCeilings measure_gl_ceilings(bool) {
    GlCeilings c;
    c.error = "pxi was built without the OpenGL executor";
    return c;
}
} // namespace pxbench

#endif
