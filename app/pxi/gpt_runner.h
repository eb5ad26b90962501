// gpt_runner.h — one executor (cpu, cpu-ref or gl) driven one step at a time over a GPT program,
// so the host can watch the token sequence grow: pxi generate and eval, and pxi bench's
// generation section. The CPU ones keep their VmState; the GL one its session across programs.
// With `profiling` (CPU only) every step is timed into the prefill's, the decode passes' or the
// rest's accumulator (engine/debug/profile.h).
#pragma once
#include "cpu_fast.h"
#include "gl_session.h"
#include "opcodes.h"
#include "profile.h"
#include "vm.h"

#include <functional>
#include <memory>
#include <string>
#include <sys/resource.h>
#include <vector>

namespace pxi {

// This process's CPU time (user + system, every thread) in ms: beside wall-clock figures on a
// shared machine, where a run can wait for a core far longer than it computes.
inline double process_cpu_ms() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return 1e3 * double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           1e-3 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

inline std::vector<std::string> gpt_executors() {
#ifdef PXOS_HAVE_GL
    return {"cpu", "cpu-ref", "gl"};
#else
    return {"cpu", "cpu-ref"};
#endif
}

// One executor driven one step at a time, so the host can watch the sequence grow. The CPU ones
// keep their VmState; the GL one keeps its session across programs (reset_executor).
struct GptRunner {
    std::string kind;
    std::string kernel = "tiled"; // the GL executor's matmul kernel (same bytes; speed differs)
    px::VmState vm;
    px::PlanExecutor execute;
    // --profile (CPU executors only): each step of run_to_end timed into prefill, decode or rest
    // (the final HALT); the prefill ends with its LOOP, so the decode accumulator sees whole
    // decode passes.
    bool profiling = false, in_decode = false;
    px::ProfileAccumulator prefill, decode, rest;
#ifdef PXOS_HAVE_GL
    std::unique_ptr<pxi::GlSession> gl;
    px::Image readback; // image()'s last read of the GL executor's image
#endif

    // Loads a program; returns "" or an error line. The image is taken by value: a caller that
    // does not need it again moves it in (a GPT image is tens of megabytes, and a copy of it is
    // fresh pages: about 30 ms here).
    std::string start(px::Image image, uint64_t step_limit) {
#ifdef PXOS_HAVE_GL
        if (kind == "gl") {
            std::string error;
            if (!gl) {
                gl = pxi::open_gl(image, kernel, step_limit, false, error);
                return gl ? "" : error;
            }
            if (px::Status st = px::gl::reset_executor(gl->executor, image); !st) return st.error().message;
            px::gl::gl_set_step_limit(gl->executor, step_limit);
            return "";
        }
#endif
        vm = px::make_vm(std::move(image), step_limit);
        if (!execute) execute = kind == "cpu" ? px::fast_executor() : px::PlanExecutor(px::execute_reference);
        return "";
    }
    px::VmStatus status() const {
#ifdef PXOS_HAVE_GL
        if (kind == "gl") return px::gl::gl_status(gl->executor);
#endif
        return vm.status;
    }
    uint32_t pc() const {
#ifdef PXOS_HAVE_GL
        if (kind == "gl") return px::gl::gl_pc(gl->executor);
#endif
        return vm.pc;
    }
    px::Trap trap() const {
#ifdef PXOS_HAVE_GL
        if (kind == "gl") return px::gl::gl_trap(gl->executor);
#endif
        return vm.trap;
    }
    // One step; the pc of the instruction that ran (never profiled: see run_to_end).
    uint32_t step() {
#ifdef PXOS_HAVE_GL
        if (kind == "gl") return px::gl::gl_step(gl->executor).step.executed_pc;
#endif
        return px::step(vm, nullptr, execute).executed_pc;
    }
    // Runs to the end (halt, trap or the step limit), telling `after` the pc of each instruction
    // that ran or trapped, as step() after step() would. The CPU executors run it as one px::run()
    // call, in which the optimized executor compares each packed weight with its pixels once, not
    // at every use (cpu_fast.cpp, PackedWeight: a decode pass uses each weight once, so step() after
    // step() would compare every weight every token); `after` may read the image, never write it.
    // With `profiling` it is the same one call, each step timed (px::profile_run_into). On GL it is
    // step() after step().
    void run_to_end(const std::function<void(uint32_t pc)>& after) {
        if (kind == "gl") {
            while (status() == px::VmStatus::Ready)
                after(step());
            return;
        }
        auto told = [&](const px::VmState&, const px::StepResult& r) { after(r.executed_pc); };
        if (!profiling) {
            px::run(vm, {.after_step = told, .execute = execute});
            return;
        }
        auto pick = [&](uint8_t op) -> px::ProfileAccumulator& {
            px::ProfileAccumulator& acc = op == uint8_t(px::Opcode::HALT) ? rest
                                          : in_decode                     ? decode
                                                                          : prefill;
            if (op == uint8_t(px::Opcode::LOOP)) in_decode = true;
            return acc;
        };
        px::profile_run_into(vm, execute, pick, told);
    }
    // The image as it is now (GL: read back whole into `readback`), valid until the next call
    // that runs or reads back.
    const px::Image& image() {
#ifdef PXOS_HAVE_GL
        if (kind == "gl") return readback = px::gl::gl_read_image(gl->executor);
#endif
        return vm.image;
    }
    const px::Image* cpu_image() const {
        return kind == "gl" ? nullptr : &vm.image;
    }
    std::string gl_errors() {
#ifdef PXOS_HAVE_GL
        if (kind == "gl") {
            auto errors = px::gl::gl_take_errors(gl->executor);
            if (!errors.empty()) return "OpenGL error: " + errors.front();
        }
#endif
        return "";
    }
};

} // namespace pxi
