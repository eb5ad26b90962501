// Randomized float parity: programs of the float opcodes (random_float_program.h) run on the CPU
// reference and on the GL executor in lockstep (registers, trap, written rectangles and the whole
// image after every step), with both matmul kernels. PXOS_SEED=<n> reruns from another seed.
// The fast CPU executor's side of the same programs is in cpu_fast_test.cpp (1000 per run); here
// 400 per kernel keep the test in seconds on llvmpipe, and PXOS_FLOAT_PROGRAMS=<n> runs n per
// kernel (scripts/gpu-check.sh: 1000 each on a real GPU).
#include "gl_test_util.h"
#include "random_float_program.h"

#include <cstdlib>

using namespace px;
using namespace pxtest;

namespace {
uint32_t base_seed() {
    const char* s = std::getenv("PXOS_SEED");
    return s ? uint32_t(std::strtoul(s, nullptr, 10)) : 20261202u;
}

int program_count() {
    const char* s = std::getenv("PXOS_FLOAT_PROGRAMS");
    const long n = s ? std::strtol(s, nullptr, 10) : 0;
    return n > 0 ? int(n) : 400;
}

void run_float_programs(gl::MatmulKernel kernel, int count) {
    gl_context();
    gl::ExecutorDesc desc;
    desc.matmul = kernel;
    auto ex = gl::create_executor(make_image(1, 1), desc);
    REQUIRE(ex.ok());
    std::mt19937 rng{base_seed()};
    int steps = 0, trapped = 0, halted = 0;
    for (int i = 0; i < count; ++i) {
        const FloatProgram p = random_float_program(rng);
        const int n = lockstep(*ex, p.image, "float program #" + std::to_string(i) + " (" + p.what + ")");
        REQUIRE(n >= 0);
        steps += n;
        trapped += gl::gl_status(*ex) == VmStatus::Trapped;
        halted += gl::gl_status(*ex) == VmStatus::Halted;
    }
    MESSAGE(count << " float programs, " << steps << " steps, " << trapped << " trapped, " << halted
                  << " halted");
    CHECK(trapped > count / 20); // both outcomes exercised
    CHECK(halted > count / 2);
}
} // namespace

TEST_CASE("random float programs: CPU and GL agree after every step (tiled kernel)") {
    run_float_programs(gl::MatmulKernel::Tiled, program_count());
}

TEST_CASE("random float programs: CPU and GL agree after every step (simple kernel)") {
    run_float_programs(gl::MatmulKernel::Simple, program_count());
}
