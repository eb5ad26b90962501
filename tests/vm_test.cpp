// Tests of the CPU reference interpreter: each opcode, every trap, overlap, undo, run hooks.
#include "test_util.h"
#include "vm.h"

#include <doctest/doctest.h>

using namespace px;
using namespace pxtest;

TEST_CASE("MATMUL multiplies, clamps at 255 and writes the header") {
    Image img = make_image(8, 8);
    put_matrix(img, 1, 1, 2, {1, 2});
    put_matrix(img, 2, 2, 2, {3, 4, 5, 200});
    put_ins(img, 0, Opcode::MATMUL, 1, 2, 3);
    put_ins(img, 1, Opcode::HALT);
    VmState vm = make_vm(img);
    StepResult r = step(vm);
    CHECK(r.status == VmStatus::Ready);
    CHECK(vm.pc == 1);
    CHECK(decode_header(vm.image.pixel(0, 3)) == MatrixHeader{2, 1});
    CHECK(vm.image.at(1, 3)[0] == 13);  // 1*3 + 2*5
    CHECK(vm.image.at(2, 3)[0] == 255); // 1*4 + 2*200 = 404 clamps
    step(vm);
    CHECK(vm.status == VmStatus::Halted);
    CHECK(vm.steps == 2);
}

TEST_CASE("a trapping instruction leaves the image untouched") {
    Image img = make_image(8, 4);
    put_matrix(img, 1, 1, 2, {1, 2});
    put_ins(img, 0, Opcode::MATMUL, 1, 1, 2); // 1x2 @ 1x2: inner dims differ
    VmState vm = make_vm(img);
    step(vm);
    CHECK(vm.status == VmStatus::Trapped);
    CHECK(vm.trap.code == TrapCode::SHAPE_MISMATCH);
    CHECK(vm.image.rgba == img.rgba);
}

TEST_CASE("an image of width 1 holds no matrix: MATRIX_OVERFLOW, not a division by zero") {
    Image img = make_image(1, 3);
    put_ins(img, 0, Opcode::RELU, 1);
    img.set_pixel(0, 1, encode_header({1, 1}));
    VmState vm = make_vm(img);
    step(vm);
    CHECK(vm.status == VmStatus::Trapped);
    CHECK(vm.trap.code == TrapCode::MATRIX_OVERFLOW);
    CHECK(vm.trap.x == 0);
    CHECK(vm.trap.y == 1);
    CHECK(vm.trap.message.find("width 1") != std::string::npos);
    CHECK(vm.image.rgba == img.rgba);
}

TEST_CASE("step_registers drives any executor's registers exactly like step()") {
    // A program that adds, then traps (SHAPE_MISMATCH): a second image stepped through the
    // driver with the reference as its carry-out must end with the same registers and pixels.
    Image img = make_image(8, 8);
    put_matrix(img, 1, 1, 2, {1, 2});
    put_matrix(img, 2, 1, 2, {3, 250});
    put_ins(img, 0, Opcode::ADD, 1, 2, 3);
    put_ins(img, 1, Opcode::MATMUL, 1, 2, 4); // 1x2 @ 1x2
    VmState vm = make_vm(img);
    VmRegisters regs;
    Image other = img;
    uint64_t carried = 0;
    for (int i = 0; i < 4; ++i) {
        const StepResult a = step(vm);
        const StepResult b =
            step_registers(regs, other.width, other.height, image_fetch(other), [&](const Plan& plan) {
                ++carried;
                execute_reference(other, plan);
            });
        CHECK(a.status == b.status);
        CHECK(a.executed_pc == b.executed_pc);
        CHECK(a.written == b.written);
        CHECK(vm.registers() == regs);
    }
    CHECK(carried == 1); // the trapping instruction is never handed to an executor
    CHECK(vm.status == VmStatus::Trapped);
    CHECK(regs.trap.code == TrapCode::SHAPE_MISMATCH);
    CHECK(other.rgba == vm.image.rgba);
    CHECK(other.at(2, 3)[0] == 252);
    // == compares every register, the trap's message included.
    VmRegisters changed = regs;
    changed.trap.message += ".";
    CHECK_FALSE(changed == regs);
    changed = regs;
    changed.step_limit = 1;
    CHECK_FALSE(changed == regs);
    CHECK(registers_text(regs).find("SHAPE_MISMATCH") != std::string::npos);
}
