// gl_executor.h — the OpenGL 4.3 compute executor: the same program, on the texture itself.
//
// The program lives in one RGBA8UI texture owned by the executor. gl_step() executes exactly one
// instruction with compute dispatches on that texture, through the same step driver as the CPU
// (px::step_registers(): registers, every check and trap from px::plan_instruction()), fed by
// pixels read back from the texture (the instruction pixels and a few headers, never the whole
// image), so both executors trap identically and move their registers the same way.
// Requires a current OpenGL 4.3+ context: the GUI's (GLFW) or a headless one from
// create_headless_context() (EGL: surfaceless on Mesa, device platform on NVIDIA).
#pragma once
#include "gl_objects.h"
#include "image.h"
#include "result.h"
#include "vm.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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
    bool gpu_timing = false; // time each step on the GPU: GL_TIMESTAMP queries around its dispatches
    uint64_t step_limit = 0; // 0 = kDefaultStepLimit
    std::string shader_dir;  // non-empty: load shaders from here (development reload), else embedded
    bool warm_up = false;    // dispatch every kernel once at creation, writing nothing, so drivers that
                             // compile on first use (llvmpipe) do it before anything is timed
    // Multiply-adds one dispatch of MATMUL (and QMATMUL, QMATMUL32) or FMATMUL may do; a larger
    // product is split into bands of output rows, one dispatch each, flushed separately. Why: a
    // desktop GPU's watchdog (Windows TDR: 2 s) resets the context when one submission runs too
    // long. 0 = kDefaultMaxDispatchWork. A band is never narrower than one work group's rows.
    uint64_t max_dispatch_work = 0;
    // Behave as a context without GL_ARB_gpu_shader_int64 (tests of the error QLAYERNORM and
    // QATTENTION report there, PROTOCOL.md §16).
    bool without_int64 = false;
};
inline constexpr uint64_t kDefaultMaxDispatchWork = uint64_t(1) << 30;

// Everything the GPU side owns: texture, programs, scratch buffers, and the VM registers.
struct Executor {
    struct Impl;
    std::unique_ptr<Impl, void (*)(Impl*)> impl{nullptr, nullptr};
};

Result<Executor> create_executor(const Image& image, const ExecutorDesc& desc = {});
// Replaces the program (same or different size) and resets pc/steps/status.
Status reset_executor(Executor& ex, const Image& image);

struct GlStepResult {
    StepResult step;         // as the CPU reports it: status, pc, opcode, written rects
    double gpu_ms = -1;      // from the timer query when gpu_timing, else -1
    uint32_t dispatches = 0; // compute dispatches the step issued (a split product issues several)
};
GlStepResult gl_step(Executor& ex);

// Registers: the same meaning as px::VmState's, so `vm.registers() == gl_registers(ex)` compares
// the two executors (an executor without state reports Trapped). The rest are shorthands.
const VmRegisters& gl_registers(const Executor& ex);
uint32_t gl_pc(const Executor& ex);
uint64_t gl_steps(const Executor& ex);
VmStatus gl_status(const Executor& ex);
const Trap& gl_trap(const Executor& ex);

// Whether the opcode has a GPU kernel (or is one that writes nothing): tests/opcodes_test.cpp.
bool gl_has_kernel(uint8_t opcode);

// Reads the whole image back (tests, compare, save). Text chunks are those given at create/reset.
Image gl_read_image(const Executor& ex);
// The program texture (GL_RGBA8UI, width x height), for a view to sample with a usampler2D.
// reset_executor() with an image of another size replaces it (a new name); same size keeps it.
unsigned gl_texture(const Executor& ex);

// GL errors seen since the last call (KHR_debug errors when the executor installed the debug
// callback, plus glGetError), then cleared. Empty when everything went right.
std::vector<std::string> gl_take_errors(Executor& ex);
// Sets the step limit (any value, 0 included: then the next step traps STEP_LIMIT, as on the CPU).
void gl_set_step_limit(Executor& ex, uint64_t step_limit);
// Switches the MATMUL kernel between steps (both give the same bytes).
void gl_set_matmul_kernel(Executor& ex, MatmulKernel kernel);

// Compiles and links one compute shader from its whole source, labelled "pxos NAME"; errors name
// the shader and carry the driver's log. The executor's kernels come through it, and so do the
// kernels tools time on their own (pxi bench's GL ceilings). Needs a current context.
Result<Program> compile_compute(const std::string& source, const std::string& name);

// GL state: the executor saves and restores everything it binds (current program, image unit 0,
// SSBO binding points 0..2 and the generic SSBO binding, pixel pack/unpack buffers and pixel-store
// parameters). It enables GL_DEBUG_OUTPUT and installs a debug callback only when none is
// installed (removing it when destroyed). Destroy the executor while its context is current.

} // namespace px::gl
