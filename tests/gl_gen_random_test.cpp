// Randomized parity of the text-generation opcodes (PROTOCOL.md §13): generation loops from
// random_gen_program.h run on the CPU reference and on the GL executor in lockstep (registers,
// trap, written rectangles and the whole image after every step), with both matmul kernels.
// PXOS_SEED=<n> reruns from another seed. The fast CPU executor's side is in gen_ops_test.cpp.
#include "gl_test_util.h"
#include "random_gen_program.h"

#include <cstdlib>

using namespace px;
using namespace pxtest;

namespace {
uint32_t base_seed() {
    const char* s = std::getenv("PXOS_SEED");
    return s ? uint32_t(std::strtoul(s, nullptr, 10)) : 20261202u;
}

void run_gen_programs(gl::MatmulKernel kernel, int count) {
    gl_context();
    gl::ExecutorDesc desc;
    desc.matmul = kernel;
    auto ex = gl::create_executor(make_image(1, 1), desc);
    REQUIRE(ex.ok());
    std::mt19937 rng{base_seed()};
    int steps = 0, trapped = 0, halted = 0, looped = 0;
    for (int i = 0; i < count; ++i) {
        const GenProgram p = random_gen_program(rng);
        gl::gl_set_step_limit(*ex, p.step_limit);
        const int n = lockstep(*ex, p.image, "generation program #" + std::to_string(i) + " (" + p.what + ")",
                               p.step_limit);
        REQUIRE(n >= 0);
        steps += n;
        looped += n > 8;
        trapped += gl::gl_status(*ex) == VmStatus::Trapped;
        halted += gl::gl_status(*ex) == VmStatus::Halted;
    }
    MESSAGE(count << " generation programs, " << steps << " steps, " << trapped << " trapped, " << halted
                  << " halted, " << looped << " looped");
    CHECK(trapped > count / 20); // both outcomes exercised
    CHECK(halted > count / 3);
    CHECK(looped > count / 3);
}
} // namespace

TEST_CASE("random generation loops: CPU and GL agree after every step (tiled kernel)") {
    run_gen_programs(gl::MatmulKernel::Tiled, 60);
}

TEST_CASE("random generation loops: CPU and GL agree after every step (simple kernel)") {
    run_gen_programs(gl::MatmulKernel::Simple, 30);
}
