// main.cpp — pxdbg: command line, window, one flat main loop (as in Dear ImGui's examples).
//
// Automation hooks for tests and documentation: --state-file (JSON written whenever the state
// changes and on Ctrl+Shift+S), --screenshot (PNG of the window on F12, or after --screenshot-at
// frames), --bench-frames (the app's own frame timer over N frames, then exit), --synthetic
// (a generated large program, for benchmarks).
#include "app.h"

#include "png_io.h"

#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_opengl3.h>

#include <CLI/CLI.hpp>
#include <glm/vec2.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <numeric>

namespace {

// Dear ImGui 1.86 samples key state once a frame, so a key pressed and released between two
// frames (a quick tap at llvmpipe frame rates, or xdotool) would never be seen. The key callback
// queues presses for the debugger's shortcuts and holds back such a release until the next frame.
// Held releases reach ImGui before that frame's NewFrame (never after it): ImGui checks in its
// text fields that the modifier state it sampled in NewFrame still holds (io.KeyMods ==
// GetMergedKeyModFlags()), and a Shift release delivered mid-frame aborted the app (issue 12, bug 1).
// Characters wait behind a held release too: a character typed right after a quick Ctrl+A would
// otherwise reach ImGui while the held Ctrl release still says Ctrl is down, and text fields drop
// characters typed with Ctrl down (issue 18: the lost keystroke of pxdbg_gui_truth).
struct Input {
    pxdbg::App* app = nullptr;
    std::vector<int> pressed_this_frame;
    struct HeldRelease {
        int key, scancode, mods;
        unsigned codepoint = 0; // nonzero: a character, not a key event
    };
    std::vector<HeldRelease> held_releases;
};

Input& input_of(GLFWwindow* window) {
    return *static_cast<Input*>(glfwGetWindowUserPointer(window));
}

void drop_callback(GLFWwindow* window, int count, const char** paths) {
    Input& in = input_of(window);
    if (in.app && count > 0) in.app->pending_drop = paths[0];
}

bool plain_printable(int key, int mods) {
    return key >= GLFW_KEY_SPACE && key <= GLFW_KEY_GRAVE_ACCENT &&
           (mods & (GLFW_MOD_CONTROL | GLFW_MOD_ALT | GLFW_MOD_SUPER)) == 0;
}

void key_callback(GLFWwindow* window, int key, int scancode, int action, int mods) {
    Input& in = input_of(window);
    if (in.app && (action == GLFW_PRESS || action == GLFW_REPEAT)) in.app->key_presses.push_back({key, mods});
    if (action == GLFW_PRESS) in.pressed_this_frame.push_back(key);
    const bool pressed_now = std::find(in.pressed_this_frame.begin(), in.pressed_this_frame.end(), key) !=
                             in.pressed_this_frame.end();
    // A release waits while its press is this frame's (but not that of a plain printable key,
    // whose text arrives as a character: typing stays fast); every event after a held one waits
    // behind it, so ImGui sees all keys and characters in the order they were typed (an Enter
    // must not overtake the name typed before it: issue 18).
    if ((action == GLFW_RELEASE && pressed_now && !plain_printable(key, mods)) || !in.held_releases.empty()) {
        in.held_releases.push_back({key, scancode, action == GLFW_RELEASE ? -1 - mods : mods});
        return;
    }
    ImGui_ImplGlfw_KeyCallback(window, key, scancode, action, mods);
}

void char_callback(GLFWwindow* window, unsigned codepoint) {
    Input& in = input_of(window);
    if (!in.held_releases.empty()) { // in order, behind the key events held back
        in.held_releases.push_back({GLFW_KEY_UNKNOWN, 0, 0, codepoint});
        return;
    }
    ImGui_ImplGlfw_CharCallback(window, codepoint);
}

// Before polling the next frame's events (and so before its NewFrame): the releases held back.
void release_held_keys(GLFWwindow* window) {
    Input& in = input_of(window);
    in.pressed_this_frame.clear();
    std::vector<Input::HeldRelease> held;
    held.swap(in.held_releases);
    size_t i = 0;
    for (; i < held.size(); ++i) {
        const Input::HeldRelease& r = held[i];
        if (r.codepoint != 0) {
            ImGui_ImplGlfw_CharCallback(window, r.codepoint);
            continue;
        }
        const bool release = r.mods < 0;
        if (release && !plain_printable(r.key, -1 - r.mods) &&
            std::find(in.pressed_this_frame.begin(), in.pressed_this_frame.end(), r.key) !=
                in.pressed_this_frame.end())
            break; // its press goes to ImGui in this frame: the release and all after it in the next
        if (!release) in.pressed_this_frame.push_back(r.key);
        ImGui_ImplGlfw_KeyCallback(window, r.key, r.scancode, release ? GLFW_RELEASE : GLFW_PRESS,
                                   release ? -1 - r.mods : r.mods);
    }
    in.held_releases.assign(held.begin() + long(i), held.end());
}

void glfw_error(int code, const char* text) {
    std::fprintf(stderr, "pxdbg: GLFW error %d: %s\n", code, text);
}

// A program of the given size dominated by one big weight matrix: x (1 x K) times W (K x N) into y,
// then y + bias into y2. Values are a fixed hash of their position, so runs are reproducible.
px::Image make_synthetic(uint32_t size) {
    const uint32_t w = std::max<uint32_t>(size, 16), stride = w - 1;
    const uint32_t free_rows = std::max<uint32_t>(size, 16) - 1 - 3; // rows for W after row 0, x, y, bias
    const uint32_t k =
        std::max<uint32_t>(1, std::min<uint32_t>(stride, free_rows)); // W has k rows of one image row each
    const uint32_t n = stride;
    px::Image img = px::make_image(w, std::max<uint32_t>(size, 16));
    auto val = [](uint64_t i, uint32_t salt) { return uint8_t(((i * 2654435761u) ^ salt) >> 7 & 0x03); };
    std::vector<uint8_t> x(k), wv(size_t(k) * n), bias(n);
    for (size_t i = 0; i < x.size(); ++i)
        x[i] = val(i, 11);
    for (size_t i = 0; i < wv.size(); ++i)
        wv[i] = val(i, 77);
    for (size_t i = 0; i < bias.size(); ++i)
        bias[i] = uint8_t(i % 7);
    const uint32_t rx = 1, rw = 2, ry = rw + k, rb = ry + 1;
    (void)px::write_matrix(img, rx, {k, 1}, x);
    (void)px::write_matrix(img, rw, {n, k}, wv);
    (void)px::write_matrix(img, rb, {n, 1}, bias);
    img.set_pixel(0, 0, {uint8_t(px::Opcode::MATMUL), uint8_t(rx), uint8_t(rw), 0});
    img.set_pixel(1, 0, {uint8_t(px::Opcode::HALT), 0, 0, 0});
    // Rows above 255 need the WIDE prefix (PROTOCOL.md §4.3).
    img.set_pixel(0, 0, {uint8_t(px::kWidePrefix), uint8_t(rx >> 8), uint8_t(rw >> 8), uint8_t(ry >> 8)});
    img.set_pixel(1, 0, {uint8_t(px::Opcode::MATMUL), uint8_t(rx), uint8_t(rw), uint8_t(ry)});
    img.set_pixel(2, 0, {uint8_t(px::kWidePrefix), uint8_t(ry >> 8), uint8_t(rb >> 8), uint8_t(ry >> 8)});
    img.set_pixel(3, 0, {uint8_t(px::Opcode::ADD), uint8_t(ry), uint8_t(rb), uint8_t(ry)});
    img.set_pixel(4, 0, {uint8_t(px::Opcode::HALT), 0, 0, 0});
    return img;
}

// SIGINT (Ctrl+C in the terminal) and SIGTERM (a session ending) leave the main loop the way
// File > Quit does, so imgui.ini is saved and a failure to save it is reported; killed outright,
// pxdbg would lose the layout and recent files silently. The flag is the one thing a signal
// handler may set, hence a static; the handler is reset on delivery, so a second signal ends
// pxdbg at once (a loop stuck in a long step still dies on the second Ctrl+C).
volatile std::sig_atomic_t quit_signal = 0;
void on_quit_signal(int sig) {
    quit_signal = sig;
}
void catch_quit_signals() {
    struct sigaction sa = {};
    sa.sa_handler = on_quit_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

} // namespace

int main(int argc, char** argv) {
    CLI::App cli{"pxdbg — the pxOS visual debugger: open a .pxi program, step it, watch the pixels change"};
    std::string file, state_file, screenshot, ini = "imgui.ini", center;
    int bench_frames = 0, screenshot_at = -1, quit_after = -1, win_w = 1600, win_h = 1000, steps = 0,
        synthetic = 0;
    int inspect_row = -1;
    float zoom = 0;
    bool gpu = false, compare = false, data_mode = false, vsync = true, heat = false;
    cli.add_option("file", file, "the .pxi program to open");
    cli.add_option("--state-file", state_file, "write a JSON state file here whenever the state changes");
    cli.add_option("--screenshot", screenshot, "where F12 (or --screenshot-at) saves the window as PNG");
    cli.add_option("--screenshot-at", screenshot_at, "save the screenshot after this many frames");
    cli.add_option("--quit-after", quit_after, "quit after this many frames (0 = never)");
    cli.add_option("--ini", ini, "window layout and recent files (\"\" = none)");
    cli.add_option("--size", win_w, "window width")->group("");
    cli.add_option("--width", win_w, "window width");
    cli.add_option("--height", win_h, "window height");
    cli.add_option("--steps", steps, "step this many instructions after loading");
    cli.add_option("--zoom", zoom, "initial zoom (screen pixels per image pixel)");
    cli.add_option("--center", center, "initial view center X,Y (image pixels)");
    cli.add_option("--inspect", inspect_row, "open the matrix at this header row in the inspector");
    std::string reference;
    cli.add_option("--reference", reference,
                   "the float32 GPT program to open beside a uint8 one (the quantization lens)");
    cli.add_flag("--gpu", gpu, "start the OpenGL executor in lockstep with the CPU");
    cli.add_flag("--compare", compare, "CPU | GPU | difference layout (implies --gpu)");
    std::string driver = "cpu";
    cli.add_option("--driver", driver, "which executor drives the main view: cpu or gpu (implies --gpu)")
        ->check(CLI::IsMember({"cpu", "gpu"}));
    cli.add_flag("--data", data_mode, "data mode: R through the colormap");
    cli.add_flag("--heat", heat, "show what changed since start");
    cli.add_option("--bench-frames", bench_frames, "render N frames without vsync, print frame times, exit");
    cli.add_option("--synthetic", synthetic, "open a generated SIZExSIZE program with one big matrix");
    cli.add_flag("!--no-vsync", vsync, "do not wait for vertical sync");
#ifdef PXDBG_TEST_HOOKS // pxdbg_fault only (a test build): never in the released pxdbg
    std::string gpu_fault;
    cli.add_option("--inject-gpu-fault", gpu_fault, "TEST BUILD: flip a GPU pixel after step N: N or N,X,Y");
#endif
    CLI11_PARSE(cli, argc, argv);

    glfwSetErrorCallback(glfw_error);
    if (!glfwInit()) {
        std::fprintf(stderr, "pxdbg: cannot initialize GLFW (no display? try xvfb-run)\n");
        return 2;
    }
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 4);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
    glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
    GLFWwindow* window = glfwCreateWindow(win_w, win_h, "pxdbg", nullptr, nullptr);
    if (!window) {
        std::fprintf(stderr, "pxdbg: cannot create an OpenGL 4.3 window\n");
        glfwTerminate();
        return 2;
    }
    glfwMakeContextCurrent(window);
    glfwSwapInterval(vsync && bench_frames == 0 ? 1 : 0);

    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename =
        nullptr; // pxdbg loads and saves imgui.ini itself (settings.cpp: atomic, never the input)
    ImGui::StyleColorsDark();
    ImGui::GetStyle().WindowRounding = 3;
    ImGui_ImplGlfw_InitForOpenGL(window, true);
    Input input;
    glfwSetWindowUserPointer(window, &input);
    glfwSetKeyCallback(window, key_callback);   // replaces the backend's; forwards to it (see key_callback)
    glfwSetCharCallback(window, char_callback); // the same: characters keep their place behind held keys
    ImGui_ImplOpenGL3_Init("#version 430 core");

    auto app_ptr = std::make_unique<pxdbg::App>();
    pxdbg::App& app = *app_ptr;
    input.app = &app;
    app.window = window;
    app.ini_path = ini;
    app.state_file = state_file;
    app.screenshot_path = screenshot;
    app.gl_renderer = reinterpret_cast<const char*>(glGetString(GL_RENDERER));
    pxdbg::register_settings(app);
    if (!ini.empty()) ImGui::LoadIniSettingsFromDisk(ini.c_str());
    glfwSetDropCallback(window, drop_callback);
    if (!pxdbg::init_renderer(app.renderer)) {
        std::fprintf(stderr, "pxdbg: %s\n", app.renderer.error.c_str());
        return 2;
    }

    if (synthetic > 0) {
        pxdbg::load_image(app.dbg, make_synthetic(uint32_t(synthetic)), "");
        app.view.fit_pending = true;
    } else if (!file.empty()) {
        pxdbg::open_program(app, file);
        if (!app.dbg.error.empty()) std::fprintf(stderr, "pxdbg: %s\n", app.dbg.error.c_str());
    }
    // Opened when the Lens window first sees the uint8 program (it needs its config to check).
    if (!reference.empty())
        std::snprintf(app.gpt.lens.path, sizeof app.gpt.lens.path, "%s", reference.c_str());
    if (gpu || compare || driver == "gpu") pxdbg::set_gpu_enabled(app.dbg, true);
    if (driver == "gpu") pxdbg::set_driver(app.dbg, pxdbg::Driver::Gpu);
#ifdef PXDBG_TEST_HOOKS
    if (!gpu_fault.empty()) {
        unsigned long long n = 0;
        unsigned x = 0, y = 0;
        const int got = std::sscanf(gpu_fault.c_str(), "%llu,%u,%u", &n, &x, &y);
        pxdbg::GpuFault f;
        f.step = n;
        if (got == 3) f.pixel = std::make_pair(uint32_t(x), uint32_t(y));
        if (got >= 1) app.dbg.gpu_fault = f;
        std::fprintf(stderr, "pxdbg: TEST BUILD: GPU fault armed after step %llu\n", n);
    }
#endif
    if (compare) app.layout = pxdbg::Layout::Compare;
    if (data_mode) app.view.data_mode = true; // else as imgui.ini left it
    if (data_mode) pxdbg::auto_range(app);
    if (heat) app.view.heat = true;
    if (inspect_row > 0) pxdbg::select_matrix(app.dbg, uint32_t(inspect_row));
    for (int i = 0; i < steps; ++i)
        pxdbg::step_once(app.dbg);
    bool view_placed = zoom <= 0;

    using Clock = std::chrono::steady_clock;
    std::vector<double> frame_times;
    double ui_ms = 0, gl_ms = 0; // bench: building the UI (CPU) vs rendering it (GL, to glFinish)
    auto last = Clock::now();
    catch_quit_signals();
    for (int frame = 0; !glfwWindowShouldClose(window) && !quit_signal; ++frame) {
        release_held_keys(window);
        glfwPollEvents();
        const auto t_begin = Clock::now();
        // When the GL executor drives the view its texture is sampled directly: the CPU texture
        // catches up (written rectangles only) when something shows it again.
        const bool gpu_only = app.dbg.driver == pxdbg::Driver::Gpu && pxdbg::gpu_available(app.dbg) &&
                              app.layout == pxdbg::Layout::Single && !app.view.heat;
        app.gpu_only = gpu_only;
        pxdbg::begin_frame(app.renderer);
        if (!gpu_only || app.dbg.dirty_all || !app.renderer.cpu_tex) {
            const pxdbg::TextureUpdate up = pxdbg::take_texture_updates(app.dbg);
            pxdbg::sync_textures(app.renderer, app.dbg.cpu.image, app.dbg.loaded, up.all, up.rects);
        }
        ImGui_ImplOpenGL3_NewFrame();
        ImGui_ImplGlfw_NewFrame();
        ImGui::NewFrame();
        pxdbg::handle_keys(app);
        pxdbg::draw_ui(app);
        ImGui::Render();
        const auto t_ui = Clock::now();
        int fb_w, fb_h;
        glfwGetFramebufferSize(window, &fb_w, &fb_h);
        glViewport(0, 0, fb_w, fb_h);
        glClearColor(0.1f, 0.1f, 0.11f, 1);
        glClear(GL_COLOR_BUFFER_BIT);
        ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());

        // After the first frame the canvas size is known: apply --zoom/--center once.
        if (!view_placed && frame >= 1) {
            float cx = 0, cy = 0;
            if (std::sscanf(center.c_str(), "%f,%f", &cx, &cy) != 2) cx = cy = 0;
            app.view.zoom = std::clamp(zoom, pxdbg::kMinZoom, pxdbg::kMaxZoom);
            pxdbg::center_on(app.view, glm::vec2(app.view.canvas.x, app.view.canvas.y), glm::dvec2(cx, cy));
            app.view.fit_pending = false;
            view_placed = true;
        }
        pxdbg::after_render(app, fb_w, fb_h, frame, screenshot_at);
        if (ImGui::GetIO().WantSaveIniSettings) pxdbg::save_settings(app);
        if (bench_frames > 0) glFinish(); // the frame's GPU work counts
        const auto t_gl = Clock::now();
        glfwSwapBuffers(window);

        const auto now = Clock::now();
        app.frame_ms = std::chrono::duration<double, std::milli>(now - last).count();
        last = now;
        if (bench_frames > 0 && frame >= 10) { // skip warm-up frames (shader compile, first upload)
            frame_times.push_back(app.frame_ms);
            ui_ms += std::chrono::duration<double, std::milli>(t_ui - t_begin).count();
            gl_ms += std::chrono::duration<double, std::milli>(t_gl - t_ui).count();
            if (int(frame_times.size()) >= bench_frames) break;
        }
        if (quit_after > 0 && frame + 1 >= quit_after) break;
    }
    if (bench_frames > 0 && !frame_times.empty()) {
        std::vector<double> s = frame_times;
        std::sort(s.begin(), s.end());
        const double mean = std::accumulate(s.begin(), s.end(), 0.0) / s.size();
        std::printf(
            "pxdbg bench: %ux%u program, zoom %.4g, labels %s, %zu frames: mean %.2f ms, median %.2f ms, "
            "p95 %.2f ms, max %.2f ms; per frame %.2f ms building the UI, %.2f ms rendering (%s)\n",
            app.dbg.cpu.image.width, app.dbg.cpu.image.height, app.view.zoom,
            app.view.annotations && app.view.zoom >= 18 ? "on" : "off", s.size(), mean, s[s.size() / 2],
            s[std::min(s.size() - 1, s.size() * 95 / 100)], s.back(), ui_ms / s.size(), gl_ms / s.size(),
            app.gl_renderer.c_str());
    }
    // While App (which the settings handler reads) still lives. The status bar is gone, so a
    // failure is said on stderr and in the exit status.
    const std::string settings_error = pxdbg::save_settings(app);
    if (!settings_error.empty())
        std::fprintf(stderr, "pxdbg: settings not saved: %s\n", settings_error.c_str());
    app_ptr.reset(); // GL objects go while the context lives
    ImGui_ImplOpenGL3_Shutdown();
    ImGui_ImplGlfw_Shutdown();
    ImGui::DestroyContext();
    glfwDestroyWindow(window);
    glfwTerminate();
    return settings_error.empty() ? 0 : 1;
}
