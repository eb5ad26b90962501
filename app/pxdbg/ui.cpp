// ui.cpp — pxdbg's panels: menus, program views, controls, disassembly, regions, matrix
// inspector, help and status bar. Debugger state changes only through debugger.h; pixel
// meanings come from engine/inspect.h and the opcode table.
#include "app.h"

#include "asm.h"
#include "inspect.h"
#include "png_io.h"
#include "quant.h"

#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>
#include <imgui_internal.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>

namespace pxdbg {
namespace fs = std::filesystem;

namespace {

const char* kShortcuts[][2] = {
    {"F10", "step one instruction"},
    {"Shift+F10", "step back (history of changed regions)"},
    {"F5", "continue until HALT, trap or breakpoint"},
    {"F6 / Esc", "pause a running program"},
    {"Ctrl+R", "reset to the image as loaded"},
    {"F9", "toggle a breakpoint on the selected line (else the PC)"},
    {"Ctrl+F10", "run to the selected disassembly line"},
    {"F", "fit the program to the view"},
    {"1", "zoom 1:1"},
    {"Wheel / drag", "zoom about the cursor / pan"},
    {"R G B A", "toggle a channel"},
    {"D", "data mode: R through the colormap"},
    {"H", "heat map: changed since start"},
    {"L", "cell labels (annotations)"},
    {"C", "CPU | GPU | difference layout"},
    {"Ctrl+O", "open a program"},
    {"Ctrl+S", "save the current image as a new .pxi"},
    {"F12", "screenshot of the window (PNG)"},
    {"Ctrl+Shift+S", "write the state file (--state-file)"},
    {"F1", "this help"},
};

std::string shape_text(px::MatrixHeader h) {
    return std::to_string(h.rows) + "x" + std::to_string(h.cols);
}

const char* status_text(const Debugger& d) {
    if (d.running) return "running";
    switch (d.cpu.status) {
    case px::VmStatus::Ready: return "ready";
    case px::VmStatus::Halted: return "halted";
    case px::VmStatus::Trapped: return "trapped";
    }
    return "?";
}

void add_recent(App& app, const std::string& path) {
    std::error_code ec;
    std::string abs = fs::absolute(path, ec).string();
    if (ec) abs = path;
    app.recent.erase(std::remove(app.recent.begin(), app.recent.end(), abs), app.recent.end());
    app.recent.insert(app.recent.begin(), abs);
    if (app.recent.size() > 10) app.recent.resize(10);
    ImGui::MarkIniSettingsDirty();
}

void start_continue(App& app) {
    if (app.dbg.cpu.status != px::VmStatus::Ready) return;
    app.dbg.running = true;
    app.dbg.run_started_steps = app.dbg.cpu.steps;
}

void do_step(App& app) {
    if (app.dbg.running || app.dbg.cpu.status != px::VmStatus::Ready) return;
    step_once(app.dbg);
    app.scroll_to_pc = true;
}

void do_back(App& app) {
    if (!step_back(app.dbg)) set_message(app, "no history to step back through");
    app.scroll_to_pc = true;
}

// ---------------------------------------------------------------------------------------------
// Menus and dialogs

void menu_bar(App& app) {
    if (!ImGui::BeginMainMenuBar()) return;
    Debugger& d = app.dbg;
    if (ImGui::BeginMenu("File")) {
        if (ImGui::MenuItem("Open...", "Ctrl+O")) app.want_open = true;
        if (ImGui::BeginMenu("Open recent", !app.recent.empty())) {
            for (const std::string& r : app.recent)
                if (ImGui::MenuItem(r.c_str())) {
                    std::string p = r; // open_program reorders the list
                    open_program(app, p);
                    break;
                }
            ImGui::EndMenu();
        }
        if (ImGui::MenuItem("Reload", nullptr, false, !d.path.empty())) open_program(app, d.path);
        if (ImGui::MenuItem("Save image as...", "Ctrl+S", false, d.cpu.image.width > 0)) app.want_save = true;
        if (ImGui::MenuItem("Export selected matrix as PNG...", nullptr, false, d.selected_row.has_value()))
            app.want_export_matrix = true;
        if (ImGui::MenuItem("Export view as PNG...")) app.want_export_view = true;
        if (ImGui::MenuItem("Screenshot", "F12")) app.screenshot_requested = true;
        ImGui::Separator();
        if (ImGui::MenuItem("Quit")) glfwSetWindowShouldClose(app.window, 1);
        ImGui::EndMenu();
    }
    if (ImGui::BeginMenu("Run")) {
        if (ImGui::MenuItem("Step", "F10")) do_step(app);
        if (ImGui::MenuItem("Step back", "Shift+F10", false, !d.history.empty())) do_back(app);
        if (ImGui::MenuItem("Continue", "F5")) start_continue(app);
        if (ImGui::MenuItem("Pause", "F6", false, d.running)) d.running = false;
        if (ImGui::MenuItem("Reset", "Ctrl+R")) reset(d);
        if (ImGui::MenuItem("Run to cursor", "Ctrl+F10", false, app.cursor_pc.has_value())) {
            d.run_to = app.cursor_pc;
            start_continue(app);
        }
        if (ImGui::MenuItem("Toggle breakpoint", "F9"))
            toggle_breakpoint(d, app.cursor_pc.value_or(d.cpu.pc));
        if (ImGui::MenuItem("Clear breakpoints", nullptr, false, !d.breakpoints.empty()))
            d.breakpoints.clear();
        ImGui::EndMenu();
    }
    if (ImGui::BeginMenu("View")) {
        ViewState& v = app.view;
        if (ImGui::MenuItem("Fit", "F")) v.fit_pending = true;
        if (ImGui::MenuItem("1:1", "1")) v.one_to_one_pending = true;
        ImGui::MenuItem("Pixel grid", nullptr, &v.grid);
        ImGui::MenuItem("Cell labels", "L", &v.annotations);
        ImGui::MenuItem("Regions", nullptr, &v.regions);
        ImGui::MenuItem("Data mode (colormap)", "D", &v.data_mode);
        ImGui::MenuItem("Changed since start", "H", &v.heat);
        bool cmp = app.layout == Layout::Compare;
        if (ImGui::MenuItem("CPU | GPU | difference", "C", &cmp))
            app.layout = cmp ? Layout::Compare : Layout::Single;
        ImGui::EndMenu();
    }
    if (ImGui::BeginMenu("Windows")) {
        ImGui::MenuItem("Controls", nullptr, &app.show_controls);
        ImGui::MenuItem("Disassembly", nullptr, &app.show_disassembly);
        ImGui::MenuItem("Regions", nullptr, &app.show_regions);
        ImGui::MenuItem("Matrix inspector", nullptr, &app.show_inspector);
        ImGui::EndMenu();
    }
    if (ImGui::BeginMenu("Help")) {
        ImGui::MenuItem("Keyboard shortcuts", "F1", &app.show_help);
        ImGui::EndMenu();
    }
    ImGui::EndMainMenuBar();
}

// A small file picker: a directory listing with a path field (ImGui has no native dialog).
bool file_dialog(App& app, const char* title, bool& open, bool saving) {
    bool accepted = false;
    if (open) {
        ImGui::OpenPopup(title);
        if (app.dialog_dir.empty()) {
            std::error_code ec;
            app.dialog_dir = app.dbg.path.empty() ? fs::current_path(ec).string()
                                                  : fs::absolute(app.dbg.path, ec).parent_path().string();
        }
        open = false;
    }
    ImGui::SetNextWindowSize(ImVec2(640, 440), ImGuiCond_Appearing);
    if (!ImGui::BeginPopupModal(title, nullptr)) return false;
    ImGui::TextUnformatted(app.dialog_dir.c_str());
    ImGui::BeginChild("files", ImVec2(0, -ImGui::GetFrameHeightWithSpacing() * 2), true);
    std::error_code ec;
    if (ImGui::Selectable("..")) app.dialog_dir = fs::path(app.dialog_dir).parent_path().string();
    std::vector<fs::directory_entry> entries;
    for (const auto& e :
         fs::directory_iterator(app.dialog_dir, fs::directory_options::skip_permission_denied, ec))
        entries.push_back(e);
    // The error_code overloads: a dangling link or an unreadable entry must not throw.
    auto is_dir = [](const fs::directory_entry& e) {
        std::error_code e2;
        return e.is_directory(e2);
    };
    std::sort(entries.begin(), entries.end(), [&](const auto& a, const auto& b) {
        if (is_dir(a) != is_dir(b)) return is_dir(a);
        return a.path().filename() < b.path().filename();
    });
    for (const auto& e : entries) {
        const std::string name = e.path().filename().string();
        if (is_dir(e)) {
            if (ImGui::Selectable((name + "/").c_str())) app.dialog_dir = e.path().string();
            continue;
        }
        const std::string ext = e.path().extension().string();
        if (ext != ".pxi" && ext != ".png") continue;
        if (ImGui::Selectable(name.c_str(), false, ImGuiSelectableFlags_AllowDoubleClick)) {
            std::snprintf(app.path_buf, sizeof app.path_buf, "%s", e.path().string().c_str());
            if (ImGui::IsMouseDoubleClicked(0) && !saving) accepted = true;
        }
    }
    ImGui::EndChild();
    ImGui::SetNextItemWidth(-1);
    if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere(); // type a name straight away
    if (ImGui::InputText("##path", app.path_buf, sizeof app.path_buf, ImGuiInputTextFlags_EnterReturnsTrue))
        accepted = true;
    if (ImGui::Button(saving ? "Save" : "Open")) accepted = true;
    ImGui::SameLine();
    if (ImGui::Button("Cancel")) ImGui::CloseCurrentPopup();
    if (accepted) {
        // A relative name is relative to the directory shown.
        fs::path p(app.path_buf);
        if (p.is_relative())
            std::snprintf(app.path_buf, sizeof app.path_buf, "%s",
                          (fs::path(app.dialog_dir) / p).string().c_str());
        ImGui::CloseCurrentPopup();
    }
    ImGui::EndPopup();
    return accepted;
}

void dialogs(App& app) {
    Debugger& d = app.dbg;
    if (file_dialog(app, "Open program", app.want_open, false)) open_program(app, app.path_buf);
    bool save_pending = app.want_save;
    if (save_pending && !d.path.empty()) {
        // Suggest a new name next to the input; never the input itself.
        fs::path p(d.path);
        std::snprintf(app.path_buf, sizeof app.path_buf, "%s",
                      (p.parent_path() / (p.stem().string() + "-step" + std::to_string(d.cpu.steps) + ".pxi"))
                          .string()
                          .c_str());
    }
    if (file_dialog(app, "Save image as", app.want_save, true)) {
        std::error_code ec;
        const std::string target = app.path_buf;
        if (!d.path.empty() && fs::equivalent(target, d.path, ec)) {
            set_message(app, "refused: saving over the input " + d.path + " (choose a new name)");
        } else if (auto st = px::save_png(d.cpu.image, target); !st) {
            set_message(app, "save failed: " + st.error().message);
        } else {
            set_message(app, "saved " + target + " (debug information kept)");
        }
    }
    if (app.want_export_matrix && d.selected_row && !d.path.empty()) {
        fs::path p(d.path);
        const px::Region* r = selected_region(d);
        std::snprintf(app.path_buf, sizeof app.path_buf, "%s",
                      (p.parent_path() / (p.stem().string() + "-" + (r ? r->name : "matrix") + ".png"))
                          .string()
                          .c_str());
    }
    if (file_dialog(app, "Export matrix as PNG", app.want_export_matrix, true)) {
        const MatrixStats& s = app.after;
        px::Image img = px::make_image(s.cols, s.rows);
        for (size_t i = 0; i < s.values.size(); ++i) {
            const uint8_t v = s.values[i];
            img.set_pixel(uint32_t(i % s.cols), uint32_t(i / s.cols), {v, v, v, 255});
        }
        auto st = px::save_png(img, app.path_buf);
        set_message(app,
                    st ? "exported " + std::string(app.path_buf) : "export failed: " + st.error().message);
    }
    if (app.want_export_view) {
        fs::path p(d.path.empty() ? "pxdbg.pxi" : d.path);
        std::snprintf(app.path_buf, sizeof app.path_buf, "%s",
                      (p.parent_path() / (p.stem().string() + "-view.png")).string().c_str());
    }
    if (file_dialog(app, "Export view as PNG", app.want_export_view, true))
        app.export_view_path = app.path_buf;
    if (app.want_reload_prompt) {
        ImGui::OpenPopup("File changed on disk");
        app.want_reload_prompt = false;
    }
    if (ImGui::BeginPopupModal("File changed on disk", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
        ImGui::Text("%s changed on disk.", d.path.c_str());
        ImGui::Text("Stepping has changed the image (%llu steps). Reload and lose them?",
                    static_cast<unsigned long long>(d.cpu.steps));
        if (ImGui::Button("Reload")) {
            open_program(app, d.path);
            ImGui::CloseCurrentPopup();
        }
        ImGui::SameLine();
        if (ImGui::Button("Keep my session")) {
            d.file_mtime = 0; // do not ask again for this change
            ImGui::CloseCurrentPopup();
        }
        ImGui::EndPopup();
    }
}

// ---------------------------------------------------------------------------------------------
// Program view window

void pixel_tooltip(App& app, uint32_t x, uint32_t y) {
    Debugger& d = app.dbg;
    const px::PixelMeaning m = px::describe_pixel(d.cpu.image, d.regions, d.listing, x, y);
    ImGui::BeginTooltip();
    ImGui::TextUnformatted(m.text.c_str());
    if (const GLuint gpu = gpu_texture(d)) {
        uint8_t p[4] = {};
        glGetTextureSubImage(gpu, 0, GLint(x), GLint(y), 0, 1, 1, 1, GL_RGBA_INTEGER, GL_UNSIGNED_BYTE, 4, p);
        const px::Rgba c = d.cpu.image.pixel(x, y);
        const bool same = std::equal(c.begin(), c.end(), p);
        ImGui::TextColored(same ? ImVec4(0.5f, 1, 0.5f, 1) : ImVec4(1, 0.4f, 0.4f, 1),
                           "GPU: (%u, %u, %u, %u) %s", p[0], p[1], p[2], p[3],
                           same ? "same as CPU" : "DIFFERS from CPU");
    }
    ImGui::EndTooltip();
}

} // namespace

void auto_range(App& app) {
    const Debugger& d = app.dbg;
    int lo = 255, hi = 0;
    for (const px::Region& r : d.regions)
        if (auto v = px::read_matrix(d.cpu.image, r.row))
            for (uint8_t x : v.value())
                lo = std::min<int>(lo, x), hi = std::max<int>(hi, x);
    if (lo > hi) lo = 0, hi = 255;
    app.view.range_lo = float(lo);
    app.view.range_hi = float(std::max(hi, lo + 1));
}

namespace {

void program_window(App& app, ImVec2 pos, ImVec2 size) {
    Debugger& d = app.dbg;
    ViewState& v = app.view;
    ImGui::SetNextWindowPos(pos, ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(size, ImGuiCond_FirstUseEver);
    ImGui::Begin("Program", nullptr, ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse);
    if (!d.error.empty()) {
        ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1, 0.45f, 0.45f, 1));
        ImGui::TextWrapped("Could not open: %s", d.error.c_str());
        ImGui::PopStyleColor();
        ImGui::SameLine();
        if (ImGui::SmallButton("dismiss")) d.error.clear();
    }
    // Toolbar: channels, data mode and range, overlays, zoom, layout, driver.
    const char* names[4] = {"R", "G", "B", "A"};
    for (int c = 0; c < 4; ++c) {
        ImGui::Checkbox(names[c], &v.channels[c]);
        ImGui::SameLine();
    }
    ImGui::TextDisabled("|");
    ImGui::SameLine();
    ImGui::Checkbox("Data", &v.data_mode);
    if (v.data_mode) {
        ImGui::SameLine();
        ImGui::SetNextItemWidth(150);
        ImGui::DragFloatRange2("##range", &v.range_lo, &v.range_hi, 0.5f, 0, 255, "%.0f", "%.0f");
        ImGui::SameLine();
        if (ImGui::SmallButton("auto")) auto_range(app);
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("range = min..max of every matrix element");
    }
    ImGui::SameLine();
    ImGui::Checkbox("Grid", &v.grid);
    ImGui::SameLine();
    ImGui::Checkbox("Labels", &v.annotations);
    ImGui::SameLine();
    ImGui::Checkbox("Regions", &v.regions);
    ImGui::SameLine();
    ImGui::Checkbox("Changed", &v.heat);
    ImGui::SameLine();
    ImGui::TextDisabled("| %s%.3gx", v.zoom < 1 ? "1/" : "", v.zoom < 1 ? 1 / v.zoom : v.zoom);
    ImGui::SameLine();
    if (ImGui::SmallButton("Fit")) v.fit_pending = true;
    ImGui::SameLine();
    if (ImGui::SmallButton("1:1")) v.one_to_one_pending = true;
    ImGui::SameLine();
    bool gpu_on = d.gpu_enabled;
    if (ImGui::Checkbox("GPU", &gpu_on)) set_gpu_enabled(d, gpu_on);
    if (!d.gpu_error.empty() && ImGui::IsItemHovered()) ImGui::SetTooltip("%s", d.gpu_error.c_str());
    if (gpu_available(d)) {
        ImGui::SameLine();
        int drv = int(d.driver);
        ImGui::SetNextItemWidth(70);
        if (ImGui::Combo("##driver", &drv, "CPU\0GPU\0")) d.driver = Driver(drv);
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("which executor's image the main view shows");
        ImGui::SameLine();
        bool cmp = app.layout == Layout::Compare;
        if (ImGui::Checkbox("Compare", &cmp)) app.layout = cmp ? Layout::Compare : Layout::Single;
    }

    const ViewOverlay overlay{app.hover_pc,
                              app.written_time < 0
                                  ? 0.0f
                                  : float(std::max(0.0, 1.0 - (ImGui::GetTime() - app.written_time) / 1.5))};
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const ImVec2 cpos = ImGui::GetCursorScreenPos();
    app.view_rect = ImVec4(cpos.x, cpos.y, cpos.x + avail.x, cpos.y + avail.y);
    ViewInteraction hit;
    if (app.layout == Layout::Compare && gpu_available(d)) {
        const float w = (avail.x - 2 * ImGui::GetStyle().ItemSpacing.x) / 3;
        const char* titles[3] = {"CPU (reference)", "GPU (OpenGL compute)", "difference"};
        const ViewSource src[3] = {ViewSource::Cpu, ViewSource::Gpu, ViewSource::Difference};
        for (int i = 0; i < 3; ++i) {
            if (i) ImGui::SameLine();
            ImGui::BeginGroup();
            if (i == 2) {
                const Parity& p = d.parity;
                ImGui::TextColored(p.identical ? ImVec4(0.4f, 1, 0.4f, 1) : ImVec4(1, 0.4f, 0.4f, 1),
                                   "%s: %s", titles[i], p.checked ? p.note.c_str() : "not checked");
            } else {
                ImGui::TextUnformatted(titles[i]);
            }
            ViewInteraction h =
                draw_program_view(titles[i], ImVec2(w, avail.y - ImGui::GetTextLineHeightWithSpacing()), v,
                                  app.renderer, d, src[i], overlay);
            if (h.hovered) hit = h;
            ImGui::EndGroup();
        }
    } else {
        hit = draw_program_view(
            "##view", avail, v, app.renderer, d,
            d.driver == Driver::Gpu && gpu_available(d) ? ViewSource::Gpu : ViewSource::Cpu, overlay);
    }
    if (hit.hover_pixel) {
        const auto [x, y] = *hit.hover_pixel;
        pixel_tooltip(app, x, y);
        if (hit.clicked) {
            if (const px::Region* r = px::region_at(d.regions, d.cpu.image, x, y)) {
                select_matrix(d, r->row);
                app.show_inspector = true;
            } else if (y == 0) {
                app.cursor_pc = d.listing.instructions[d.listing.owner[x]].ins.pc;
                app.scroll_to_pc = true;
            }
        }
    }
    ImGui::End();
}

// ---------------------------------------------------------------------------------------------
// Controls, disassembly, regions

void controls_window(App& app, ImVec2 pos, ImVec2 size) {
    Debugger& d = app.dbg;
    ImGui::SetNextWindowPos(pos, ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(size, ImGuiCond_FirstUseEver);
    if (!ImGui::Begin("Controls", &app.show_controls)) {
        ImGui::End();
        return;
    }
    const bool ready = d.cpu.status == px::VmStatus::Ready;
    ImGui::BeginDisabled(!ready || d.running);
    if (ImGui::Button("Step F10")) do_step(app);
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::BeginDisabled(d.history.empty() || d.running);
    if (ImGui::Button("Back Shift+F10")) do_back(app);
    ImGui::EndDisabled();
    ImGui::SameLine();
    if (d.running) {
        if (ImGui::Button("Pause F6")) d.running = false;
    } else {
        ImGui::BeginDisabled(!ready);
        if (ImGui::Button("Continue F5")) start_continue(app);
        ImGui::EndDisabled();
    }
    ImGui::SameLine();
    if (ImGui::Button("Reset")) reset(d);

    ImGui::Separator();
    const ImVec4 col = d.cpu.status == px::VmStatus::Trapped  ? ImVec4(1, 0.4f, 0.4f, 1)
                       : d.cpu.status == px::VmStatus::Halted ? ImVec4(0.5f, 0.8f, 1, 1)
                                                              : ImVec4(0.6f, 1, 0.6f, 1);
    ImGui::TextColored(col, "%s", status_text(d));
    ImGui::SameLine();
    ImGui::Text("  pc %u   steps %llu   history %zu (%.1f MiB)", d.cpu.pc,
                static_cast<unsigned long long>(d.cpu.steps), d.history.size(), d.history_bytes / 1048576.0);
    if (d.last_step_ms >= 0) {
        ImGui::Text("last instruction: %.3f ms CPU", d.last_step_ms);
        if (d.last_gpu_ms >= 0) {
            ImGui::SameLine();
            ImGui::Text(", %.3f ms GPU", d.last_gpu_ms);
        }
    }
    if (d.cpu.status == px::VmStatus::Trapped)
        ImGui::TextWrapped("%s", px::describe_trap(d.cpu.trap).c_str());
    if (d.running) {
        const float frac = d.cpu.image.width ? float(d.cpu.pc) / d.cpu.image.width : 0;
        char buf[96];
        std::snprintf(buf, sizeof buf, "running: pc %u / %u, %llu steps", d.cpu.pc, d.cpu.image.width,
                      static_cast<unsigned long long>(d.cpu.steps - d.run_started_steps));
        ImGui::ProgressBar(frac, ImVec2(-1, 0), buf);
    }
    if (d.gpu_enabled && gpu_available(d)) {
        const Parity& p = d.parity;
        ImGui::TextColored(p.identical ? ImVec4(0.4f, 1, 0.4f, 1) : ImVec4(1, 0.35f, 0.35f, 1),
                           "CPU/GPU parity: %s", p.checked ? p.note.c_str() : "not checked yet");
        ImGui::SameLine();
        if (ImGui::SmallButton("full check")) d.parity = full_parity(d);
    } else if (!d.gpu_error.empty()) {
        ImGui::TextDisabled("GPU executor: %s", d.gpu_error.c_str());
    }
    ImGui::End();
}

void disassembly_window(App& app, ImVec2 pos, ImVec2 size) {
    Debugger& d = app.dbg;
    ImGui::SetNextWindowPos(pos, ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(size, ImGuiCond_FirstUseEver);
    app.hover_pc.reset();
    if (!ImGui::Begin("Disassembly", &app.show_disassembly)) {
        ImGui::End();
        return;
    }
    const px::Row0Listing& L = d.listing;
    // Row 0 usually ends in zero pixels (each a HALT): list up to the last non-zero one and fold the rest.
    size_t shown = 0;
    for (size_t i = 0; i < L.instructions.size(); ++i) {
        const px::Instruction& ins = L.instructions[i].ins;
        const uint8_t* p = d.cpu.image.at(ins.pc, 0);
        if (p[0] | p[1] | p[2] | p[3]) shown = i + 1;
    }
    shown = std::min(L.instructions.size(), std::max<size_t>(shown + 1, size_t(L.index_at_pc(d.cpu.pc) + 1)));
    const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY | ImGuiTableFlags_ScrollX |
                                  ImGuiTableFlags_SizingFixedFit;
    if (ImGui::BeginTable("dis", 4, flags)) {
        ImGui::TableSetupScrollFreeze(0, 1);
        ImGui::TableSetupColumn("bp", ImGuiTableColumnFlags_WidthFixed, 22);
        ImGui::TableSetupColumn("pc", ImGuiTableColumnFlags_WidthFixed, 40);
        ImGui::TableSetupColumn("instruction", ImGuiTableColumnFlags_WidthFixed, 270);
        ImGui::TableSetupColumn("operands", ImGuiTableColumnFlags_WidthFixed, 900);
        ImGui::TableHeadersRow();
        ImGuiListClipper clipper;
        const int rows = int(shown) + (shown < L.instructions.size() ? 1 : 0);
        clipper.Begin(rows);
        const int64_t pc_index = L.index_at_pc(d.cpu.pc);
        if (app.scroll_to_pc && pc_index >= 0) {
            clipper.ForceDisplayRangeByIndices(int(pc_index), int(pc_index) + 1);
        }
        while (clipper.Step())
            for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
                ImGui::TableNextRow();
                if (size_t(i) >= shown) {
                    ImGui::TableSetColumnIndex(3);
                    ImGui::TextDisabled("... %zu more zero pixels (HALT) to x=%u",
                                        L.instructions.size() - shown, d.cpu.image.width - 1);
                    continue;
                }
                const px::Decoded& dec = L.instructions[size_t(i)];
                const px::Instruction& ins = dec.ins;
                const bool at_pc = ins.pc == d.cpu.pc && d.cpu.status != px::VmStatus::Halted;
                const bool bp = d.breakpoints.count(ins.pc) > 0;
                ImGui::PushID(i);
                ImGui::TableSetColumnIndex(0);
                // Gutter: click to toggle a breakpoint.
                const ImVec2 c = ImGui::GetCursorScreenPos();
                if (ImGui::InvisibleButton("bp", ImVec2(18, ImGui::GetTextLineHeight())))
                    toggle_breakpoint(d, ins.pc);
                if (bp)
                    ImGui::GetWindowDrawList()->AddCircleFilled(
                        ImVec2(c.x + 8, c.y + ImGui::GetTextLineHeight() / 2), 6, IM_COL32(230, 40, 40, 255));
                if (at_pc)
                    ImGui::GetWindowDrawList()->AddTriangleFilled(
                        ImVec2(c.x + 6, c.y + 2), ImVec2(c.x + 6, c.y + ImGui::GetTextLineHeight() - 2),
                        ImVec2(c.x + 16, c.y + ImGui::GetTextLineHeight() / 2), IM_COL32(255, 230, 0, 255));
                ImGui::TableSetColumnIndex(1);
                char label[32];
                std::snprintf(label, sizeof label, "%u", ins.pc);
                const bool selected = app.cursor_pc && *app.cursor_pc == ins.pc;
                if (ImGui::Selectable(label, selected || at_pc, ImGuiSelectableFlags_SpanAllColumns))
                    app.cursor_pc = ins.pc;
                if (ImGui::IsItemHovered()) app.hover_pc = ins.pc;
                if (ImGui::BeginPopupContextItem()) {
                    if (ImGui::MenuItem("Run to here")) {
                        d.run_to = ins.pc;
                        start_continue(app);
                    }
                    if (ImGui::MenuItem("Toggle breakpoint")) toggle_breakpoint(d, ins.pc);
                    ImGui::EndPopup();
                }
                if (at_pc && app.scroll_to_pc) {
                    ImGui::SetScrollHereY(0.3f);
                    app.scroll_to_pc = false;
                }
                ImGui::TableSetColumnIndex(2);
                const std::string text = px::disassemble_instruction(ins, d.regions);
                if (!ins.info || dec.truncated)
                    ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "%s%s", text.c_str(),
                                       dec.truncated ? " (truncated)" : "");
                else
                    ImGui::TextUnformatted(text.c_str());
                ImGui::TableSetColumnIndex(3);
                if (ins.info) {
                    std::string ops;
                    for (int k = 0; k < 3; ++k) {
                        if (ins.info->operands[k] == px::OperandKind::None) continue;
                        if (!ops.empty()) ops += "  ";
                        ops += std::string(1, char('a' + k)) + ": " +
                               px::operand_text(ins, k, d.regions, d.cpu.image);
                    }
                    if (const std::string q = px::describe_params(ins); !q.empty()) ops += "  [" + q + "]";
                    ImGui::TextDisabled("%s", ops.c_str());
                }
                ImGui::PopID();
            }
        ImGui::EndTable();
    }
    ImGui::End();
}

void regions_window(App& app, ImVec2 pos, ImVec2 size) {
    Debugger& d = app.dbg;
    ImGui::SetNextWindowPos(pos, ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(size, ImGuiCond_FirstUseEver);
    if (!ImGui::Begin("Regions", &app.show_regions)) {
        ImGui::End();
        return;
    }
    if (ImGui::BeginTable("regions", 5, ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY)) {
        ImGui::TableSetupColumn("name");
        ImGui::TableSetupColumn("row");
        ImGui::TableSetupColumn("shape");
        ImGui::TableSetupColumn("quantization");
        ImGui::TableSetupColumn("from");
        ImGui::TableHeadersRow();
        for (const px::Region& r : d.regions) {
            ImGui::TableNextRow();
            ImGui::TableSetColumnIndex(0);
            const bool sel = d.selected_row && *d.selected_row == r.row;
            if (ImGui::Selectable(r.name.c_str(), sel, ImGuiSelectableFlags_SpanAllColumns)) {
                select_matrix(d, r.row);
                app.show_inspector = true;
            }
            ImGui::TableSetColumnIndex(1);
            ImGui::Text("%u", r.row);
            ImGui::TableSetColumnIndex(2);
            ImGui::TextUnformatted(shape_text(px::decode_header(d.cpu.image.pixel(0, r.row))).c_str());
            ImGui::TableSetColumnIndex(3);
            if (r.scale)
                ImGui::Text("scale %.6g, zero %d", *r.scale, r.zero_point.value_or(0));
            else
                ImGui::TextDisabled("-");
            ImGui::TableSetColumnIndex(4);
            ImGui::TextDisabled(r.from_symbols ? "symbols" : "inferred");
        }
        ImGui::EndTable();
    }
    ImGui::End();
}

// ---------------------------------------------------------------------------------------------
// Matrix inspector

void compute_stats(MatrixStats& s, std::vector<uint8_t> values, px::MatrixHeader h) {
    s = {};
    s.cols = h.cols;
    s.rows = h.rows;
    s.values = std::move(values);
    if (s.values.empty()) return;
    s.min = 255;
    double sum = 0;
    for (uint8_t v : s.values) {
        s.min = std::min(s.min, v);
        s.max = std::max(s.max, v);
        sum += v;
        s.histogram[v / 8] += 1;
    }
    s.mean = sum / s.values.size();
}

void refresh_inspector(App& app) {
    Debugger& d = app.dbg;
    if (app.mat_serial == d.change_serial && app.mat_row == d.selected_row) return;
    app.mat_serial = d.change_serial;
    if (app.mat_row != d.selected_row) app.inspector_view.fit_pending = true;
    app.mat_row = d.selected_row;
    app.after = {};
    app.before = {};
    if (!d.selected_row) return;
    auto values = px::read_matrix(d.cpu.image, *d.selected_row);
    if (!values) return;
    GLint max_tex = 0;
    glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max_tex);
    const px::MatrixHeader h = px::decode_header(d.cpu.image.pixel(0, *d.selected_row));
    compute_stats(app.after, std::move(values.value()), h);
    if (h.cols <= uint32_t(max_tex) && h.rows <= uint32_t(max_tex))
        upload_matrix_texture(app.mat_after, h.cols, h.rows, app.after.values);
    else
        app.mat_after.reset();
    if (!d.selected_before.empty()) {
        compute_stats(app.before, d.selected_before, d.selected_before_shape);
        const px::MatrixHeader bh = d.selected_before_shape;
        if (bh.cols <= uint32_t(max_tex) && bh.rows <= uint32_t(max_tex))
            upload_matrix_texture(app.mat_before, bh.cols, bh.rows, app.before.values);
    } else {
        app.mat_before.reset();
    }
    if (app.inspector_auto_range) {
        app.inspector_view.range_lo =
            std::min(app.after.min, app.before.values.empty() ? app.after.min : app.before.min);
        app.inspector_view.range_hi = std::max<float>(
            app.inspector_view.range_lo + 1,
            std::max(app.after.max, app.before.values.empty() ? app.after.max : app.before.max));
    }
}

void inspector_window(App& app, ImVec2 pos, ImVec2 size) {
    Debugger& d = app.dbg;
    ImGui::SetNextWindowPos(pos, ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(size, ImGuiCond_FirstUseEver);
    if (!ImGui::Begin("Matrix inspector", &app.show_inspector)) {
        ImGui::End();
        return;
    }
    refresh_inspector(app);
    const px::Region* reg = selected_region(d);
    ImGui::SetNextItemWidth(220);
    if (ImGui::BeginCombo("matrix", reg ? reg->name.c_str() : "(click a matrix in the view)")) {
        for (const px::Region& r : d.regions)
            if (ImGui::Selectable((r.name + "  row " + std::to_string(r.row)).c_str(), reg == &r))
                select_matrix(d, r.row);
        ImGui::EndCombo();
    }
    if (!reg || app.after.values.empty()) {
        ImGui::TextDisabled("pick a matrix: click it in the program view or choose it above");
        ImGui::End();
        return;
    }
    const MatrixStats& s = app.after;
    ImGui::SameLine();
    ImGui::Text("%ux%u (rows x cols), row %u   min %u  max %u  mean %.2f", s.rows, s.cols, reg->row, s.min,
                s.max, s.mean);
    if (reg->scale) {
        ImGui::SameLine();
        ImGui::Text("  real = %.6g * (q - %d)", *reg->scale, reg->zero_point.value_or(0));
    }
    ImGui::Checkbox("auto range", &app.inspector_auto_range);
    ImGui::SameLine();
    ImGui::SetNextItemWidth(150);
    ImGui::DragFloatRange2("range", &app.inspector_view.range_lo, &app.inspector_view.range_hi, 0.5f, 0, 255,
                           "%.0f", "%.0f");
    ImGui::SameLine();
    if (ImGui::SmallButton("fit")) app.inspector_view.fit_pending = true;
    ImGui::SameLine();
    ImGui::SetNextItemWidth(-1);
    ImGui::PlotHistogram("##hist", s.histogram, 32, 0, "histogram (32 bins of 8)", 0, FLT_MAX, ImVec2(0, 40));

    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const float w = (avail.x - ImGui::GetStyle().ItemSpacing.x) / 2;
    const float h = avail.y - ImGui::GetTextLineHeightWithSpacing();
    MatrixViewResult hit;
    const MatrixStats* hit_stats = nullptr;
    const char* hit_name = "";
    ImGui::BeginGroup();
    ImGui::TextDisabled("before the last step%s", d.history.empty()           ? " (no step yet)"
                                                  : app.before.values.empty() ? ": empty (header 0x0)"
                                                                              : "");
    MatrixViewResult hb = draw_matrix_view("##before", ImVec2(w, h), app.inspector_view, app.renderer,
                                           app.mat_before.get(), app.before.cols, app.before.rows);
    if (hb.hovered) hit = hb, hit_stats = &app.before, hit_name = "before";
    ImGui::EndGroup();
    ImGui::SameLine();
    ImGui::BeginGroup();
    ImGui::TextDisabled("now");
    MatrixViewResult ha = draw_matrix_view("##after", ImVec2(w, h), app.inspector_view, app.renderer,
                                           app.mat_after.get(), s.cols, s.rows);
    if (ha.hovered) hit = ha, hit_stats = &s, hit_name = "now";
    ImGui::EndGroup();
    if (hit.hovered && hit_stats && hit.n < hit_stats->cols) {
        const size_t i = size_t(hit.m) * hit_stats->cols + hit.n;
        if (i < hit_stats->values.size()) {
            const uint8_t q = hit_stats->values[i];
            ImGui::BeginTooltip();
            ImGui::Text("%s[%u, %u] (%s) = %u  (0x%02X)", reg->name.c_str(), hit.m, hit.n, hit_name, q, q);
            if (auto real = px::dequantize(*reg, q)) ImGui::Text("dequantized: %.6g", *real);
            const uint32_t W = d.cpu.image.width;
            ImGui::TextDisabled("pixel (%u, %llu)", px::element_x(i, W),
                                static_cast<unsigned long long>(px::element_y(i, reg->row, W)));
            ImGui::EndTooltip();
        }
    }
    ImGui::End();
}

void help_window(App& app) {
    if (!app.show_help) return;
    ImGui::SetNextWindowSize(ImVec2(460, 0), ImGuiCond_Appearing);
    ImGui::SetNextWindowPos(ImGui::GetMainViewport()->GetCenter(), ImGuiCond_Appearing, ImVec2(0.5f, 0.5f));
    if (ImGui::Begin("Keyboard shortcuts", &app.show_help, ImGuiWindowFlags_AlwaysAutoResize)) {
        if (ImGui::BeginTable("keys", 2, ImGuiTableFlags_RowBg)) {
            for (const auto& k : kShortcuts) {
                ImGui::TableNextRow();
                ImGui::TableSetColumnIndex(0);
                ImGui::TextColored(ImVec4(1, 0.85f, 0.4f, 1), "%s", k[0]);
                ImGui::TableSetColumnIndex(1);
                ImGui::TextUnformatted(k[1]);
            }
            ImGui::EndTable();
        }
    }
    ImGui::End();
}

void status_bar(App& app) {
    const Debugger& d = app.dbg;
    const ImGuiViewport* vp = ImGui::GetMainViewport();
    const float h = ImGui::GetFrameHeight();
    ImGui::SetNextWindowPos(ImVec2(vp->Pos.x, vp->Pos.y + vp->Size.y - h));
    ImGui::SetNextWindowSize(ImVec2(vp->Size.x, h));
    ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(6, 3));
    ImGui::Begin("##status", nullptr,
                 ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings |
                     ImGuiWindowFlags_NoFocusOnAppearing | ImGuiWindowFlags_NoBringToFrontOnFocus);
    const std::string file = d.path.empty() ? std::string("(no file)") : fs::path(d.path).filename().string();
    ImGui::Text("%s | %s | %ux%u | step %llu | pc %u | %s | %s | %.1f ms/frame", app.gl_renderer.c_str(),
                file.c_str(), d.cpu.image.width, d.cpu.image.height,
                static_cast<unsigned long long>(d.cpu.steps), d.cpu.pc, status_text(d),
                d.driver == Driver::Gpu ? "GPU drives" : "CPU drives", app.frame_ms);
    if (!app.message.empty() && ImGui::GetTime() - app.message_time < 6) {
        ImGui::SameLine();
        ImGui::TextColored(ImVec4(1, 0.85f, 0.4f, 1), "| %s", app.message.c_str());
    }
    ImGui::End();
    ImGui::PopStyleVar();
}

// Reload when the file changes on disk; ask first when stepping has changed the image.
void watch_file(App& app) {
    Debugger& d = app.dbg;
    const double now = ImGui::GetTime();
    if (d.path.empty() || now - app.last_mtime_check < 0.5 || d.file_mtime == 0) return;
    app.last_mtime_check = now;
    struct stat st {};
    if (stat(d.path.c_str(), &st) != 0) return;
    const int64_t mt = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (mt == d.file_mtime) return;
    if (image_changed(d)) {
        d.file_mtime = mt;
        app.want_reload_prompt = true;
    } else {
        open_program(app, d.path);
        set_message(app, "reloaded " + d.path + " (changed on disk)");
    }
}

} // namespace

void set_message(App& app, std::string text) {
    app.message = std::move(text);
    app.message_time = ImGui::GetTime();
}

void open_program(App& app, const std::string& path) {
    if (load_file(app.dbg, path)) {
        add_recent(app, path);
        app.view.fit_pending = true;
        app.cursor_pc.reset();
        app.scroll_to_pc = true;
        set_message(app, "opened " + path);
    } else {
        set_message(app, app.dbg.error);
    }
}

void handle_keys(App& app) {
    ImGuiIO& io = ImGui::GetIO();
    Debugger& d = app.dbg;
    std::vector<App::KeyPress> presses;
    presses.swap(app.key_presses);
    if (io.WantTextInput) return;
    for (const App::KeyPress& p : presses) {
        const bool ctrl = p.mods & GLFW_MOD_CONTROL, shift = p.mods & GLFW_MOD_SHIFT,
                   alt = p.mods & GLFW_MOD_ALT;
        switch (p.key) {
        case GLFW_KEY_F10:
            if (ctrl && app.cursor_pc) {
                d.run_to = app.cursor_pc;
                start_continue(app);
            } else if (!ctrl) {
                shift ? do_back(app) : do_step(app);
            }
            continue;
        case GLFW_KEY_F5: start_continue(app); continue;
        case GLFW_KEY_F6: d.running = false; continue;
        case GLFW_KEY_ESCAPE:
            if (d.running) d.running = false;
            continue;
        case GLFW_KEY_F9: toggle_breakpoint(d, app.cursor_pc.value_or(d.cpu.pc)); continue;
        case GLFW_KEY_F1: app.show_help = !app.show_help; continue;
        case GLFW_KEY_F12: app.screenshot_requested = true; continue;
        default: break;
        }
        if (ctrl) {
            if (p.key == GLFW_KEY_S) shift ? void(app.state_requested = true) : void(app.want_save = true);
            if (p.key == GLFW_KEY_O) app.want_open = true;
            if (p.key == GLFW_KEY_R) reset(d);
            continue;
        }
        if (alt) continue;
        ViewState& v = app.view;
        switch (p.key) {
        case GLFW_KEY_F: v.fit_pending = true; break;
        case GLFW_KEY_1: v.one_to_one_pending = true; break;
        case GLFW_KEY_R: v.channels[0] = !v.channels[0]; break;
        case GLFW_KEY_G: v.channels[1] = !v.channels[1]; break;
        case GLFW_KEY_B: v.channels[2] = !v.channels[2]; break;
        case GLFW_KEY_A: v.channels[3] = !v.channels[3]; break;
        case GLFW_KEY_D: v.data_mode = !v.data_mode; break;
        case GLFW_KEY_H: v.heat = !v.heat; break;
        case GLFW_KEY_L: v.annotations = !v.annotations; break;
        case GLFW_KEY_C: app.layout = app.layout == Layout::Compare ? Layout::Single : Layout::Compare; break;
        default: break;
        }
    }
}

void draw_ui(App& app) {
    Debugger& d = app.dbg;
    if (!app.pending_drop.empty()) {
        open_program(app, app.pending_drop);
        app.pending_drop.clear();
    }
    watch_file(app);
    if (d.running) continue_for(d, 12.0); // keep the UI responsive: ~12 ms of stepping a frame
    if (d.change_serial != app.seen_serial) {
        app.seen_serial = d.change_serial;
        if (!d.last_written.empty()) app.written_time = ImGui::GetTime();
        app.scroll_to_pc = true;
    }
    menu_bar(app);
    const ImGuiViewport* vp = ImGui::GetMainViewport();
    const float top = vp->Pos.y + ImGui::GetFrameHeight();
    const float W = vp->Size.x, H = vp->Size.y - ImGui::GetFrameHeight() * 2;
    const float left = std::floor(W * 0.62f), upper = std::floor(H * 0.68f);
    program_window(app, ImVec2(0, top), ImVec2(left, upper));
    if (app.show_controls) controls_window(app, ImVec2(left, top), ImVec2(W - left, 150));
    if (app.show_disassembly) disassembly_window(app, ImVec2(left, top + 150), ImVec2(W - left, upper - 150));
    if (app.show_inspector) inspector_window(app, ImVec2(0, top + upper), ImVec2(left, H - upper));
    if (app.show_regions) regions_window(app, ImVec2(left, top + upper), ImVec2(W - left, H - upper));
    help_window(app);
    dialogs(app);
    status_bar(app);
}

std::string state_json(const App& app) {
    const Debugger& d = app.dbg;
    nlohmann::json j;
    j["file"] = d.path;
    j["width"] = d.cpu.image.width;
    j["height"] = d.cpu.image.height;
    j["pc"] = d.cpu.pc;
    j["steps"] = d.cpu.steps;
    j["status"] = std::string(px::status_name(d.cpu.status));
    j["running"] = d.running;
    j["trap"] = d.cpu.status == px::VmStatus::Trapped
                    ? nlohmann::json{{"code", std::string(px::trap_name(d.cpu.trap.code))},
                                     {"x", d.cpu.trap.x},
                                     {"y", d.cpu.trap.y},
                                     {"message", d.cpu.trap.message}}
                    : nlohmann::json(nullptr);
    j["image_hash"] = px::hash_hex(px::rgba_hash(d.cpu.image));
    j["loaded_hash"] = px::hash_hex(px::rgba_hash(d.loaded));
    j["history"] = d.history.size();
    j["breakpoints"] = std::vector<uint32_t>(d.breakpoints.begin(), d.breakpoints.end());
    j["selected_row"] = d.selected_row ? nlohmann::json(*d.selected_row) : nlohmann::json(nullptr);
    j["driver"] = d.driver == Driver::Gpu ? "gpu" : "cpu";
    j["parity"] = d.parity.checked ? nlohmann::json{{"identical", d.parity.identical},
                                                    {"differing_pixels", d.parity.differing},
                                                    {"note", d.parity.note}}
                                   : nlohmann::json(nullptr);
    j["texels_uploaded"] = app.renderer.texels_uploaded;
    j["zoom"] = app.view.zoom;
    j["error"] = d.error;
    j["screenshots"] = app.screenshot_count;
    return j.dump(2);
}

bool write_state_file(App& app) {
    if (app.state_file.empty()) return false;
    const std::string text = state_json(app) + "\n";
    const px::Status st = px::write_file_atomic( // atomic: readers never see half a file
        app.state_file, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    if (!st) {
        set_message(app, "could not write " + st.error().message);
        return false;
    }
    app.state_written_serial = app.dbg.change_serial;
    return true;
}

bool save_screenshot(App& app, const std::string& path, int fb_w, int fb_h, const ImVec4* crop) {
    int x0 = 0, y0 = 0, w = fb_w, h = fb_h; // in framebuffer pixels, top-left origin
    if (crop) {
        const ImVec2 s = ImGui::GetIO().DisplayFramebufferScale;
        x0 = std::clamp(int(crop->x * s.x), 0, fb_w - 1);
        y0 = std::clamp(int(crop->y * s.y), 0, fb_h - 1);
        w = std::clamp(int(crop->z * s.x) - x0, 1, fb_w - x0);
        h = std::clamp(int(crop->w * s.y) - y0, 1, fb_h - y0);
    }
    px::Image img = px::make_image(uint32_t(w), uint32_t(h));
    std::vector<uint8_t> rows(size_t(w) * h * 4);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glReadBuffer(GL_BACK);
    glReadPixels(x0, fb_h - y0 - h, w, h, GL_RGBA, GL_UNSIGNED_BYTE, rows.data());
    for (int y = 0; y < h; ++y) // GL rows run bottom-up
        std::memcpy(img.at(0, uint32_t(y)), &rows[size_t(h - 1 - y) * w * 4], size_t(w) * 4);
    for (size_t i = 3; i < img.rgba.size(); i += 4)
        img.rgba[i] = 255;
    auto st = px::save_png(img, path);
    if (!st) {
        set_message(app, "screenshot failed: " + st.error().message);
        return false;
    }
    app.screenshot_count++;
    set_message(app, "screenshot saved to " + path);
    return true;
}

void register_settings(App& app) {
    ImGuiSettingsHandler h;
    h.TypeName = "pxdbg";
    h.TypeHash = ImHashStr("pxdbg");
    h.UserData = &app;
    h.ReadOpenFn = [](ImGuiContext*, ImGuiSettingsHandler*, const char* name) -> void* {
        if (std::strcmp(name, "Recent") == 0) return reinterpret_cast<void*>(1);
        if (std::strcmp(name, "View") == 0) return reinterpret_cast<void*>(2);
        return nullptr;
    };
    h.ReadLineFn = [](ImGuiContext*, ImGuiSettingsHandler* handler, void* entry, const char* line) {
        App& a = *static_cast<App*>(handler->UserData);
        if (entry == reinterpret_cast<void*>(1)) {
            if (std::strncmp(line, "File=", 5) == 0 && a.recent.size() < 10) a.recent.push_back(line + 5);
            return;
        }
        // [pxdbg][View]: the view's toggles, so a session starts as the last one ended.
        ViewState& v = a.view;
        int r, g, b, al, data, grid, labels, regions, heat, panels;
        float lo, hi;
        if (std::sscanf(line, "Channels=%d,%d,%d,%d", &r, &g, &b, &al) == 4)
            v.channels[0] = r, v.channels[1] = g, v.channels[2] = b, v.channels[3] = al;
        else if (std::sscanf(line, "Overlays=%d,%d,%d,%d,%d", &data, &grid, &labels, &regions, &heat) == 5)
            v.data_mode = data, v.grid = grid, v.annotations = labels, v.regions = regions, v.heat = heat;
        else if (std::sscanf(line, "Range=%f,%f", &lo, &hi) == 2)
            v.range_lo = lo, v.range_hi = hi;
        else if (std::sscanf(line, "Panels=%d", &panels) == 1) {
            a.show_controls = panels & 1, a.show_disassembly = panels & 2, a.show_regions = panels & 4;
            a.show_inspector = panels & 8;
        }
    };
    h.WriteAllFn = [](ImGuiContext*, ImGuiSettingsHandler* handler, ImGuiTextBuffer* buf) {
        const App& a = *static_cast<const App*>(handler->UserData);
        buf->appendf("[pxdbg][Recent]\n");
        for (const std::string& r : a.recent)
            buf->appendf("File=%s\n", r.c_str());
        buf->appendf("\n");
        const ViewState& v = a.view;
        buf->appendf(
            "[pxdbg][View]\nChannels=%d,%d,%d,%d\nOverlays=%d,%d,%d,%d,%d\nRange=%g,%g\nPanels=%d\n\n",
            v.channels[0], v.channels[1], v.channels[2], v.channels[3], v.data_mode, v.grid, v.annotations,
            v.regions, v.heat, v.range_lo, v.range_hi,
            a.show_controls | a.show_disassembly << 1 | a.show_regions << 2 | a.show_inspector << 3);
    };
    ImGui::GetCurrentContext()->SettingsHandlers.push_back(h);
}

} // namespace pxdbg
