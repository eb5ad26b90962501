// panel_model.h — pxdbg's windows beyond the basic debugger: A/B comparison (wipe, flicker,
// difference with per-region metrics) of the CPU image against the GPU's or an earlier step,
// pixel history with reverse execution, "go to", break on divergence and weight statistics.
//
// The state here is window state only; everything they show or do comes from the debugger
// model's command functions (debugger.h: pixel_history, reverse_*, run_until_divergence,
// compare_image, compare_metrics, resolve_goto) and the engine (compare.h: value statistics).
#pragma once
#include "debugger.h"
#include "gl_util.h"
#include "view.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>

namespace pxdbg {

struct App;
enum class Action : uint8_t; // app.h

enum class AbMode : uint8_t { Wipe, Flicker, Difference };

struct ModelPanels {
    bool show_compare = false, show_history = false, show_stats = false;

    // A/B: A is the CPU image now; B is the GPU's, or the CPU's after step b_step.
    CompareWith with = CompareWith::Step;
    int b_step = 0;
    AbMode mode = AbMode::Wipe;
    float split = 0.5f; // wipe: the share of the canvas (from the left) that shows A
    float flicker_hz = 2.0f;
    bool flicker_showing_b = false;
    bool linked = true; // the A/B canvas follows the program view's zoom and pan
    ViewState view;     // its own zoom and pan while unlinked
    // The CPU | GPU | difference layout: its three panes share the program view's zoom and pan,
    // or (unlinked) each has its own; re-linking locks all three to the CPU pane's.
    bool panes_linked = true;
    ViewState pane_views[3];
    GlTexture b_tex;
    uint32_t b_w = 0, b_h = 0;
    uint64_t b_serial = ~0ull; // debugger change_serial the B image and metrics are for
    CompareWith b_with = CompareWith::Step;
    int b_for_step = -1;
    px::ImageDiff metrics;
    std::string b_error;

    // Pixel history (of `pixel`) and go to.
    std::optional<std::pair<uint32_t, uint32_t>> pixel;
    char goto_buf[128] = {};
    bool focus_goto = false;
    std::string goto_text; // what the last go to found, or why it failed
    bool goto_ok = false;
    uint32_t goto_count = 0; // go-tos carried out: tests wait for it to grow, not for `ok` (already true)
    uint64_t shown_divergence = 0; // step of the divergence already brought into view

    // Weight statistics (of the inspector's selected matrix).
    bool stats_auto = true;
    double stats_lo = 0, stats_hi = 255;
    int stats_bins = 32;
    std::optional<uint32_t> stats_row; // the matrix the range was set for
    uint64_t stats_serial = ~0ull;     // debugger change_serial the values are for
    px::DType stats_type = px::DType::U8;
    std::vector<double> stats_values;
    px::ValueStats stats;
    px::Histogram hist;
};

// Draws the windows (once a frame, after the other panels).
void draw_model_panels(App& app);
// The CPU | GPU | difference panes (panels.cpp): pane i's view, and the link toggle.
ViewState& compare_pane_view(App& app, int i);
void compare_link_checkbox(App& app);
// Entries for the Windows and Run menus.
void model_window_menu(App& app);
void model_run_menu(App& app);
// The Actions of keys.cpp's table that belong to these windows.
void run_model_action(App& app, Action a);
// Zoom and pan so that `r` fills most of the canvas (a single pixel: big enough for its label).
void frame_rect(ViewState& vs, px::Rect r);
// Commands also bound to keys.
void go_to(App& app, const std::string& text);
void reverse_continue_cmd(App& app);
// The windows' state for --state-file (pixel history, A/B metrics, divergence, reverse, stats).
nlohmann::json model_state_json(const App& app);

} // namespace pxdbg
