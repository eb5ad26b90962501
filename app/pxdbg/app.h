// app.h — pxdbg's window state and the functions of its windows, one file per concern:
//   panels.cpp     the windows: menus, program views, controls, disassembly, regions, inspector,
//                  help, status bar (draw_ui)
//   keys.cpp       the one key table: it drives key handling, the F1 help and menu shortcut labels
//   dialogs.cpp    the file dialog, the write policy every write path goes through, reload prompt
//   automation.cpp the JSON state file and screenshots (tests and documentation)
//   settings.cpp   imgui.ini: recent files and view toggles, saved atomically
//
// App holds the Debugger (debugger state, debugger.h) next to everything that is only about
// windows. The windows read the Debugger freely and change it only through its command functions.
// main.cpp runs one flat loop over App.
#pragma once
#include "debugger.h"
#include "panel_gpt.h"
#include "panel_model.h"
#include "view.h"

#include <span>
#include <string>
#include <vector>

struct GLFWwindow;

namespace pxdbg {

enum class Layout : uint8_t { Single, Compare }; // Compare: CPU | GPU | difference, linked

// A matrix as the inspector shows it: each element in its real type (the engine says which) and
// its real value where the region has a scale.
struct MatrixStats {
    uint32_t cols = 0, rows = 0;
    px::DType type = px::DType::U8;
    double min = 0, max = 0; // over the finite stored values (codes, int32s, floats)
    double mean = 0;
    uint64_t nan = 0, inf = 0;    // float matrices: elements that are NaN, +-inf
    std::vector<double> stored;   // row-major
    std::vector<double> real;     // dequantized, empty without a scale
    std::vector<float> histogram; // over [hist_lo, hist_hi], stored values
    double hist_lo = 0, hist_hi = 0;
};

// Things the windows can ask for, from a key, a menu or a button (keys.cpp holds the key table).
enum class Action : uint8_t {
    Step,
    StepBack,
    Continue,
    Pause,
    Reset,
    ToggleBreakpoint,
    RunToCursor,
    Fit,
    OneToOne,
    ToggleRed,
    ToggleGreen,
    ToggleBlue,
    ToggleAlpha,
    ToggleData,
    ToggleHeat,
    ToggleLabels,
    ToggleCompare,
    Open,
    Save,
    ExportView,
    ExportMatrix,
    Screenshot,
    WriteState,
    Help,
    // panel_model.cpp
    ReverseContinue,
    ReverseToPixelChange,
    GoTo,
    AbCompare,
    AbMode,
    AbSource,
    WeightStats,
    TogglePaneLink,
    // panel_gpt.cpp
    NextToken,
    PrevToken,
    FocusPrompt,
    UndoPrompt,
};

struct KeyBinding {
    int key;  // GLFW_KEY_*
    int mods; // GLFW_MOD_* that must be held (exactly: Ctrl, Shift, Alt)
    Action action;
    const char* keys; // as the help shows it
    const char* what;
};
std::span<const KeyBinding> key_table();
const char* shortcut_text(Action a); // first binding's keys, or nullptr

// Writes the windows may start (docs/write-paths.md).
enum class WriteKind : uint8_t { SaveImage, ExportMatrix, ExportView };

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
    int colormap = 0; // 0 viridis, 1 gray, 2 diverging (blue-white-red)

    std::vector<std::string> recent; // most recent first, persisted in imgui.ini
    std::string message;             // transient line for the status bar
    double message_time = -1;
    std::string gl_renderer;

    // Dialogs.
    bool want_open = false, want_save = false, want_export_matrix = false, want_reload_prompt = false;
    bool want_export_view = false;
    std::string export_view_path; // accepted by the dialog; saved once the dialog is off screen
    int export_view_wait = 0;     // frames to wait before reading the framebuffer
    ImVec4 view_rect;             // screen rect of the program view(s), for exporting it
    std::vector<std::pair<uint32_t, ImVec2>>
        region_list_pos;   // Regions list: row -> item center (tests click it)
    bool gpu_only = false; // the GL executor's texture drives the view: the CPU texture may lag
    std::string dialog_dir;
    char path_buf[1024] = {};
    // Bumped each time a file dialog opens: its path field gets a new widget id, so Dear ImGui starts
    // it with fresh edit state (cursor, selection) instead of the previous dialog's.
    uint32_t dialog_opens = 0;
    double last_mtime_check = 0;
    // A write waiting for "replace the existing file?".
    struct PendingWrite {
        WriteKind kind;
        std::string path;
    };
    std::optional<PendingWrite> confirm_replace;
    std::string open_dialog; // name of the modal on screen ("" none), for the state file
    // The file dialog's path field as the state file reports it: whether it has the keyboard and
    // what it holds, so tests type only once it listens and press Enter only once it holds the name.
    bool path_field_active = false, path_field_drawn = false;
    std::string path_field_text;

    // Automation (--state-file, --screenshot).
    std::string state_file, screenshot_path, ini_path;
    bool state_requested = false, screenshot_requested = false;
    int screenshot_count = 0;
    uint64_t state_written_serial = ~0ull, ui_serial = 0, state_written_ui_serial = ~0ull;
    std::string pending_drop; // a file dropped on the window
    // Key presses queued by the GLFW key callback: Dear ImGui 1.86 samples key state once a frame,
    // so a press and release within one frame (fast typists, xdotool) would be lost otherwise.
    struct KeyPress {
        int key, mods;
    };
    std::vector<KeyPress> key_presses;

    GLFWwindow* window = nullptr;
    double frame_ms = 0;
    ModelPanels model; // A/B compare, pixel history, go to, weight statistics (panel_model.h)
    GptPanel gpt;      // the Text window of a GPT program (panel_gpt.h)
};

// panels.cpp
void draw_ui(App& app);
void open_program(App& app, const std::string& path);
void set_message(App& app, std::string text);
// Data-mode range = min..max of the values stored in the matrices.
void auto_range(App& app);

// keys.cpp
void handle_keys(App& app);
void run_action(App& app, Action a);
bool action_enabled(const App& app, Action a);

// dialogs.cpp
void dialogs(App& app);
// The write policy: never the loaded input (or the file it links to), a directory that exists.
// Returns "" when `path` may be written, else why not. `exists` says whether it would replace a file.
std::string write_refusal(const App& app, const std::string& path, bool* exists = nullptr);

// automation.cpp
// Writes the JSON state file (atomically); returns false and sets the message on failure.
bool write_state_file(App& app);
// Saves the framebuffer (the whole window) as PNG, atomically and never over the loaded input.
// With `crop` (screen coordinates x0, y0, x1, y1), only that part: "export the view".
bool save_screenshot(App& app, const std::string& path, int fb_w, int fb_h, const ImVec4* crop = nullptr);
std::string state_json(const App& app);
// Once a frame after rendering: F12, a pending view export, the state file.
void after_render(App& app, int fb_w, int fb_h, int frame, int screenshot_at);

// settings.cpp
void register_settings(App& app); // recent files and view toggles in imgui.ini
void add_recent(App& app, const std::string& path);
// Atomically, when ImGui asks (io.WantSaveIniSettings) or at exit; "" when saved (or no --ini),
// else why not (also the status bar's message).
std::string save_settings(App& app);

} // namespace pxdbg
