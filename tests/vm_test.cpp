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
