// Tests of pxdbg's debugger model with the GPU in lockstep (headless EGL): break on divergence
// with the test-only fault injection (PXDBG_TEST_HOOKS, debugger.h's GpuFault), CPU vs GPU
// comparison metrics, and reverse execution keeping the GPU in line.
#include "debugger.h"
#include "gl_test_util.h"
#include "png_io.h"
#include "test_util.h"
#include "trace.h"

#include <doctest/doctest.h>

using namespace pxdbg;
using namespace pxtest;

#ifndef PXDBG_TEST_HOOKS
#error "this test needs the debugger model built with PXDBG_TEST_HOOKS (pxdbg_model_hooks)"
#endif

namespace {

px::Image pixellm() {
    auto loaded = px::load_png(source_path("assets/pixellm.pxi"));
    REQUIRE(loaded.ok());
    return loaded->image;
}

void start_gpu(Debugger& d, const px::Image& prog) {
    gl_context();
    load_image(d, prog, "");
    set_gpu_enabled(d, true);
    REQUIRE_MESSAGE(gpu_available(d), d.gpu_error);
}

} // namespace

TEST_CASE("without a fault, CPU and GPU never diverge and the metrics say so") {
    const px::Image prog = pixellm();
    Debugger d;
    start_gpu(d, prog);
    const uint64_t n = run_until_divergence(d);
    CHECK(d.cpu.status == px::VmStatus::Halted);
    CHECK(!d.divergence);
    CHECK(n == d.cpu.steps);
    auto gpu = compare_image(d, CompareWith::Gpu);
    REQUIRE(gpu.ok());
    const px::ImageDiff diff = compare_metrics(d, gpu.value());
    CHECK(diff.count == 0);
    CHECK(diff.count == px::diff_images(d.cpu.image, gpu.value()).count);
}

TEST_CASE("break on divergence stops at the faulted step, naming the pixel and the instruction") {
    const px::Image prog = pixellm();
    // The truth, from a plain CPU re-run: what step 2 executes (QMATMUL32, the int32 logits) and
    // the first element pixel it writes (its second rectangle; the first is the header).
    px::VmState vm = px::make_vm(prog);
    px::step(vm);
    const px::StepResult second = px::step(vm);
    REQUIRE(second.written.size() >= 2);
    const px::Rect w = second.written[1];

    Debugger d;
    start_gpu(d, prog);
    d.gpu_fault = GpuFault{2, std::make_pair(w.x, w.y), 0x10};
    const uint64_t n = run_until_divergence(d);
    CHECK(n == 2);
    REQUIRE(d.divergence);
    const Divergence& v = *d.divergence;
    CHECK(v.step == 2);
    CHECK(d.stopped == StopReason::Divergence);
    CHECK(v.pc == second.executed_pc);
    CHECK(v.opcode == second.opcode);
    CHECK(v.x == w.x);
    CHECK(v.y == w.y);
    CHECK(v.differing == 1);
    CHECK(v.cpu == vm.image.pixel(w.x, w.y));
    px::Rgba flipped = v.cpu;
    flipped[0] ^= 0x10;
    CHECK(v.gpu == flipped);
    CHECK(d.cpu.status == px::VmStatus::Ready);

    // The difference view's metrics: one pixel of the logits, by 16 (the int32's low byte).
    auto gpu = compare_image(d, CompareWith::Gpu);
    REQUIRE(gpu.ok());
    const px::ImageDiff diff = compare_metrics(d, gpu.value());
    CHECK(diff.count == 1);
    for (const px::RegionDiff& r : diff.regions)
        if (r.count) {
            CHECK(r.name == "logits");
            CHECK(r.type == px::DType::I32);
            CHECK(r.first_x == w.x);
            CHECK(r.first_y == w.y);
            CHECK(r.max_abs == 16);
        }

    // Continue (F5) with break-on-divergence does not stop again for the same divergence.
    d.running = true;
    d.run_started_steps = d.cpu.steps;
    while (d.running)
        continue_for(d, 1000);
    CHECK(d.cpu.status == px::VmStatus::Halted);

    // Stepping back brings the GPU in line by replaying (the fault is not replayed).
    step_back(d);
    CHECK(!d.divergence);
    CHECK(d.parity.identical);

    // Continue from the start stops at the divergence as a forward run with F5 would; by default
    // the fault hits the step's first written pixel (the logits' header).
    Debugger e;
    start_gpu(e, prog);
    e.gpu_fault = GpuFault{2, std::nullopt, 0x01};
    e.running = true;
    e.run_started_steps = 0;
    while (e.running)
        continue_for(e, 1000);
    REQUIRE(e.divergence);
    CHECK(e.cpu.steps == 2);
    CHECK(e.divergence->step == 2);
    CHECK(e.divergence->x == second.written[0].x);
    CHECK(e.divergence->y == second.written[0].y);
    CHECK(e.stopped == StopReason::Divergence);
}

TEST_CASE("reverse-continue with the GPU in lockstep leaves both executors at the same state") {
    const px::Image prog = pixellm();
    Debugger d;
    start_gpu(d, prog);
    while (d.cpu.status == px::VmStatus::Ready)
        step_once(d);
    toggle_breakpoint(d, px::make_vm(prog).pc); // pc 0
    reverse_continue(d);
    CHECK(d.cpu.steps == 0);
    auto gpu = compare_image(d, CompareWith::Gpu);
    REQUIRE(gpu.ok());
    CHECK(gpu->rgba == prog.rgba);
    CHECK(d.parity.identical);
}
