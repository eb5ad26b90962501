#include "bench_gl.h"

#if PXOS_HAVE_GL
#include "gl/gl_objects.h"

#include <epoxy/gl.h>

#include <algorithm>
#include <chrono>
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

// Four independent vec4 chains of x = x * k + c: 16 multiply-adds an iteration. `precise` keeps
// the multiply and the add separate (no fused multiply-add), as FMATMUL's F.5 arithmetic is.
constexpr const char* kFloatShader = R"(#version 430
layout(local_size_x = 256) in;
layout(std430, binding = 1) writeonly buffer Dst { float dst[]; };
uniform uint iters;
uniform float k;
void main() {
    precise vec4 a = vec4(float(gl_GlobalInvocationID.x) * 1e-7);
    precise vec4 b = a + 0.5, c = a + 0.25, d = a + 0.125;
    for (uint i = 0u; i < iters; ++i) {
        a = a * k + 0.5; b = b * k + 0.5; c = c * k + 0.5; d = d * k + 0.5;
    }
    dst[gl_GlobalInvocationID.x] = dot(a + b + c + d, vec4(1.0));
}
)";

// The same with 32-bit integers (wrapping), as MATMUL's accumulators are.
constexpr const char* kIntShader = R"(#version 430
layout(local_size_x = 256) in;
layout(std430, binding = 1) writeonly buffer Dst { uint dst[]; };
uniform uint iters;
uniform uint k;
void main() {
    uvec4 a = uvec4(gl_GlobalInvocationID.x), b = a + 1u, c = a + 2u, d = a + 3u;
    for (uint i = 0u; i < iters; ++i) {
        a = a * k + 7u; b = b * k + 7u; c = c * k + 7u; d = d * k + 7u;
    }
    uvec4 s = a ^ b ^ c ^ d;
    dst[gl_GlobalInvocationID.x] = s.x ^ s.y ^ s.z ^ s.w;
}
)";

px::gl::Program compile(const char* source, const char* name, std::string& error) {
    const GLuint shader = glCreateShader(GL_COMPUTE_SHADER);
    glShaderSource(shader, 1, &source, nullptr);
    glCompileShader(shader);
    GLint ok = 0;
    glGetShaderiv(shader, GL_COMPILE_STATUS, &ok);
    if (!ok) {
        char log[1024] = {};
        glGetShaderInfoLog(shader, sizeof log, nullptr, log);
        error = std::string(name) + ": does not compile: " + log;
        glDeleteShader(shader);
        return {};
    }
    px::gl::Program program(glCreateProgram());
    px::gl::label(GL_PROGRAM, program.get(), name);
    glAttachShader(program.get(), shader);
    glLinkProgram(program.get());
    glDeleteShader(shader);
    glGetProgramiv(program.get(), GL_LINK_STATUS, &ok);
    if (!ok) {
        error = std::string(name) + ": does not link";
        return {};
    }
    return program;
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
    std::string error;
    const px::gl::Program read = compile(kReadShader, "bench: read ceiling", error);
    const px::gl::Program fpeak = read ? compile(kFloatShader, "bench: float peak", error) : px::gl::Program{};
    const px::gl::Program ipeak = fpeak ? compile(kIntShader, "bench: integer peak", error) : px::gl::Program{};
    if (!ipeak) {
        c.error = error;
        return c;
    }
    GLint64 max_block = 0;
    glGetInteger64v(GL_MAX_SHADER_STORAGE_BLOCK_SIZE, &max_block);
    c.read_bytes = std::min<uint64_t>(quick ? uint64_t(16) << 20 : uint64_t(256) << 20, uint64_t(max_block)) / 16 * 16;
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
    glUseProgram(read.get());
    glUniform1ui(glGetUniformLocation(read.get(), "n_vec4"), GLuint(c.read_bytes / 16));
    uint32_t reps = 1; // passes over the buffer in one timing, doubled until it takes target_ms
    double read_ms = best_ms(groups, reps, runs);
    while (read_ms < target_ms && reps < 4096)
        read_ms = best_ms(groups, reps *= 2, runs);
    c.read_gbs = read_ms > 0 ? double(c.read_bytes) * reps / read_ms / 1e6 : 0;
    c.float_gmacs = peak_gmacs(fpeak.get(), true, groups, target_ms, runs);
    c.int_gmacs = peak_gmacs(ipeak.get(), false, groups, target_ms, runs);
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
