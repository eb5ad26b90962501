// Tests of pxdbg's debugger model (app/pxdbg/debugger.h) without a window or GPU: reverse
// execution, pixel history, comparison with an earlier step and "go to", each checked against a
// brute-force re-run of the program from the start.
#include "debugger.h"
#include "gpt_tiny.h"
#include "gpt_view.h"
#include "png_io.h"
#include "test_util.h"
#include "trace.h"

#include <doctest/doctest.h>

#include <algorithm>

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

TEST_CASE("go to an f16 matrix: two elements a pixel, the region as many pixels as it holds") {
    // Width 4 (three element pixels a row); row 2: a 2 x 5 f16 matrix, ten elements in five pixels
    // over rows 2 and 3 (read as uint8 it would reach row 5). The symbols declare its type.
    px::Image img = px::make_image(4, 8);
    // Pixel (0, 0) is 0: HALT.
    img.set_pixel(0, 2, px::encode_header({5, 2}));
    px::DebugInfo info;
    px::Region h;
    h.name = "h";
    h.row = 2;
    h.shape = {5, 2};
    h.dtype = px::DType::F16;
    info.regions.push_back(h);
    px::write_debug_info(img, info);
    Debugger d;
    load_image(d, img, "");
    auto whole = resolve_goto(d, "h");
    REQUIRE(whole.ok());
    CHECK(whole->rect == px::Rect{0, 2, 4, 2});
    // h[1, 2] is element 7: pixel 3 (B, A), the first element pixel of row 3.
    auto e = resolve_goto(d, "h[1, 2]");
    REQUIRE(e.ok());
    CHECK(e->rect == px::Rect{1, 3, 1, 1});
    CHECK(resolve_goto(d, "h[0, 1]")->rect == px::Rect{1, 2, 1, 1}); // element 1: pixel 0 (B, A)
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

// ---- Watches (break when a region is written) and GPT layer breakpoints ----

namespace {

bool overlap(const px::Rect& a, const px::Rect& b) {
    return a.w && a.h && b.w && b.h && a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h &&
           b.y < a.y + a.h;
}

// A region's pixels computed here from PROTOCOL.md §3's layout: the header pixel, then
// rows*cols elements from (1, row) on, skipping column 0 of continuation rows.
std::vector<px::Rect> pixels_of(const px::Region& r, uint32_t width) {
    std::vector<px::Rect> out{{0, r.row, 1, 1}};
    for (uint64_t i = 0; i < r.shape.elements(); ++i)
        out.push_back({uint32_t(1 + i % (width - 1)), uint32_t(r.row + i / (width - 1)), 1, 1});
    return out;
}

// Steps (1-based) of a re-run from the start whose written rectangles touch `pixels`, in order.
std::vector<uint64_t> writing_steps(const px::Image& program, const std::vector<px::Rect>& pixels) {
    px::VmState vm = px::make_vm(program);
    std::vector<uint64_t> steps;
    while (vm.status == px::VmStatus::Ready) {
        const px::StepResult r = px::step(vm);
        bool hit = false;
        for (const px::Rect& w : r.written)
            for (const px::Rect& p : pixels)
                hit |= overlap(w, p);
        if (hit) steps.push_back(vm.steps);
    }
    return steps;
}

uint64_t run_steps(Debugger& d) {
    start_continue(d);
    uint64_t n = 0;
    while (d.running)
        n += continue_for(d, 1e9);
    return n;
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("a watch stops Continue right after the step that writes the region, not before") {
    const px::Image prog = pixellm();
    const uint64_t total = rerun(prog, UINT64_MAX).steps;
    // A region first written by a later step than the first (so stopping early would show).
    const std::vector<px::Region> regions = px::program_regions(prog);
    const px::Region* watched = nullptr;
    std::vector<uint64_t> writes;
    for (const px::Region& r : regions) {
        writes = writing_steps(prog, pixels_of(r, prog.width));
        if (!writes.empty() && writes.front() >= 2) {
            watched = &r;
            break;
        }
    }
    REQUIRE(watched);
    const uint64_t k = writes.front();
    Debugger d;
    load_image(d, prog, "");
    toggle_watch(d, watched->row);
    CHECK(d.watches.count(watched->row) == 1);
    run_steps(d);
    CHECK(d.stopped == StopReason::Watch);
    CHECK(!d.running);
    CHECK(d.cpu.steps == k);
    CHECK(d.cpu.image.rgba == rerun(prog, k).image.rgba);
    REQUIRE(d.watch_hit);
    CHECK(*d.watch_hit == watched->row);
    const uint32_t pc = rerun(prog, k - 1).pc; // the instruction step k ran
    CHECK(d.stop_note ==
          "step " + std::to_string(k) + " (pc " + std::to_string(pc) + ") wrote " + watched->name);
    CHECK(std::string(stop_reason_text(d.stopped)) == "watched region written");
    const uint64_t serial = d.stop_serial;
    // Continuing runs on to the next write, or to the end.
    run_steps(d);
    if (writes.size() > 1) {
        CHECK(d.stopped == StopReason::Watch);
        CHECK(d.cpu.steps == writes[1]);
        CHECK(d.stop_serial == serial + 1);
    } else {
        CHECK(d.stopped == StopReason::Halt);
        CHECK(d.cpu.steps == total);
        CHECK(d.stop_note.empty());
        CHECK(!d.watch_hit);
    }
    run_to_end(d);
    // Reverse-continue from the end stops just after the newest write (as the forward run did).
    const ReverseStop s = reverse_continue(d);
    CHECK(d.stopped == StopReason::ReverseWatch);
    CHECK(d.cpu.steps == writes.back());
    CHECK(d.cpu.image.rgba == rerun(prog, writes.back()).image.rgba);
    CHECK(has(s.note, "wrote " + watched->name));
    // Reset keeps the watch; clearing it lets Continue run to HALT.
    reset(d);
    CHECK(d.watches.count(watched->row) == 1);
    clear_watches(d);
    CHECK(d.watches.empty());
    run_steps(d);
    CHECK(d.stopped == StopReason::Halt);
    CHECK(d.cpu.steps == total);
    // Toggling twice is no watch; loading a program drops watches.
    toggle_watch(d, watched->row);
    toggle_watch(d, watched->row);
    CHECK(d.watches.empty());
    toggle_watch(d, watched->row);
    load_image(d, prog, "");
    CHECK(d.watches.empty());
}

TEST_CASE("a layer breakpoint stops before that layer's attention in the prefill and the decode pass") {
    const px::GptConfig c = px::test::tiny_config();
    px::GptBuildOptions o;
    o.prompt = {5, 17, 42};
    o.max_new_tokens = 2;
    auto built = px::build_gpt(c, px::test::tiny_weights(c), px::test::tiny_bpe(), o);
    REQUIRE(built);
    const px::Image prog = *built;
    auto g = px::find_gpt_regions(prog);
    REQUIRE(g);
    auto pcs = px::gpt_attention_pcs(prog, *g, 1);
    REQUIRE(pcs);
    REQUIRE(pcs->size() == 2);
    // The independent truth: a re-run's steps at which the pc first reaches each of them.
    std::vector<uint64_t> before;
    {
        px::VmState vm = px::make_vm(prog);
        while (vm.status == px::VmStatus::Ready) {
            if (std::find(pcs->begin(), pcs->end(), vm.pc) != pcs->end()) before.push_back(vm.steps);
            px::step(vm);
        }
    }
    REQUIRE(before.size() == 2); // prefill once, one decode pass (2 new tokens)
    Debugger d;
    load_image(d, prog, "");
    toggle_layer_breakpoint(d, 1, 1, *pcs);
    REQUIRE(d.layer_breakpoints.size() == 1);
    CHECK(d.layer_breakpoints[0].label() == "layer 1 head 1");
    REQUIRE(layer_breakpoint_at(d, (*pcs)[1]));
    CHECK(!layer_breakpoint_at(d, (*pcs)[0] + 1));
    for (size_t i = 0; i < 2; ++i) {
        run_steps(d);
        CHECK(d.stopped == StopReason::LayerBreakpoint);
        CHECK(d.cpu.pc == (*pcs)[i]);
        CHECK(d.cpu.steps == before[i]);
        REQUIRE(d.layer_hit);
        CHECK(d.layer_hit->layer == 1);
        CHECK(d.layer_hit->head == 1);
        CHECK(d.stop_note == "layer 1 head 1: pc " + std::to_string((*pcs)[i]) + " (its attention, step " +
                                 std::to_string(before[i] + 1) + " next)");
    }
    // Going back: reverse-continue stops at the prefill's (before step before[0] + 1).
    reverse_continue(d);
    CHECK(d.stopped == StopReason::ReverseBreakpoint);
    CHECK(d.cpu.steps == before[0]);
    CHECK(d.cpu.pc == (*pcs)[0]);
    REQUIRE(d.layer_hit);
    CHECK(d.layer_hit->layer == 1);
    // A watch on layer 1's key cache stops first: the APPEND into it runs before the attention.
    const std::vector<px::Region> regions = px::program_regions(prog);
    const px::Region* cache = nullptr;
    for (const px::Region& r : regions)
        if (r.row == g->k_cache[1]) cache = &r;
    REQUIRE(cache);
    const std::vector<uint64_t> writes = writing_steps(prog, pixels_of(*cache, prog.width));
    REQUIRE(writes.size() == 2);
    CHECK(writes[0] < before[0] + 1);
    reset(d);
    CHECK(d.layer_breakpoints.size() == 1); // kept by Reset
    toggle_watch(d, cache->row);
    run_steps(d);
    CHECK(d.stopped == StopReason::Watch);
    CHECK(d.cpu.steps == writes[0]);
    CHECK(has(d.stop_note, "wrote " + cache->name));
    run_steps(d);
    CHECK(d.stopped == StopReason::LayerBreakpoint);
    CHECK(d.cpu.steps == before[0]);
    // Another head of the same layer replaces it; the same layer and head again removes it.
    toggle_layer_breakpoint(d, 1, 0, *pcs);
    REQUIRE(d.layer_breakpoints.size() == 1);
    CHECK(d.layer_breakpoints[0].head == 0);
    toggle_layer_breakpoint(d, 1, 0, *pcs);
    CHECK(d.layer_breakpoints.empty());
    toggle_layer_breakpoint(d, 0, 0, {}); // no pcs: nothing to break on
    CHECK(d.layer_breakpoints.empty());
    toggle_layer_breakpoint(d, 1, 1, *pcs);
    clear_breakpoints(d);
    CHECK(d.layer_breakpoints.empty());
    clear_watches(d);
    run_steps(d);
    CHECK(d.stopped == StopReason::Halt);
}
