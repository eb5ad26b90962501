// Tests of engine/history: pixel history, last change and earlier images, all checked against a
// brute-force re-run of the program from the start that keeps every image.
#include "history.h"
#include "png_io.h"
#include "random_program.h"
#include "test_util.h"
#include "vm.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>

using namespace px;
using namespace pxtest;

namespace {

// The program run to the end, keeping the history a debugger keeps and, independently, every
// image and every step's written rectangles and opcode.
struct Run {
    History history;
    std::vector<Image> images; // images[k]: after k steps
    std::vector<StepResult> results;
    Image current;
};

Run run_all(const Image& program, uint64_t max_steps = 100000) {
    Run r;
    VmState vm = make_vm(program);
    r.images.push_back(vm.image);
    while (vm.status == VmStatus::Ready && r.results.size() < max_steps) {
        UndoRecord u;
        StepResult s = step(vm, &u);
        if (vm.status == VmStatus::Trapped) break; // a trap writes nothing and is no step
        r.history.push_back(std::move(u));
        r.results.push_back(s);
        r.images.push_back(vm.image);
    }
    r.current = vm.image;
    return r;
}

bool written_by(const StepResult& s, uint32_t x, uint32_t y) {
    for (const Rect& w : s.written)
        if (w.contains(x, y)) return true;
    return false;
}

// The brute-force pixel history: every step whose written rectangles hold (x, y).
std::vector<PixelWrite> brute_history(const Run& r, uint32_t x, uint32_t y) {
    std::vector<PixelWrite> out;
    for (size_t k = 0; k < r.results.size(); ++k) {
        if (!written_by(r.results[k], x, y)) continue;
        PixelWrite w;
        w.index = k;
        w.step = k + 1;
        w.pc = r.results[k].executed_pc;
        w.opcode = r.results[k].opcode;
        w.before = r.images[k].pixel(x, y);
        w.after = r.images[k + 1].pixel(x, y);
        out.push_back(w);
    }
    return out;
}

void check_history(const Run& r, uint32_t x, uint32_t y) {
    const PixelHistory h = pixel_history(r.history, r.current, x, y);
    const std::vector<PixelWrite> want = brute_history(r, x, y);
    INFO("pixel (" << x << ", " << y << ")");
    REQUIRE(h.writes.size() == want.size());
    CHECK(h.complete);
    for (size_t i = 0; i < want.size(); ++i) {
        CHECK(h.writes[i].index == want[i].index);
        CHECK(h.writes[i].step == want[i].step);
        CHECK(h.writes[i].pc == want[i].pc);
        CHECK(h.writes[i].opcode == want[i].opcode);
        CHECK(h.writes[i].before == want[i].before);
        CHECK(h.writes[i].after == want[i].after);
    }
}

} // namespace

TEST_CASE("pixel history of every pixel of random programs matches a re-run") {
    std::mt19937 rng(1234);
    int programs_with_writes = 0;
    for (int n = 0; n < 150; ++n) {
        const Image program = random_program(rng);
        const Run r = run_all(program);
        if (!r.history.empty()) programs_with_writes++;
        for (uint32_t y = 0; y < r.current.height; ++y)
            for (uint32_t x = 0; x < r.current.width; ++x)
                check_history(r, x, y);
        // The image before any kept step, and pixel_before, against the re-run.
        for (size_t k = 0; k <= r.history.size(); ++k) {
            CHECK(image_before(r.history, r.current, k).rgba == r.images[k].rgba);
            if (k < r.history.size()) CHECK(opcode_of(r.history, r.current, k) == r.results[k].opcode);
        }
    }
    CHECK(programs_with_writes > 30); // the property is not vacuous
}

TEST_CASE("pixel history of a logit of the Pixel-LLM: the QMATMUL32 step writes the int32") {
    auto loaded = load_png(source_path("assets/pixellm.pxi"));
    REQUIRE(loaded.ok());
    const Run r = run_all(loaded->image);
    REQUIRE(r.history.size() >= 3);
    // The last step that writes anything (QMATMUL32, before HALT) writes the logits; check a
    // spread of the pixels every step wrote.
    const auto last_it = std::find_if(r.results.rbegin(), r.results.rend(),
                                      [](const StepResult& s) { return !s.written.empty(); });
    REQUIRE(last_it != r.results.rend());
    const StepResult& last = *last_it;
    uint64_t checked = 0;
    for (size_t k = 0; k < r.results.size(); ++k)
        for (const Rect& w : r.results[k].written)
            for (uint32_t y = w.y; y < w.y + w.h; y += std::max<uint32_t>(1, w.h / 3))
                for (uint32_t x = w.x; x < w.x + w.w; x += std::max<uint32_t>(1, w.w / 7)) {
                    check_history(r, x, y);
                    ++checked;
                }
    CHECK(checked > 10);
    REQUIRE(!last.written.empty());
    const Rect& w = last.written.back();
    const PixelHistory h = pixel_history(r.history, r.current, w.x, w.y);
    REQUIRE(!h.writes.empty());
    CHECK(h.writes.back().opcode == last.opcode);
}

TEST_CASE("last_change finds the newest step that changed a pixel, not one that rewrote it") {
    // MATMUL 1,2 -> 3 twice: the second rewrites the same bytes; then ADD 3,3 -> 3 changes them.
    Image img = make_image(6, 6);
    put_matrix(img, 1, 1, 2, {1, 2});
    put_matrix(img, 2, 2, 1, {3, 4});
    put_ins(img, 0, Opcode::MATMUL, 1, 2, 3);
    put_ins(img, 1, Opcode::MATMUL, 1, 2, 3);
    put_ins(img, 2, Opcode::ADD, 3, 3, 3);
    put_ins(img, 3, Opcode::HALT);
    const Run r = run_all(img);
    REQUIRE(r.history.size() == 4); // three instructions and HALT
    const std::vector<Rect> element{{1, 3, 1, 1}};
    CHECK(last_change(r.history, r.current, element, r.history.size()) == std::optional<size_t>(2));
    // Before the ADD: the second MATMUL wrote the same value, so the first one is the change.
    CHECK(last_change(r.history, r.current, element, 2) == std::optional<size_t>(0));
    CHECK(last_change(r.history, r.current, element, 0) == std::nullopt);
    // The header pixel (0, 3) only changes in the first step.
    CHECK(last_change(r.history, r.current, {{0, 3, 1, 1}}, 4) == std::optional<size_t>(0));
    // Nothing writes row 1.
    CHECK(last_change(r.history, r.current, {{0, 1, 6, 1}}, 4) == std::nullopt);
    // The history lists the rewrite too, marked unchanged.
    const PixelHistory h = pixel_history(r.history, r.current, 1, 3);
    REQUIRE(h.writes.size() == 3);
    CHECK(h.writes[0].changed());
    CHECK(!h.writes[1].changed());
    CHECK(h.writes[2].changed());
    CHECK(h.writes[2].after[0] == 2 * h.writes[2].before[0]);
}

TEST_CASE("a history whose oldest records were dropped says so") {
    Image img = make_image(6, 6);
    put_matrix(img, 1, 1, 2, {1, 2});
    put_matrix(img, 2, 2, 1, {3, 4});
    put_ins(img, 0, Opcode::MATMUL, 1, 2, 3);
    put_ins(img, 1, Opcode::ADD, 3, 3, 3);
    put_ins(img, 2, Opcode::HALT);
    Run r = run_all(img);
    r.history.pop_front();
    const PixelHistory h = pixel_history(r.history, r.current, 1, 3);
    CHECK(!h.complete);
    CHECK(h.first_step == 2);
    REQUIRE(h.writes.size() == 1);
    CHECK(h.writes[0].step == 2);
    CHECK(h.writes[0].before[0] == 11); // 1*3 + 2*4
    CHECK(h.writes[0].after[0] == 22);
}
