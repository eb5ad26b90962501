// gl_session.h — the GL executor as pxi uses it: a headless EGL context plus an executor, made
// together (the context must outlive the executor, and both live on this thread). Only compiled
// into pxi when the engine was built with the OpenGL executor (PXOS_HAVE_GL).
#pragma once
#ifdef PXOS_HAVE_GL
#include "gl_executor.h"

#include <memory>
#include <string>

namespace pxi {

struct GlSession {
    px::gl::HeadlessContext context;
    px::gl::Executor executor; // destroyed first (members are destroyed in reverse order)
};

// kernel: "simple" or "tiled". On failure returns nullptr and sets `error` to one line.
inline std::unique_ptr<GlSession> open_gl(const px::Image& image, const std::string& kernel,
                                          uint64_t step_limit, bool timing, std::string& error) {
    auto ctx = px::gl::create_headless_context();
    if (!ctx) {
        error = ctx.error().message;
        return nullptr;
    }
    auto session = std::make_unique<GlSession>();
    session->context = std::move(ctx.value());
    px::gl::ExecutorDesc desc;
    desc.matmul = kernel == "simple" ? px::gl::MatmulKernel::Simple : px::gl::MatmulKernel::Tiled;
    desc.gpu_timing = timing;
    desc.warm_up = timing; // keep first-use shader compilation out of the timings
    desc.step_limit = step_limit;
    auto ex = px::gl::create_executor(image, desc);
    if (!ex) {
        error = ex.error().message;
        return nullptr;
    }
    session->executor = std::move(ex.value());
    px::gl::gl_set_step_limit(session->executor, step_limit); // exact, 0 included
    return session;
}

} // namespace pxi
#endif
