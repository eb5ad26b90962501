// Property tests on seeded random programs (tests/random_program.h): for each, validate() and the
// interpreter run without crashing, every changed pixel lies inside the rectangles step() reports,
// a trap changes nothing, undo_step() restores every step exactly, run() agrees with step(), and
// a program validate() accepts never traps.
#include "random_program.h"
#include "test_util.h"
#include "validate.h"
#include "vm.h"

#include <doctest/doctest.h>

using namespace px;
using namespace pxtest;

TEST_CASE("3000 random programs: written rects, traps, undo, run and the validator's guarantee") {
    std::mt19937 rng(0x9E3779B9u);
    int accepted = 0, trapped = 0, wide_programs = 0, total_steps = 0;
    for (int n = 0; n < 3000; ++n) {
        const Image program = pxtest::random_program(rng);
        INFO("program " << n << " (" << program.width << "x" << program.height << ")");
        for (uint32_t x = 0; x < program.width; ++x)
            wide_programs += program.at(x, 0)[0] == kWidePrefix;
        const ValidationReport report = validate(program);

        VmState vm = make_vm(program);
        std::vector<UndoRecord> history;
        while (vm.status == VmStatus::Ready) {
            const Image before = vm.image;
            const uint32_t pc = vm.pc;
            UndoRecord undo;
            const StepResult r = step(vm, &undo);
            CHECK(r.executed_pc == pc);
            uint32_t bx = 0, by = 0;
            if (changed_outside(before, vm.image, r.written, bx, by))
                FAIL("pixel (" << bx << "," << by << ") changed outside the written rects at pc " << pc);
            if (vm.status == VmStatus::Trapped) CHECK(vm.image.rgba == before.rgba);
            // Undo this step and redo it: the same image back, then the same result again.
            VmState copy = vm;
            undo_step(copy, undo);
            CHECK(copy.image.rgba == before.rgba);
            CHECK(copy.pc == pc);
            CHECK(copy.status == VmStatus::Ready);
            history.push_back(std::move(undo));
        }
        total_steps += int(vm.steps);
        if (vm.status == VmStatus::Trapped) ++trapped;
        if (report.ok()) {
            ++accepted;
            CHECK_MESSAGE(vm.status == VmStatus::Halted,
                          "accepted program trapped: " << describe_trap(vm.trap));
        }
        // run() gives what stepping gave.
        VmState ran = make_vm(program);
        run(ran);
        CHECK(ran.image.rgba == vm.image.rgba);
        CHECK(ran.status == vm.status);
        CHECK(ran.steps == vm.steps);
        CHECK(ran.pc == vm.pc);
        CHECK(ran.trap.code == vm.trap.code);
        // Undoing the whole history in reverse gives the program back.
        for (auto it = history.rbegin(); it != history.rend(); ++it)
            undo_step(vm, *it);
        CHECK(vm.image.rgba == program.rgba);
        CHECK(vm.pc == 0);
        CHECK(vm.steps == 0);
        CHECK(vm.status == VmStatus::Ready);
    }
    MESSAGE("accepted " << accepted << ", trapped " << trapped << ", WIDE prefixes " << wide_programs
                        << ", steps " << total_steps);
    // The generator must keep exercising both sides.
    CHECK(accepted > 300);
    CHECK(trapped > 300);
    CHECK(wide_programs > 100);
}
