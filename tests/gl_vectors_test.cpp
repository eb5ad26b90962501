// Every protocol test vector (tests/vectors/*.json) and every asset (assets/*.pxi) on the GL
// executor: vectors against their expected results, assets (and vectors) byte-identical to the
// CPU after every step, with both MATMUL kernels (under ASan: the tiled one, the small assets;
// test_util.h's kSanitized).
#include "gl_test_util.h"
#include "png_io.h"
#include "test_util.h"
#include "vectors.h"

#include <filesystem>

using namespace px;
using namespace pxtest;

namespace {

gl::Executor executor(gl::MatmulKernel k, uint64_t step_limit = 0) {
    gl_context();
    gl::ExecutorDesc desc;
    desc.matmul = k;
    desc.step_limit = step_limit;
    auto ex = gl::create_executor(make_image(1, 1), desc);
    REQUIRE(ex.ok());
    return std::move(ex.value());
}

} // namespace

TEST_CASE("every protocol test vector gives its expected result on the GL executor") {
    const auto files = vector_files();
    REQUIRE(files.size() >= 20);
    for (auto k : {gl::MatmulKernel::Simple, gl::MatmulKernel::Tiled}) {
        if (kSanitized && k == gl::MatmulKernel::Simple) continue; // test_util.h
        for (const std::string& path : files) {
            auto v = load_vector(path);
            REQUIRE_MESSAGE(v.ok(), (v.ok() ? "" : v.error().message));
            gl::Executor ex = executor(k, v->step_limit);
            REQUIRE(lockstep(ex, v->image, v->name, v->step_limit) >= 0);
            const Trap& t = gl::gl_trap(ex);
            const std::string diff =
                check_vector(*v, gl::gl_read_image(ex), std::string(status_name(gl::gl_status(ex))),
                             gl::gl_steps(ex), gl::gl_pc(ex), std::string(trap_name(t.code)), t.x, t.y);
            CHECK_MESSAGE(diff.empty(), v->name << ":\n" << diff);
        }
    }
}

TEST_CASE("every asset runs byte-identically on the CPU and the GL executor") {
    std::vector<std::string> assets;
    for (const auto& e : std::filesystem::directory_iterator(source_path("assets")))
        if (e.path().extension() == ".pxi" && !skipped_under_sanitizer(e.file_size())) // test_util.h
            assets.push_back(e.path().string());
    std::sort(assets.begin(), assets.end());
    REQUIRE(assets.size() >= 4);
    for (auto k : {gl::MatmulKernel::Simple, gl::MatmulKernel::Tiled}) {
        gl::Executor ex = executor(k);
        for (const std::string& path : assets) {
            auto loaded = load_png(path);
            REQUIRE_MESSAGE(loaded.ok(), path);
            const int steps = lockstep(ex, loaded->image, path);
            CHECK(steps > 0);
            CHECK(gl::gl_status(ex) == VmStatus::Halted);
        }
    }
}
