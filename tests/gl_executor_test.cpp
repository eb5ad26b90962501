// Tests of the OpenGL executor (engine/gl): each opcode and trap against the CPU reference,
// overlapping outputs, G/B/A preservation, registers, reset, timing and GL state hygiene.
#include "gl_test_util.h"
#include "test_util.h"

#include <epoxy/gl.h>

#include <random>

using namespace px;
using namespace pxtest;

namespace {

gl::Executor make_ex(const Image& img, gl::MatmulKernel k = gl::MatmulKernel::Tiled, bool timing = false) {
    gl_context();
    gl::ExecutorDesc desc;
    desc.matmul = k;
    desc.gpu_timing = timing;
    auto r = gl::create_executor(img, desc);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    return std::move(r.value());
}

// Fills G, B, A of every pixel below row 0 with a pattern, so a write that forgets to keep them shows.
void paint_reserved(Image& img, uint32_t seed) {
    for (uint32_t y = 1; y < img.height; ++y)
        for (uint32_t x = 1; x < img.width; ++x) {
            uint8_t* p = img.at(x, y);
            p[1] = uint8_t(x * 7 + seed), p[2] = uint8_t(y * 13), p[3] = uint8_t(x ^ y);
        }
}

} // namespace

TEST_CASE("a headless context reports its renderer") {
    CHECK(!gl_context().renderer.empty());
    MESSAGE("renderer: " << gl_context().renderer);
}

TEST_CASE("MATMUL on the GPU matches the CPU, both kernels") {
    for (auto k : {gl::MatmulKernel::Simple, gl::MatmulKernel::Tiled}) {
        Image img = make_image(8, 8);
        put_matrix(img, 1, 1, 2, {1, 2});
        put_matrix(img, 2, 2, 2, {3, 4, 5, 200});
        put_ins(img, 0, Opcode::MATMUL, 1, 2, 3);
        put_ins(img, 1, Opcode::HALT);
        paint_reserved(img, 3);
        gl::Executor ex = make_ex(img, k);
        CHECK(lockstep(ex, img, "matmul") == 2);
        const Image out = gl_read_image(ex);
        CHECK(out.at(1, 3)[0] == 13);
        CHECK(out.at(2, 3)[0] == 255);
        CHECK(out.at(1, 3)[1] == img.at(1, 3)[1]); // G kept
    }
}

TEST_CASE("DOT, ADD with bias, RELU and in-place outputs match the CPU") {
    Image img = make_image(6, 40);
    std::vector<uint8_t> a(3 * 7), b(7), c(21);
    for (size_t i = 0; i < a.size(); ++i)
        a[i] = uint8_t(i * 37 + 11);
    for (size_t i = 0; i < b.size(); ++i)
        b[i] = uint8_t(200 - i * 9);
    for (size_t i = 0; i < c.size(); ++i)
        c[i] = uint8_t(255 - i);
    put_matrix(img, 1, 3, 7, a);  // rows 1..5 (stride 5)
    put_matrix(img, 7, 1, 7, b);  // rows 7..8
    put_matrix(img, 10, 7, 3, c); // 7x3
    paint_reserved(img, 1);
    put_ins(img, 0, Opcode::ADD, 1, 7, 1);     // bias in place
    put_ins(img, 1, Opcode::DOT, 1, 10, 20);   // 21 elements each
    put_ins(img, 2, Opcode::MATMUL, 1, 10, 2); // output overlaps a (shifted by one row)
    put_ins(img, 3, Opcode::RELU, 2);
    put_ins(img, 4, Opcode::HALT);
    for (auto k : {gl::MatmulKernel::Simple, gl::MatmulKernel::Tiled}) {
        gl::Executor ex = make_ex(img, k);
        CHECK(lockstep(ex, img, "mixed") == 5);
    }
}

TEST_CASE("every trap of the checks table traps identically and leaves the image untouched") {
    struct Case {
        const char* what;
        std::function<void(Image&)> build;
        TrapCode code;
    };
    const std::vector<Case> cases = {
        {"bad opcode",
         [](Image& i) {
             i.set_pixel(0, 0, {99, 1, 1, 1});
         },
         TrapCode::BAD_OPCODE},
        {"wide wide",
         [](Image& i) {
             i.set_pixel(0, 0, {15, 0, 0, 0}), i.set_pixel(1, 0, {15, 0, 0, 0});
         },
         TrapCode::BAD_OPCODE},
        {"wide last",
         [](Image& i) {
             i.set_pixel(i.width - 1, 0, {15, 0, 0, 0});
             for (uint32_t x = 0; x + 1 < i.width; ++x)
                 i.set_pixel(x, 0, {3, 1, 0, 0});
         },
         TrapCode::TRUNCATED},
        {"row 0", [](Image& i) { put_ins(i, 0, Opcode::ADD, 0, 1, 2); }, TrapCode::ROW_OUT_OF_IMAGE},
        {"row past", [](Image& i) { put_ins(i, 0, Opcode::MATMUL, 1, 2, 200); }, TrapCode::ROW_OUT_OF_IMAGE},
        {"bad header", [](Image& i) { put_ins(i, 0, Opcode::DOT, 1, 5, 2); }, TrapCode::BAD_HEADER},
        {"overflow in",
         [](Image& i) {
             i.set_pixel(0, 5, {200, 0, 200, 0});
             put_ins(i, 0, Opcode::RELU, 5);
         },
         TrapCode::MATRIX_OVERFLOW},
        {"shape", [](Image& i) { put_ins(i, 0, Opcode::MATMUL, 1, 1, 3); }, TrapCode::SHAPE_MISMATCH},
        {"overflow out", [](Image& i) { put_ins(i, 0, Opcode::MATMUL, 2, 1, 9); }, TrapCode::MATRIX_OVERFLOW},
    };
    for (const Case& c : cases) {
        Image img = make_image(8, 10);
        put_matrix(img, 1, 2, 3, {1, 2, 3, 4, 5, 6}); // 2x3
        put_matrix(img, 2, 3, 2, {1, 2, 3, 4, 5, 6}); // overlaps row 1's matrix? no: 1 row each at width 8
        c.build(img);
        gl::Executor ex = make_ex(img);
        CHECK(lockstep(ex, img, c.what) >= 0);
        CHECK(gl_status(ex) == VmStatus::Trapped);
        CHECK_MESSAGE(gl_trap(ex).code == c.code, c.what);
    }
}

TEST_CASE("the step limit traps like the CPU") {
    Image img = make_image(8, 4);
    for (uint32_t x = 0; x < 8; ++x)
        put_ins(img, x, Opcode::RELU, 1);
    put_matrix(img, 1, 1, 3, {1, 2, 3});
    gl::ExecutorDesc desc;
    desc.step_limit = 3;
    gl_context();
    auto ex = gl::create_executor(img, desc);
    REQUIRE(ex.ok());
    CHECK(lockstep(*ex, img, "step limit", 3) == 4);
    CHECK(gl_trap(*ex).code == TrapCode::STEP_LIMIT);
}

TEST_CASE("running off the end of row 0 halts; reset replaces the program and resizes") {
    Image img = make_image(3, 3);
    put_matrix(img, 1, 1, 2, {9, 8});
    for (uint32_t x = 0; x < 3; ++x)
        put_ins(img, x, Opcode::RELU, 1);
    gl::Executor ex = make_ex(img);
    CHECK(lockstep(ex, img, "off the end") == 3);
    CHECK(gl_status(ex) == VmStatus::Halted);
    Image big = make_image(40, 30);
    put_matrix(big, 1, 5, 5, std::vector<uint8_t>(25, 3));
    put_ins(big, 0, Opcode::MATMUL, 1, 1, 3);
    CHECK(lockstep(ex, big, "after resize") == 2);
    CHECK(gl_read_image(ex).at(1, 3)[0] == 45);
}

TEST_CASE("GPU timing reports a time per executed instruction") {
    Image img = make_image(64, 64);
    put_matrix(img, 1, 16, 16, std::vector<uint8_t>(256, 2));
    put_ins(img, 0, Opcode::MATMUL, 1, 1, 10);
    gl::Executor ex = make_ex(img, gl::MatmulKernel::Tiled, true);
    const gl::GlStepResult r = gl::gl_step(ex);
    CHECK(r.step.status == VmStatus::Ready);
    CHECK(r.gpu_ms >= 0);
    CHECK(gl::gl_take_errors(ex).empty());
}

TEST_CASE("the executor restores the GL state it changes") {
    Image img = make_image(16, 16);
    put_matrix(img, 1, 3, 3, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    put_ins(img, 0, Opcode::MATMUL, 1, 1, 2);
    put_ins(img, 1, Opcode::DOT, 1, 1, 8);
    put_ins(img, 2, Opcode::ADD, 1, 2, 9);
    gl::Executor ex = make_ex(img);
    GLuint buf = 0;
    glCreateBuffers(1, &buf);
    glNamedBufferStorage(buf, 64, nullptr, 0);
    glBindBufferRange(GL_SHADER_STORAGE_BUFFER, 1, buf, 16, 32);
    glBindBuffer(GL_PIXEL_PACK_BUFFER, buf);
    glPixelStorei(GL_PACK_ALIGNMENT, 8);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 3);
    for (int i = 0; i < 3; ++i)
        gl::gl_step(ex);
    GLint v = 0;
    GLint64 v64 = 0;
    glGetIntegeri_v(GL_SHADER_STORAGE_BUFFER_BINDING, 1, &v);
    CHECK(GLuint(v) == buf);
    glGetInteger64i_v(GL_SHADER_STORAGE_BUFFER_START, 1, &v64);
    CHECK(v64 == 16);
    glGetIntegerv(GL_PIXEL_PACK_BUFFER_BINDING, &v);
    CHECK(GLuint(v) == buf);
    glGetIntegerv(GL_PACK_ALIGNMENT, &v);
    CHECK(v == 8);
    glGetIntegerv(GL_UNPACK_ROW_LENGTH, &v);
    CHECK(v == 3);
    glGetIntegerv(GL_CURRENT_PROGRAM, &v);
    CHECK(v == 0);
    // And with that hostile state bound, a whole-image read is still exact.
    VmState vm = make_vm(img);
    for (int i = 0; i < 3; ++i)
        step(vm);
    CHECK(first_difference(vm.image, gl::gl_read_image(ex)) == "");
    glBindBuffer(GL_PIXEL_PACK_BUFFER, 0);
    glPixelStorei(GL_PACK_ALIGNMENT, 4);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 1, 0);
    glDeleteBuffers(1, &buf);
    CHECK(gl::gl_take_errors(ex).empty());
}

TEST_CASE("warming up every kernel writes nothing; the step limit can be set to anything") {
    Image img = make_image(9, 9);
    for (auto& b : img.rgba)
        b = uint8_t(&b - img.rgba.data());
    put_matrix(img, 1, 2, 2, {1, 2, 3, 4});
    put_ins(img, 0, Opcode::MATMUL, 1, 1, 4);
    gl_context();
    gl::ExecutorDesc desc;
    desc.warm_up = true;
    desc.gpu_timing = true;
    auto ex = gl::create_executor(img, desc);
    REQUIRE(ex.ok());
    CHECK(first_difference(img, gl::gl_read_image(*ex)) == "");
    CHECK(gl::gl_take_errors(*ex).empty());
    CHECK(lockstep(*ex, img, "after warm-up") >= 1);
    gl::gl_set_step_limit(*ex, 0);
    REQUIRE(gl::reset_executor(*ex, img).ok());
    gl::gl_set_step_limit(*ex, 0);
    gl::gl_step(*ex);
    CHECK(gl::gl_trap(*ex).code == TrapCode::STEP_LIMIT);
}

// A product larger than ExecutorDesc::max_dispatch_work is dispatched in bands of output rows (a
// desktop GPU's watchdog resets a context whose one submission runs too long). With a budget of 1
// multiply-add every work-group row is its own dispatch: the step must issue one dispatch per group
// row and still give the CPU's bytes, for MATMUL and FMATMUL, both kernels, with an odd M, K and N.
TEST_CASE(
    "a product over max_dispatch_work is split into bands of rows: the CPU's bytes, several dispatches") {
    const uint32_t W = 64, M = 70, K = 33, N = 45;
    const uint32_t ra = 1, rb = ra + uint32_t(rows_for_elements(uint64_t(M) * K, W));
    const uint32_t rc = rb + uint32_t(rows_for_elements(uint64_t(K) * N, W));
    const uint32_t H = rc + uint32_t(rows_for_elements(uint64_t(M) * N, W));
    std::mt19937 g(7);
    for (const bool is_float : {false, true}) {
        Image img = make_image(W, H);
        if (is_float) {
            std::vector<float> a(size_t(M) * K), b(size_t(K) * N);
            for (float& v : a)
                v = float(int(g() % 2001) - 1000) / 256.0f;
            for (float& v : b)
                v = float(int(g() % 2001) - 1000) / 512.0f;
            REQUIRE(write_float_matrix(img, ra, {K, M}, DType::F32, a).ok());
            REQUIRE(write_float_matrix(img, rb, {N, K}, DType::F32, b).ok());
            FMatmulParams p;
            p.dtype = {1, 1, 1, 0};
            const std::vector<Rgba> params = encode_params(p);
            img.set_pixel(0, 0, {uint8_t(Opcode::FMATMUL), uint8_t(ra), uint8_t(rb), uint8_t(rc)});
            for (size_t i = 0; i < params.size(); ++i)
                img.set_pixel(uint32_t(1 + i), 0, params[i]);
        } else {
            std::vector<uint8_t> a(size_t(M) * K), b(size_t(K) * N);
            for (uint8_t& v : a)
                v = uint8_t(g() % 4);
            for (uint8_t& v : b)
                v = uint8_t(g() % 4);
            REQUIRE(write_matrix(img, ra, {K, M}, a).ok());
            REQUIRE(write_matrix(img, rb, {N, K}, b).ok());
            put_ins(img, 0, Opcode::MATMUL, uint8_t(ra), uint8_t(rb), uint8_t(rc));
        }
        for (auto k : {gl::MatmulKernel::Simple, gl::MatmulKernel::Tiled}) {
            INFO((is_float ? "FMATMUL" : "MATMUL")
                 << ", kernel " << (k == gl::MatmulKernel::Tiled ? "tiled" : "simple"));
            gl_context();
            uint32_t dispatches[2] = {0, 0}; // the default budget, a budget of 1
            for (int split = 0; split < 2; ++split) {
                gl::ExecutorDesc desc;
                desc.matmul = k;
                desc.max_dispatch_work = split ? 1 : 0;
                auto r = gl::create_executor(img, desc);
                REQUIRE(r.ok());
                VmState vm = make_vm(img);
                step(vm);
                const gl::GlStepResult s = gl::gl_step(r.value());
                REQUIRE(s.step.status == VmStatus::Ready);
                CHECK(first_difference(vm.image, gl_read_image(r.value())) == "");
                dispatches[split] = s.dispatches;
            }
            // The product's group rows are 16 outputs high (simple kernels, FMATMUL tiled) or 32
            // (MATMUL tiled); the rest of the step's dispatches (gathering a and b) are the same.
            const uint32_t tile = !is_float && k == gl::MatmulKernel::Tiled ? 32 : 16;
            CHECK(dispatches[1] - dispatches[0] == (M + tile - 1) / tile - 1);
        }
    }
}
