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

int program_count() {
    const char* s = std::getenv("PXOS_FLOAT_PROGRAMS");
    const long n = s ? std::strtol(s, nullptr, 10) : 0;
    return n > 0 ? int(n) : 400;
}

void run_float_programs(gl::MatmulKernel kernel, int count) {
    gl::Executor ex = test_executor(kernel);
    std::mt19937 rng{uint32_t(seed_from_env(20261202))};
    int steps = 0, trapped = 0, halted = 0;
    for (int i = 0; i < count; ++i) {
        const FloatProgram p = random_float_program(rng);
        const int n = lockstep(ex, p.image, "float program #" + std::to_string(i) + " (" + p.what + ")");
        REQUIRE(n >= 0);
        steps += n;
        trapped += gl::gl_status(ex) == VmStatus::Trapped;
        halted += gl::gl_status(ex) == VmStatus::Halted;
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

// LAYERNORM rows of more than 256 blocks of 16 (N = 4500: 282 blocks), so the tiled kernel's lanes
// take two rounds of blocks and lane 0 adds them in two runs; rows of N(mean, 1) with a large mean
// (cancellation in x - mean), a 1-column row set (N = 1: var 0), and GELU / QUANT / FCONVERT over
// the same 27 000 elements (more than one dispatch row of work groups is not needed: 106 groups).
TEST_CASE("long rows: LAYERNORM with N = 4500 and the element-wise conversions agree on CPU and GL") {
    std::mt19937 rng{uint32_t(seed_from_env(20261202))};
    const uint32_t N = 4500, M = 6, width = 1025, stride = width - 1;
    auto rows_for = [&](uint64_t n) { return uint32_t((n + stride - 1) / stride); };
    const uint32_t row_x = 1, row_g = row_x + rows_for(uint64_t(M) * N), row_b = row_g + rows_for(N);
    const uint32_t row_y = row_b + rows_for(N), row_h = row_y + rows_for(uint64_t(M) * N);
    const uint32_t height = row_h + rows_for(uint64_t(M) * N);
    Image img = make_image(width, height);
    auto put = [&](uint32_t row, MatrixHeader h, auto value) {
        img.set_pixel(0, row, encode_header(h));
        for (uint64_t i = 0; i < h.elements(); ++i) {
            const float f = value(i);
            uint32_t b;
            std::memcpy(&b, &f, 4);
            img.set_pixel(element_x(i, width), uint32_t(element_y(i, row, width)), word_pixel(b));
        }
    };
    std::normal_distribution<float> nd(0, 1);
    put(row_x, {N, M}, [&](uint64_t i) { return nd(rng) + (i / N == 1 ? 3000.0f : float(i / N)); });
    put(row_g, {N, 1}, [&](uint64_t) { return 1.0f + 0.1f * nd(rng); });
    put(row_b, {N, 1}, [&](uint64_t) { return 0.1f * nd(rng); });
    uint32_t x = 0;
    auto emit = [&](Opcode op, uint32_t a, uint32_t b, uint32_t c, const std::vector<Rgba>& params) {
        img.set_pixel(x, 0, {uint8_t(op), uint8_t(a), uint8_t(b), uint8_t(c)});
        for (size_t k = 0; k < params.size(); ++k)
            img.set_pixel(x + 1 + uint32_t(k), 0, params[k]);
        x += 1 + uint32_t(params.size());
    };
    LayerNormParams ln;
    ln.bias_row = uint16_t(row_b);
    emit(Opcode::LAYERNORM, row_x, row_g, row_y, encode_params(ln));
    emit(Opcode::GELU, row_y, 0, row_h, encode_params(FUnaryParams{{1, 0, 1, 0}}));
    emit(Opcode::FCONVERT, row_h, 0, row_h, encode_params(FUnaryParams{{1, 0, 2, 0}}));
    emit(Opcode::FCONVERT, row_h, 0, row_x, encode_params(FUnaryParams{{2, 0, 1, 0}}));
    QConvertParams q;
    q.dtype = {1, 0, 0, 0};
    q.scale_bits = 0x42000000; // inv_scale 32
    q.zero_point = 100;
    emit(Opcode::QUANT, row_x, 0, row_y, encode_params(q));
    q.dtype = {0, 0, 1, 0};
    q.scale_bits = 0x3D000000; // scale 1/32
    emit(Opcode::DEQUANT, row_y, 0, row_h, encode_params(q));
    img.set_pixel(x, 0, {0, 0, 0, 0});
    for (auto kernel : {gl::MatmulKernel::Simple, gl::MatmulKernel::Tiled}) {
        gl::Executor ex = test_executor(kernel);
        CHECK(lockstep(ex, img,
                       kernel == gl::MatmulKernel::Simple ? "long rows, simple" : "long rows, tiled") == 7);
        CHECK(gl::gl_status(ex) == VmStatus::Halted);
    }
}
