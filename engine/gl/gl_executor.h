// gl_executor.h — the OpenGL 4.3 compute executor: the same program, on the texture itself.
//
// The program lives in one RGBA8UI texture owned by the executor. gl_step() executes exactly one
// instruction with compute dispatches on that texture; all checks and traps come from the same
// px::plan_instruction() the CPU uses, fed by pixels read back from the texture (the instruction
// pixels and a few headers, never the whole image), so both executors trap identically.
// Requires a current OpenGL 4.3+ context: the GUI's (GLFW) or a headless one from
// create_headless_context() (EGL: surfaceless on Mesa, device platform on NVIDIA).
#pragma once
#include "image.h"
#include "result.h"
#include "vm.h"

#include <cstdint>
#include <memory>
#include <string>

namespace px::gl {

// A headless EGL context, current on the creating thread while it lives. Move-only.
struct HeadlessContext {
    struct Impl;
    std::unique_ptr<Impl, void (*)(Impl*)> impl{nullptr, nullptr};
    std::string renderer; // GL_RENDERER, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"
};
// Fails with a one-line reason when no OpenGL 4.3 context with compute shaders can be had.
Result<HeadlessContext> create_headless_context();

enum class MatmulKernel : uint8_t { Tiled = 0, Simple = 1 }; // zero value = the default (tiled)

struct ExecutorDesc {
    MatmulKernel matmul = MatmulKernel::Tiled;
    bool gpu_timing = false;      // time each step with GL_TIME_ELAPSED queries
    uint64_t step_limit = 0;      // 0 = kDefaultStepLimit
    std::string shader_dir;       // non-empty: load shaders from here (development reload), else embedded
};

// Everything the GPU side owns: texture, programs, scratch buffers, and the VM registers.
struct Executor {
    struct Impl;
    std::unique_ptr<Impl, void (*)(Impl*)> impl{nullptr, nullptr};
};

Result<Executor> create_executor(const Image& image, const ExecutorDesc& desc = {});
// Replaces the program (same or different size) and resets pc/steps/status.
Status reset_executor(Executor& ex, const Image& image);

struct GlStepResult {
    StepResult step;     // as the CPU reports it: status, pc, opcode, written rects
    double gpu_ms = -1;  // from the timer query when gpu_timing, else -1
};
GlStepResult gl_step(Executor& ex);

// Registers: the same meaning as px::VmState's.
uint32_t gl_pc(const Executor& ex);
uint64_t gl_steps(const Executor& ex);
VmStatus gl_status(const Executor& ex);
const Trap& gl_trap(const Executor& ex);

// Reads the whole image back (tests, compare, save). Text chunks are those given at create/reset.
Image gl_read_image(const Executor& ex);
// The program texture (GL_RGBA8UI, width x height), for a view to sample with a usampler2D.
unsigned gl_texture(const Executor& ex);

} // namespace px::gl
