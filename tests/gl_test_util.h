// gl_test_util.h — shared by the gl_*_test.cpp files: one headless context per test executable,
// an executor on it, the randomized tests' seed, and CPU-vs-GL lockstep comparison. Without an OpenGL 4.3
// context the executable prints why and exits 77, which ctest reports as skipped (SKIP_RETURN_CODE), never as
// passed.
#pragma once
#include "gl_executor.h"
#include "vm.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace pxtest {

inline px::gl::HeadlessContext& gl_context() {
    static px::gl::HeadlessContext* ctx = [] {
        auto r = px::gl::create_headless_context();
        if (!r) {
            std::printf("SKIP: %s\n", r.error().message.c_str());
            std::fflush(stdout);
            std::exit(77);
        }
        return new px::gl::HeadlessContext(std::move(r.value())); // lives until exit
    }();
    return *ctx;
}

// An executor with the given matmul kernel on the test's context (created on first use).
inline px::gl::Executor test_executor(px::gl::MatmulKernel kernel) {
    gl_context();
    px::gl::ExecutorDesc desc;
    desc.matmul = kernel;
    auto ex = px::gl::create_executor(px::make_image(1, 1), desc);
    REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? "" : ex.error().message));
    return std::move(ex.value());
}

// The seed a randomized parity test starts from: PXOS_SEED when set (to rerun a failure), else
// the test's own.
inline uint64_t seed_from_env(uint64_t fallback) {
    const char* s = std::getenv("PXOS_SEED");
    return s ? std::strtoull(s, nullptr, 10) : fallback;
}

// The first pixel where two images differ, as "(x,y) cpu=(r,g,b,a) gl=(r,g,b,a)", or "".
inline std::string first_difference(const px::Image& cpu, const px::Image& gl) {
    if (cpu.width != gl.width || cpu.height != gl.height) return "sizes differ";
    for (uint32_t y = 0; y < cpu.height; ++y)
        for (uint32_t x = 0; x < cpu.width; ++x) {
            const px::Rgba a = cpu.pixel(x, y), b = gl.pixel(x, y);
            if (a != b) {
                char buf[128];
                std::snprintf(buf, sizeof buf, "(%u,%u) cpu=(%u,%u,%u,%u) gl=(%u,%u,%u,%u)", x, y, a[0], a[1],
                              a[2], a[3], b[0], b[1], b[2], b[3]);
                return buf;
            }
        }
    return "";
}

// Runs `image` on the CPU and on `ex` (reset to it) in lockstep; after every step the status, pc,
// step count, trap, written rectangles and the whole image must agree. Returns the number of
// steps, or -1 after reporting the first divergence through doctest.
inline int lockstep(px::gl::Executor& ex, const px::Image& image, const std::string& what,
                    uint64_t step_limit = px::kDefaultStepLimit) {
    using namespace px;
    REQUIRE(gl::reset_executor(ex, image).ok());
    VmState vm = make_vm(image, step_limit);
    int n = 0;
    for (; vm.status == VmStatus::Ready && n < 100000; ++n) {
        const StepResult c = step(vm);
        const gl::GlStepResult g = gl::gl_step(ex);
        INFO(what << ", step " << n << " at pc " << c.executed_pc);
        const bool same = c.status == g.step.status && c.executed_pc == g.step.executed_pc &&
                          c.opcode == g.step.opcode && c.written == g.step.written &&
                          vm.registers() == gl::gl_registers(ex);
        const Trap& gt = gl::gl_trap(ex);
        const std::string diff = first_difference(vm.image, gl::gl_read_image(ex));
        const auto errors = gl::gl_take_errors(ex);
        CHECK_MESSAGE(errors.empty(), (errors.empty() ? "" : errors[0]));
        CHECK_MESSAGE(same, "registers or trap differ: cpu " << describe_trap(vm.trap) << " / gl "
                                                             << describe_trap(gt));
        CHECK_MESSAGE(diff.empty(), "images differ at " << diff);
        if (!same || !diff.empty() || !errors.empty()) return -1;
    }
    if (std::getenv("PXOS_TRAPS") && vm.status == VmStatus::Trapped) // generator tuning aid
        std::printf("%s | %s\n", what.c_str(), describe_trap(vm.trap).c_str());
    // Stepping a stopped VM changes nothing on either side.
    const gl::GlStepResult again = gl::gl_step(ex);
    CHECK(again.step.status == vm.status);
    return n;
}

} // namespace pxtest
