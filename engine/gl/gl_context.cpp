// Headless OpenGL contexts through EGL (gl_executor.h: create_headless_context).
//
// Order of attempts: an EGL device that is not Mesa's (NVIDIA's driver through
// EGL_EXT_platform_device, no X server needed), then Mesa's surfaceless platform (llvmpipe or a
// Mesa GPU driver), then the default display. The context is OpenGL core 4.3 (drivers return the
// newest compatible version), made current with no surface (EGL_KHR_surfaceless_context).
#include "gl_executor.h"

#include <epoxy/egl.h>
#include <epoxy/gl.h>

#include <cstring>
#include <vector>

namespace px::gl {

struct HeadlessContext::Impl {
    EGLDisplay display = EGL_NO_DISPLAY;
    EGLContext context = EGL_NO_CONTEXT;
};

namespace {

bool has_extension(const char* list, const char* name) {
    if (!list) return false;
    const size_t n = std::strlen(name);
    for (const char* p = list; (p = std::strstr(p, name)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return true;
    return false;
}

void destroy(HeadlessContext::Impl* impl) {
    if (!impl) return;
    if (impl->display != EGL_NO_DISPLAY) {
        eglMakeCurrent(impl->display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
        if (impl->context != EGL_NO_CONTEXT) eglDestroyContext(impl->display, impl->context);
        // No eglTerminate: an EGL display is process-wide (a later create re-initializes it at no
        // cost), and terminating it makes Mesa unload its driver, whose few never-freed bytes then
        // show up under LeakSanitizer as leaks from an unknown module that no suppression can name.
        eglReleaseThread();
    }
    delete impl;
}

// Tries to make a GL 4.3 core context current on `display`; on failure says why in `why`.
bool try_display(EGLDisplay display, HeadlessContext::Impl& out, std::string& why) {
    if (display == EGL_NO_DISPLAY) return false;
    EGLint major = 0, minor = 0;
    if (!eglInitialize(display, &major, &minor)) {
        why = "eglInitialize failed";
        return false;
    }
    const char* exts = eglQueryString(display, EGL_EXTENSIONS);
    if (!has_extension(exts, "EGL_KHR_surfaceless_context")) {
        why = "EGL display lacks EGL_KHR_surfaceless_context";
        eglTerminate(display);
        return false;
    }
    if (!eglBindAPI(EGL_OPENGL_API)) {
        why = "EGL display cannot bind the OpenGL API";
        eglTerminate(display);
        return false;
    }
    EGLConfig config = nullptr;
    const EGLint config_attribs[] = {EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_NONE};
    EGLint count = 0;
    if (!eglChooseConfig(display, config_attribs, &config, 1, &count) || count == 0) {
        if (!has_extension(exts, "EGL_KHR_no_config_context")) {
            why = "EGL display has no OpenGL config";
            eglTerminate(display);
            return false;
        }
        config = EGL_NO_CONFIG_KHR;
    }
    const EGLint ctx_attribs[] = {EGL_CONTEXT_MAJOR_VERSION,
                                  4,
                                  EGL_CONTEXT_MINOR_VERSION,
                                  3,
                                  EGL_CONTEXT_OPENGL_PROFILE_MASK,
                                  EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
                                  EGL_NONE};
    EGLContext ctx = eglCreateContext(display, config, EGL_NO_CONTEXT, ctx_attribs);
    if (ctx == EGL_NO_CONTEXT) {
        why = "the driver offers no OpenGL 4.3 core context";
        eglTerminate(display);
        return false;
    }
    if (!eglMakeCurrent(display, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx)) {
        why = "eglMakeCurrent without a surface failed";
        eglDestroyContext(display, ctx);
        eglTerminate(display);
        return false;
    }
    out.display = display;
    out.context = ctx;
    return true;
}

} // namespace

Result<HeadlessContext> create_headless_context() {
    std::unique_ptr<HeadlessContext::Impl, void (*)(HeadlessContext::Impl*)> impl(new HeadlessContext::Impl,
                                                                                  destroy);
    std::string why; // "<where>: <reason>" for each display tried, "; "-separated
    bool ok = false;
    auto attempt = [&](const char* where, EGLDisplay display) {
        std::string reason = "no such display";
        if (try_display(display, *impl, reason)) return true;
        why += (why.empty() ? "" : "; ") + std::string(where) + ": " + reason;
        return false;
    };
    const char* client = eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS); // null without client extensions
    if (has_extension(client, "EGL_EXT_device_enumeration") &&
        has_extension(client, "EGL_EXT_platform_device")) {
        EGLint n = 0;
        eglQueryDevicesEXT(0, nullptr, &n);
        std::vector<EGLDeviceEXT> devices(size_t(n > 0 ? n : 0));
        if (n > 0 && eglQueryDevicesEXT(n, devices.data(), &n)) {
            for (EGLint i = 0; i < n && !ok; ++i) {
                EGLDisplay d = eglGetPlatformDisplayEXT(EGL_PLATFORM_DEVICE_EXT, devices[size_t(i)], nullptr);
                if (d == EGL_NO_DISPLAY) continue;
                EGLint major = 0, minor = 0;
                if (!eglInitialize(d, &major, &minor)) continue;
                const char* vendor = eglQueryString(d, EGL_VENDOR);
                const bool mesa = vendor && std::strstr(vendor, "Mesa");
                if (mesa) { // Mesa's devices are better reached through surfaceless
                    eglTerminate(d);
                    continue;
                }
                ok = attempt("EGL device", d);
            }
        }
    }
    if (!ok && has_extension(client, "EGL_MESA_platform_surfaceless"))
        ok = attempt("surfaceless",
                     eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr));
    if (!ok) ok = attempt("default display", eglGetDisplay(EGL_DEFAULT_DISPLAY));
    if (!ok) return make_error(ErrorCode::Gl, "no headless OpenGL 4.3 context: " + why);

    if (epoxy_gl_version() < 43) {
        return make_error(ErrorCode::Gl, "no headless OpenGL 4.3 context: the driver gives OpenGL " +
                                             std::to_string(epoxy_gl_version() / 10) + "." +
                                             std::to_string(epoxy_gl_version() % 10));
    }
    HeadlessContext ctx;
    const char* renderer = reinterpret_cast<const char*>(glGetString(GL_RENDERER));
    ctx.renderer = renderer ? renderer : "?";
    ctx.impl = std::move(impl);
    return ctx;
}

} // namespace px::gl
