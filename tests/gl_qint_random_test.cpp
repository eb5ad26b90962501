// Randomized parity of the integer transformer opcodes (PROTOCOL.md §16): u8 attention blocks from
// random_qint_program.h on the CPU reference and on the GL executor in lockstep (registers, trap,
// written rectangles and the whole image after every step), with both matmul kernels; and the
// error a context without 64-bit shader integers reports. PXOS_SEED=<n> reruns from another seed.
#include "gl_test_util.h"
#include "random_qint_program.h"

#include <cstdlib>

using namespace px;
using namespace pxtest;

namespace {
void run_qint_programs(gl::MatmulKernel kernel, int count) {
    gl::Executor ex = test_executor(kernel);
    std::mt19937 rng{uint32_t(seed_from_env(20261202))};
    int trapped = 0, halted = 0;
    for (int i = 0; i < count; ++i) {
        const QintProgram p = random_qint_program(rng);
        const int n = lockstep(ex, p.image, "u8 block #" + std::to_string(i) + " (" + p.what + ")");
        REQUIRE(n >= 0);
        trapped += gl::gl_status(ex) == VmStatus::Trapped;
        halted += gl::gl_status(ex) == VmStatus::Halted;
        const auto errors = gl::gl_take_errors(ex);
        REQUIRE_MESSAGE(errors.empty(), (errors.empty() ? "" : errors[0]));
    }
    MESSAGE(count << " u8 attention blocks: " << trapped << " trapped, " << halted << " halted");
    CHECK(halted > count / 2);
}
} // namespace

TEST_CASE("random u8 attention blocks: CPU and GL agree after every step (tiled kernel)") {
    run_qint_programs(gl::MatmulKernel::Tiled, 80);
}

TEST_CASE("random u8 attention blocks: CPU and GL agree after every step (simple kernel)") {
    run_qint_programs(gl::MatmulKernel::Simple, 30);
}

TEST_CASE("without 64-bit shader integers, QLAYERNORM says what it needs instead of computing") {
    gl_context();
    gl::ExecutorDesc desc;
    desc.without_int64 = true;
    std::mt19937 rng{7};
    QintProgram p = random_qint_program(rng);
    auto ex = gl::create_executor(p.image, desc);
    REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? "" : ex.error().message));
    gl::gl_step(*ex); // the first instruction is QLAYERNORM (seed 7: its plan does not trap)
    REQUIRE(gl::gl_status(*ex) != VmStatus::Trapped);
    const auto errors = gl::gl_take_errors(*ex);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("QLAYERNORM needs 64-bit integers in shaders (GL_ARB_gpu_shader_int64)") !=
          std::string::npos);
}
