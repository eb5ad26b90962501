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
void run_gen_programs(gl::MatmulKernel kernel, int count) {
    gl::Executor ex = test_executor(kernel);
    std::mt19937 rng{uint32_t(seed_from_env(20261202))};
    int steps = 0, trapped = 0, halted = 0, looped = 0;
    for (int i = 0; i < count; ++i) {
        const GenProgram p = random_gen_program(rng);
        gl::gl_set_step_limit(ex, p.step_limit);
        const int n = lockstep(ex, p.image, "generation program #" + std::to_string(i) + " (" + p.what + ")",
                               p.step_limit);
        REQUIRE(n >= 0);
        steps += n;
        looped += n > 8;
        trapped += gl::gl_status(ex) == VmStatus::Trapped;
        halted += gl::gl_status(ex) == VmStatus::Halted;
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

TEST_CASE("SAMPLE over 3000 logits with many ties and top-k cutting through a tie: CPU and GL agree") {
    gl_context();
    auto ex = gl::create_executor(make_image(1, 1));
    REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? "" : ex.error().message));
    std::mt19937 g{99};
    const char* vs = std::getenv("PXOS_V");
    const uint32_t V = vs ? uint32_t(std::atoi(vs)) : 3000,
                   width = V > 10000 ? 256 : 64; // PXOS_V: a vocabulary size (up to 65535)
    for (uint32_t k : {0u, 1u, 2u, 17u, 1500u, 2999u, 3000u, 5000u}) {
        const uint32_t rows = (V + width - 2) / (width - 1);
        Image img = make_image(width, 1 + rows + 2);
        img.set_pixel(0, 1, encode_header({V, 1}));
        for (uint32_t i = 0; i < V; ++i) {
            const float v = float(int(g() % 7)) * 0.5f - 1.0f; // 7 distinct values: ties everywhere
            uint32_t w;
            std::memcpy(&w, &v, 4);
            if (g() % 50 == 0) w = (g() % 2) ? 0x7FC00000u : 0xFF800000u; // NaN, -inf
            img.set_pixel(element_x(i, width), uint32_t(element_y(i, 1, width)),
                          {uint8_t(w), uint8_t(w >> 8), uint8_t(w >> 16), uint8_t(w >> 24)});
        }
        const uint32_t state_row = 1 + rows, out_row = state_row + 1;
        img.set_pixel(0, state_row, encode_header({1, 1}));
        img.set_pixel(1, state_row, {uint8_t(k), 7, 9, 1});
        // Eight SAMPLEs in a row at T = 0.7 (state advancing), then HALT.
        const uint32_t t = 0x3F333333u; // 0.7f
        for (uint32_t s = 0; s < 8; ++s) {
            const uint32_t x = s * 4;
            img.set_pixel(x, 0, {uint8_t(Opcode::SAMPLE), 1, uint8_t(state_row), uint8_t(out_row)});
            img.set_pixel(x + 1, 0, {1, 3, 3, 0});
            img.set_pixel(x + 2, 0, {uint8_t(t), uint8_t(t >> 8), uint8_t(t >> 16), uint8_t(t >> 24)});
            img.set_pixel(x + 3, 0, {uint8_t(k), uint8_t(k >> 8), 0, 0});
        }
        INFO("k=" << k);
        CHECK(lockstep(*ex, img, "SAMPLE over 3000, k=" + std::to_string(k)) == 9);
        CHECK(gl::gl_status(*ex) == VmStatus::Halted);
    }
}
