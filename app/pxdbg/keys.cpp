// keys.cpp — the one key table: handle_keys dispatches from it, the F1 help lists it and the
// menus show its shortcut text, so the three never disagree. Actions run through run_action,
// which changes the Debugger only through its command functions.
#include "app.h"

#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>
#include <imgui.h>

#include <iterator>

namespace pxdbg {
namespace {

constexpr int kCtrl = GLFW_MOD_CONTROL, kShift = GLFW_MOD_SHIFT;

const KeyBinding kKeys[] = {
    {GLFW_KEY_F10, 0, Action::Step, "F10", "step one instruction"},
    {GLFW_KEY_F10, kShift, Action::StepBack, "Shift+F10", "step back (history of changed regions)"},
    {GLFW_KEY_F5, 0, Action::Continue, "F5",
     "continue until HALT, trap, breakpoint, watched write or run-to target"},
    {GLFW_KEY_F6, 0, Action::Pause, "F6", "pause a running program"},
    {GLFW_KEY_ESCAPE, 0, Action::Pause, "Esc", "pause a running program"},
    {GLFW_KEY_R, kCtrl, Action::Reset, "Ctrl+R", "reset to the image as loaded"},
    {GLFW_KEY_F9, 0, Action::ToggleBreakpoint, "F9",
     "toggle a breakpoint on the selected line (else the PC)"},
    {GLFW_KEY_F10, kCtrl, Action::RunToCursor, "Ctrl+F10", "run to the selected disassembly line"},
    {GLFW_KEY_F, 0, Action::Fit, "F", "fit the program to the view"},
    {GLFW_KEY_1, 0, Action::OneToOne, "1", "zoom 1:1"},
    {GLFW_KEY_R, 0, Action::ToggleRed, "R", "toggle the red channel"},
    {GLFW_KEY_G, 0, Action::ToggleGreen, "G", "toggle the green channel"},
    {GLFW_KEY_B, 0, Action::ToggleBlue, "B", "toggle the blue channel"},
    {GLFW_KEY_A, 0, Action::ToggleAlpha, "A", "toggle the alpha channel"},
    {GLFW_KEY_D, 0, Action::ToggleData, "D", "data mode: values through the colormap, range per matrix"},
    {GLFW_KEY_H, 0, Action::ToggleHeat, "H", "heat map: changed since start"},
    {GLFW_KEY_L, 0, Action::ToggleLabels, "L", "cell labels (annotations)"},
    {GLFW_KEY_C, 0, Action::ToggleCompare, "C", "CPU | GPU | difference layout"},
    {GLFW_KEY_O, kCtrl, Action::Open, "Ctrl+O", "open a program"},
    {GLFW_KEY_S, kCtrl, Action::Save, "Ctrl+S", "save the current image as a new .pxi"},
    {GLFW_KEY_E, kCtrl, Action::ExportView, "Ctrl+E", "export the program view as PNG"},
    {GLFW_KEY_M, kCtrl, Action::ExportMatrix, "Ctrl+M", "export the inspected matrix as PNG (its pixels)"},
    {GLFW_KEY_F12, 0, Action::Screenshot, "F12", "screenshot of the window (PNG)"},
    {GLFW_KEY_S, kCtrl | kShift, Action::WriteState, "Ctrl+Shift+S", "write the state file (--state-file)"},
    {GLFW_KEY_F1, 0, Action::Help, "F1", "this help"},
    {GLFW_KEY_F5, kShift, Action::ReverseContinue, "Shift+F5",
     "reverse-continue: back to the previous breakpoint or watched write"},
    {GLFW_KEY_F5, kCtrl | kShift, Action::ReverseToPixelChange, "Ctrl+Shift+F5",
     "back to the step that last changed the pixel in Pixel history"},
    {GLFW_KEY_G, kCtrl, Action::GoTo, "Ctrl+G", "go to x, y / row N / matrix / name[m, n]"},
    {GLFW_KEY_W, 0, Action::AbCompare, "W", "A/B compare window (CPU now vs GPU or an earlier step)"},
    {GLFW_KEY_M, 0, Action::AbMode, "M", "A/B mode: wipe, flicker, difference"},
    {GLFW_KEY_V, 0, Action::AbSource, "V", "A/B: compare with the GPU or with an earlier step"},
    {GLFW_KEY_T, 0, Action::WeightStats, "T", "weight statistics of the selected matrix"},
    {GLFW_KEY_K, 0, Action::TogglePaneLink, "K",
     "CPU | GPU | difference: unlink the panes / lock them again"},
    {GLFW_KEY_N, 0, Action::NextToken, "N", "GPT program: step until the next token is appended"},
    {GLFW_KEY_N, kShift, Action::PrevToken, "Shift+N", "GPT program: step back over the last token"},
    {GLFW_KEY_P, kCtrl, Action::FocusPrompt, "Ctrl+P", "GPT program: type a new prompt (Enter sets it)"},
    {GLFW_KEY_Z, kCtrl, Action::UndoPrompt, "Ctrl+Z", "GPT program: undo the last prompt set"},
};

bool ready(const Debugger& d) {
    return d.cpu.image.width > 0 && d.cpu.status == px::VmStatus::Ready && !d.running;
}

} // namespace

std::span<const KeyBinding> key_table() {
    return kKeys;
}

const char* shortcut_text(Action a) {
    for (const KeyBinding& k : kKeys)
        if (k.action == a) return k.keys;
    return nullptr;
}

bool action_enabled(const App& app, Action a) {
    const Debugger& d = app.dbg;
    switch (a) {
    case Action::Step: return ready(d);
    case Action::StepBack: return !d.history.empty() && !d.running;
    case Action::Continue: return ready(d);
    case Action::Pause: return d.running;
    case Action::Reset: return d.cpu.image.width > 0;
    case Action::ToggleBreakpoint: return d.cpu.image.width > 0;
    case Action::RunToCursor: return ready(d) && app.cursor_pc.has_value();
    case Action::Save: return d.cpu.image.width > 0;
    case Action::ReverseContinue: return !d.history.empty() && !d.running;
    case Action::ReverseToPixelChange: return !d.history.empty() && !d.running && app.model.pixel.has_value();
    case Action::ExportView: return d.cpu.image.width > 0;
    case Action::ExportMatrix: return d.selected_row.has_value() && !app.after.stored.empty();
    default: return true;
    }
}

void run_action(App& app, Action a) {
    Debugger& d = app.dbg;
    ViewState& v = app.view;
    if (!action_enabled(app, a)) {
        if (a == Action::StepBack && !d.running) set_message(app, "no history to step back through");
        return;
    }
    switch (a) {
    case Action::Step:
        step_once(d);
        app.scroll_to_pc = true;
        break;
    case Action::StepBack:
        step_back(d);
        app.scroll_to_pc = true;
        break;
    case Action::Continue: start_continue(d); break;
    case Action::Pause: pause(d); break;
    case Action::Reset: reset(d); break;
    case Action::ToggleBreakpoint: toggle_breakpoint(d, app.cursor_pc.value_or(d.cpu.pc)); break;
    case Action::RunToCursor: run_to(d, *app.cursor_pc); break;
    case Action::Fit: v.fit_pending = true; break;
    case Action::OneToOne: v.one_to_one_pending = true; break;
    case Action::ToggleRed: v.channels[0] = !v.channels[0]; break;
    case Action::ToggleGreen: v.channels[1] = !v.channels[1]; break;
    case Action::ToggleBlue: v.channels[2] = !v.channels[2]; break;
    case Action::ToggleAlpha: v.channels[3] = !v.channels[3]; break;
    case Action::ToggleData: v.data_mode = !v.data_mode; break;
    case Action::ToggleHeat: v.heat = !v.heat; break;
    case Action::ToggleLabels: v.annotations = !v.annotations; break;
    case Action::ToggleCompare:
        app.layout = app.layout == Layout::Compare ? Layout::Single : Layout::Compare;
        break;
    case Action::Open: app.want_open = true; break;
    case Action::Save: app.want_save = true; break;
    case Action::ExportView: app.want_export_view = true; break;
    case Action::ExportMatrix: app.want_export_matrix = true; break;
    case Action::Screenshot: app.screenshot_requested = true; break;
    case Action::WriteState: app.state_requested = true; break;
    case Action::Help: app.show_help = !app.show_help; break;
    case Action::ReverseContinue:
    case Action::ReverseToPixelChange:
    case Action::GoTo:
    case Action::AbCompare:
    case Action::AbMode:
    case Action::AbSource:
    case Action::WeightStats:
    case Action::TogglePaneLink: run_model_action(app, a); break;
    case Action::NextToken:
    case Action::PrevToken:
    case Action::FocusPrompt:
    case Action::UndoPrompt: run_gpt_action(app, a); break;
    }
}

void handle_keys(App& app) {
    std::vector<App::KeyPress> presses;
    presses.swap(app.key_presses);
    // Typing goes to the text field; a modal dialog owns the keyboard too. WantTextInput is the
    // previous frame's: a field closed then (a dialog's Escape or Enter) still claims it for one
    // frame, and a shortcut pressed right after (Ctrl+O after Escape) was dropped. A field that
    // holds the keyboard is also the active item; the dialogs release theirs when they close.
    if ((ImGui::GetIO().WantTextInput && ImGui::IsAnyItemActive()) || !app.open_dialog.empty()) return;
    for (const App::KeyPress& p : presses) {
        const int mods = p.mods & (GLFW_MOD_CONTROL | GLFW_MOD_SHIFT | GLFW_MOD_ALT);
        for (const KeyBinding& k : kKeys)
            if (k.key == p.key && k.mods == mods) {
                run_action(app, k.action);
                break;
            }
    }
}

} // namespace pxdbg
