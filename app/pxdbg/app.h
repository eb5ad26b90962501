// app.h — pxdbg's window state and the functions that draw its panels (ui.cpp).
//
// App holds the Debugger (debugger state) next to everything that is only about windows: the
// shared zoom/pan of the program views, panel visibility, the hovered disassembly line, dialogs,
// recent files and automation requests. main.cpp runs one flat loop over it.
#pragma once
#include "debugger.h"
#include "view.h"

#include <string>
#include <vector>

struct GLFWwindow;

namespace pxdbg {

enum class Layout : uint8_t { Single, Compare }; // Compare: CPU | GPU | difference, linked

struct MatrixStats {
    uint32_t cols = 0, rows = 0;
    uint8_t min = 0, max = 0;
    double mean = 0;
    float histogram[32] = {};
    std::vector<uint8_t> values; // after the last step
};

struct App {
    Debugger dbg;
    ViewRenderer renderer;
    ViewState view;           // program views (linked when side by side)
    ViewState inspector_view; // matrix inspector (before and after share it)
    Layout layout = Layout::Single;
    bool show_disassembly = true, show_inspector = true, show_regions = true, show_help = false;
    bool show_controls = true;

    std::optional<uint32_t> hover_pc;  // disassembly line under the mouse
    std::optional<uint32_t> cursor_pc; // disassembly line clicked (run to cursor, F9)
    bool scroll_to_pc = true;
    double written_time = -1; // when the last step wrote (for the fading highlight)
    uint64_t seen_serial = 0;

    // Matrix inspector textures, rebuilt when the selection or the image changes.
    GlTexture mat_after, mat_before;
    MatrixStats after, before;
    uint64_t mat_serial = ~0ull;
    std::optional<uint32_t> mat_row;
    bool inspector_auto_range = true;

    std::vector<std::string> recent; // most recent first, persisted in imgui.ini
    std::string message;             // transient line for the status bar
    double message_time = -1;
    std::string gl_renderer;

    // Dialogs.
    bool want_open = false, want_save = false, want_export_matrix = false, want_reload_prompt = false;
    std::string dialog_dir;
    char path_buf[1024] = {};
    double last_mtime_check = 0;

    // Automation (--state-file, --screenshot).
    std::string state_file, screenshot_path;
    bool state_requested = false, screenshot_requested = false;
    int screenshot_count = 0;
    uint64_t state_written_serial = ~0ull;
    std::string pending_drop; // a file dropped on the window
    // Key presses queued by the GLFW key callback: Dear ImGui 1.86 samples key state once a frame,
    // so a press and release within one frame (fast typists, xdotool) would be lost otherwise.
    struct KeyPress {
        int key, mods;
    };
    std::vector<KeyPress> key_presses;

    GLFWwindow* window = nullptr;
    double frame_ms = 0;
};

void draw_ui(App& app);
void handle_keys(App& app);
void open_program(App& app, const std::string& path);
void register_settings(App& app); // recent files in imgui.ini
void set_message(App& app, std::string text);
// Data-mode range = min..max of the values stored in the matrices.
void auto_range(App& app);
// Writes the JSON state file (atomically); returns false and sets the message on failure.
bool write_state_file(App& app);
// Saves the framebuffer (the whole window) as PNG.
bool save_screenshot(App& app, const std::string& path, int fb_w, int fb_h);
std::string state_json(const App& app);

} // namespace pxdbg
