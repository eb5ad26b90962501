// Tests of pxdbg's debugger model (app/pxdbg/debugger.h) without a window or GPU: reverse
// execution, pixel history, comparison with an earlier step and "go to", each checked against a
// brute-force re-run of the program from the start.
#include "debugger.h"
#include "png_io.h"
#include "test_util.h"
#include "trace.h"

#include <doctest/doctest.h>

using namespace pxdbg;
using namespace pxtest;

namespace {

px::Image pixellm() {
    auto loaded = px::load_png(source_path("assets/pixellm.pxi"));
    REQUIRE(loaded.ok());
    return loaded->image;
}

// The VM re-run from the start for k steps: the independent truth for every check below.
px::VmState rerun(const px::Image& program, uint64_t k) {
    px::VmState vm = px::make_vm(program);
    for (uint64_t i = 0; i < k && vm.status == px::VmStatus::Ready; ++i)
        px::step(vm);
    return vm;
}

void run_to_end(Debugger& d) {
    while (d.cpu.status == px::VmStatus::Ready)
        step_once(d);
}

} // namespace

TEST_CASE("reverse-continue stops before the previous breakpoint's instruction, as a re-run does") {
    const px::Image prog = pixellm();
    Debugger d;
    load_image(d, prog, "");
    run_to_end(d);
    const uint64_t total = d.cpu.steps;
    REQUIRE(total >= 3);
    // A breakpoint on the pc of step 2 (the second instruction) and of step 3 (HALT).
    const px::VmState at1 = rerun(prog, 1), at2 = rerun(prog, 2);
    toggle_breakpoint(d, at1.pc);
    toggle_breakpoint(d, at2.pc);
    ReverseStop s = reverse_continue(d);
    CHECK(s.moved);
    CHECK(d.cpu.steps == 2);
    CHECK(d.cpu.pc == at2.pc);
    CHECK(d.stopped == StopReason::ReverseBreakpoint);
    CHECK(px::rgba_hash(d.cpu.image) == px::rgba_hash(at2.image));
    CHECK(s.steps_back == total - 2);
    s = reverse_continue(d);
    CHECK(d.cpu.steps == 1);
    CHECK(d.cpu.pc == at1.pc);
    CHECK(px::rgba_hash(d.cpu.image) == px::rgba_hash(at1.image));
    CHECK(s.note.find("breakpoint at pc") != std::string::npos);
    // No breakpoint behind: to the oldest step kept (the start).
    s = reverse_continue(d);
    CHECK(d.cpu.steps == 0);
    CHECK(d.cpu.image.rgba == prog.rgba);
    CHECK(s.note.find("no breakpoint behind") != std::string::npos);
    CHECK(d.stopped == StopReason::ReverseStart);
    s = reverse_continue(d);
    CHECK(!s.moved);
    // Forward again reaches the same end: nothing was lost going back.
    run_to_end(d);
    CHECK(d.cpu.steps == total);
    CHECK(px::rgba_hash(d.cpu.image) == px::rgba_hash(rerun(prog, total).image));
}

TEST_CASE("reverse to the step that last changed a logit, checked step by step against re-runs") {
    const px::Image prog = pixellm();
    Debugger d;
    load_image(d, prog, "");
    run_to_end(d);
    const uint64_t total = d.cpu.steps;
    const px::Region* logits = nullptr;
    for (const px::Region& r : d.regions)
        if (r.name == "logits") logits = &r;
    REQUIRE(logits);
    const uint32_t row = logits->row;
    // Element [0, 42] of the logits.
    const uint32_t W = d.cpu.image.width;
    const uint32_t x = px::element_x(42, W), y = uint32_t(px::element_y(42, row, W));
    // Brute force: the last step k (1-based) whose result differs at (x, y) from step k-1's.
    uint64_t want = 0;
    for (uint64_t k = 1; k <= total; ++k)
        if (rerun(prog, k).image.pixel(x, y) != rerun(prog, k - 1).image.pixel(x, y)) want = k;
    REQUIRE(want > 0);
    const px::Rgba before = rerun(prog, want - 1).image.pixel(x, y),
                   after = rerun(prog, want).image.pixel(x, y);

    // Pixel history lists that write with the right bytes and opcode.
    const px::PixelHistory h = pixel_history(d, x, y);
    REQUIRE(!h.writes.empty());
    CHECK(h.writes.back().step == want);
    CHECK(h.writes.back().before == before);
    CHECK(h.writes.back().after == after);
    CHECK(std::string(px::opcode_info(h.writes.back().opcode)->name) == "QMATMUL32");

    const ReverseStop s = reverse_to_pixel_change(d, x, y);
    CHECK(s.moved);
    REQUIRE(s.change_step);
    CHECK(*s.change_step == want);
    CHECK(d.cpu.steps == want - 1); // stopped before the step that made the change
    CHECK(px::rgba_hash(d.cpu.image) == px::rgba_hash(rerun(prog, want - 1).image));
    REQUIRE(s.pixel);
    CHECK(s.before == before);
    CHECK(s.after == after);
    CHECK(s.note.find("QMATMUL32") != std::string::npos);
    // Stepping once redoes exactly that change.
    step_once(d);
    CHECK(d.cpu.image.pixel(x, y) == after);
    // Nothing before: searching again from the start of that step finds the earlier change (or none).
    step_back(d);
    const ReverseStop again = reverse_to_pixel_change(d, x, y);
    if (h.writes.size() > 1 && h.writes.front().changed())
        CHECK(again.moved);
    else
        CHECK(!again.moved);

    // The matrix as a whole: its last change is the same QMATMUL32 step.
    Debugger m;
    load_image(m, prog, "");
    run_to_end(m);
    const ReverseStop ms = reverse_to_matrix_change(m, row);
    REQUIRE(ms.change_step);
    CHECK(*ms.change_step == want);
    CHECK(ms.note.find("matrix logits") != std::string::npos);
    // A matrix no step writes (the input weights) is never changed.
    for (const px::Region& r : m.regions)
        if (r.name == "W_out") {
            const uint64_t steps = m.cpu.steps;
            CHECK(!reverse_to_matrix_change(m, r.row).moved);
            CHECK(m.cpu.steps == steps);
        }
}

TEST_CASE("comparing now with an earlier step: the rebuilt image is the re-run's") {
    const px::Image prog = pixellm();
    Debugger d;
    load_image(d, prog, "");
    run_to_end(d);
    for (uint64_t k = 0; k <= d.cpu.steps; ++k) {
        auto img = compare_image(d, CompareWith::Step, k);
        REQUIRE(img.ok());
        CHECK(img->rgba == rerun(prog, k).image.rgba);
    }
    CHECK(compare_metrics(d, d.cpu.image).count == 0);
    const px::ImageDiff diff = compare_metrics(d, compare_image(d, CompareWith::Step, 0).value());
    CHECK(diff.count == px::diff_images(d.cpu.image, prog).count);
    CHECK(!compare_image(d, CompareWith::Step, d.cpu.steps + 1).ok());
    CHECK(compare_image(d, CompareWith::Gpu).error().message.find("GPU executor is off") !=
          std::string::npos);
    // A bounded history cannot rebuild dropped steps, and says which it has.
    d.history.pop_front();
    const auto old = compare_image(d, CompareWith::Step, 0);
    REQUIRE(!old.ok());
    CHECK(old.error().message == "step 0 is older than the history kept (oldest: step 1)");
}

TEST_CASE("go to: pixels, rows, matrices and elements") {
    Debugger d;
    load_image(d, pixellm(), "");
    const uint32_t W = d.cpu.image.width;
    auto t = resolve_goto(d, "3, 5");
    REQUIRE(t.ok());
    CHECK(t->rect == px::Rect{3, 5, 1, 1});
    CHECK(resolve_goto(d, "3 5")->rect == px::Rect{3, 5, 1, 1});
    CHECK(resolve_goto(d, "row 2")->rect == px::Rect{0, 2, W, 1});
    const px::Region* logits = nullptr;
    for (const px::Region& r : d.regions)
        if (r.name == "logits") logits = &r;
    REQUIRE(logits);
    auto e = resolve_goto(d, "LOGITS[0, 42]");
    REQUIRE(e.ok());
    CHECK(e->rect == px::Rect{px::element_x(42, W), uint32_t(px::element_y(42, logits->row, W)), 1, 1});
    CHECK(e->label.find("logits [0, 42]") == 0);
    auto whole = resolve_goto(d, "logits");
    REQUIRE(whole.ok());
    CHECK(whole->rect.y == logits->row);
    CHECK(whole->rect.x == 0);
    // Every element of the matrix lies inside the rectangle.
    const px::MatrixHeader h = px::decode_header(d.cpu.image.pixel(0, logits->row));
    const uint64_t last = h.elements() - 1;
    CHECK(whole->rect.contains(px::element_x(last, W), uint32_t(px::element_y(last, logits->row, W))));
    CHECK(resolve_goto(d, "nosuch").error().message.find("no matrix named 'nosuch' (matrices: ") == 0);
    CHECK(resolve_goto(d, "99999, 1").error().message.find("is outside the") != std::string::npos);
    CHECK(resolve_goto(d, "logits[5, 0]").error().message.find("outside its") != std::string::npos);
    CHECK(!resolve_goto(d, "").ok());
    CHECK(!resolve_goto(d, "row 99999").ok());
}

TEST_CASE("the optimized and the reference CPU executor step the debugger to the same bytes") {
    Debugger fast, ref;
    load_image(fast, pixellm(), "");
    load_image(ref, pixellm(), "");
    CHECK(fast.cpu_executor == CpuExecutor::Optimized); // the default: a model's next token is interactive
    set_cpu_executor(ref, CpuExecutor::Reference);
    while (fast.cpu.status == px::VmStatus::Ready) {
        step_once(fast);
        step_once(ref);
        REQUIRE(fast.cpu.registers() == ref.cpu.registers());
        REQUIRE(fast.cpu.image.rgba == ref.cpu.image.rgba);
        REQUIRE(fast.last_written == ref.last_written);
    }
    CHECK(fast.cpu.image.rgba == rerun(pixellm(), fast.cpu.steps).image.rgba);
    // Step back over the optimized steps: the program as loaded.
    step_back_n(fast, fast.cpu.steps);
    CHECK(fast.cpu.image.rgba == pixellm().rgba);
}

TEST_CASE("regions inferred from headers follow the header writes; symbols' regions need no re-reading") {
    for (const char* file : {"assets/matmul.pxi", "assets/pixellm.pxi"}) {
        CAPTURE(file);
        auto loaded = px::load_png(source_path(file));
        REQUIRE(loaded.ok());
        Debugger d;
        load_image(d, loaded->image, "");
        while (d.cpu.status == px::VmStatus::Ready) {
            step_once(d);
            // The regions are always what program_regions reads from the image now.
            const std::vector<px::Region> now = px::program_regions(d.cpu.image);
            REQUIRE(d.regions.size() == now.size());
            for (size_t i = 0; i < now.size(); ++i) {
                REQUIRE(d.regions[i].name == now[i].name);
                REQUIRE(d.regions[i].shape == now[i].shape);
            }
        }
    }
}
