// panels.cpp — pxdbg's windows: menus, program views, controls, disassembly, regions, matrix
// inspector, help and status bar. They read the Debugger and change it only through its command
// functions (debugger.h) or run_action (keys.cpp); pixel meanings and element types come from
// engine/inspect.h.
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

bool is_float(px::DType t) {
    return px::dtype_is_float(t);
}

// The default font has ASCII only: the engine's typographic characters shown as ASCII.
std::string font_text(std::string s) {
    for (const auto& [from, to] : {std::pair<std::string, std::string>{"\u2014", "-"},
                                   {"\u2013", "-"},
                                   {"\u00d7", "x"},
                                   {"\u2192", "->"},
                                   {"\u2264", "<="},
                                   {"\u2265", ">="}})
        for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at))
            s.replace(at, from.size(), to);
    return s;
}

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

// ---------------------------------------------------------------------------------------------
// Menus and dialogs

// A menu item that runs an action, with the key table's shortcut text.
void action_item(App& app, const char* label, Action a) {
    if (ImGui::MenuItem(label, shortcut_text(a), false, action_enabled(app, a))) run_action(app, a);
}

void menu_bar(App& app) {
    if (!ImGui::BeginMainMenuBar()) return;
    Debugger& d = app.dbg;
    if (ImGui::BeginMenu("File")) {
        action_item(app, "Open...", Action::Open);
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
        action_item(app, "Save image as...", Action::Save);
        action_item(app, "Export selected matrix as PNG...", Action::ExportMatrix);
        action_item(app, "Export view as PNG...", Action::ExportView);
        action_item(app, "Screenshot", Action::Screenshot);
        ImGui::Separator();
        if (ImGui::MenuItem("Quit")) glfwSetWindowShouldClose(app.window, 1);
        ImGui::EndMenu();
    }
    if (ImGui::BeginMenu("Run")) {
        action_item(app, "Step", Action::Step);
        action_item(app, "Step back", Action::StepBack);
        action_item(app, "Continue", Action::Continue);
        action_item(app, "Pause", Action::Pause);
        action_item(app, "Reset", Action::Reset);
        action_item(app, "Run to cursor", Action::RunToCursor);
        action_item(app, "Toggle breakpoint", Action::ToggleBreakpoint);
        if (ImGui::MenuItem("Clear breakpoints", nullptr, false,
                            !d.breakpoints.empty() || !d.layer_breakpoints.empty()))
            clear_breakpoints(d);
        if (ImGui::MenuItem("Clear watches", nullptr, false, !d.watches.empty())) clear_watches(d);
        model_run_menu(app);
        ImGui::Separator();
        ImGui::TextDisabled("CPU executor (byte-identical)");
        if (ImGui::MenuItem("Optimized", nullptr, d.cpu_executor == CpuExecutor::Optimized))
            set_cpu_executor(d, CpuExecutor::Optimized);
        if (ImGui::MenuItem("Reference", nullptr, d.cpu_executor == CpuExecutor::Reference))
            set_cpu_executor(d, CpuExecutor::Reference);
        ImGui::EndMenu();
    }
    if (ImGui::BeginMenu("View")) {
        ViewState& v = app.view;
        action_item(app, "Fit", Action::Fit);
        action_item(app, "1:1", Action::OneToOne);
        ImGui::MenuItem("Pixel grid", nullptr, &v.grid);
        ImGui::MenuItem("Cell labels", shortcut_text(Action::ToggleLabels), &v.annotations);
        ImGui::MenuItem("Regions", nullptr, &v.regions);
        ImGui::MenuItem("Data mode (colormap)", shortcut_text(Action::ToggleData), &v.data_mode);
        ImGui::MenuItem("Changed since start", shortcut_text(Action::ToggleHeat), &v.heat);
        bool cmp = app.layout == Layout::Compare;
        if (ImGui::MenuItem("CPU | GPU | difference", shortcut_text(Action::ToggleCompare), &cmp))
            app.layout = cmp ? Layout::Compare : Layout::Single;
        ImGui::EndMenu();
    }
    if (ImGui::BeginMenu("Windows")) {
        ImGui::MenuItem("Controls", nullptr, &app.show_controls);
        ImGui::MenuItem("Disassembly", nullptr, &app.show_disassembly);
        ImGui::MenuItem("Regions", nullptr, &app.show_regions);
        ImGui::MenuItem("Matrix inspector", nullptr, &app.show_inspector);
        model_window_menu(app);
        gpt_window_menu(app);
        ImGui::EndMenu();
    }
    if (ImGui::BeginMenu("Help")) {
        ImGui::MenuItem("Keyboard shortcuts", shortcut_text(Action::Help), &app.show_help);
        ImGui::EndMenu();
    }
    ImGui::EndMainMenuBar();
}

// ---------------------------------------------------------------------------------------------
// Program view window

void pixel_tooltip(App& app, uint32_t x, uint32_t y) {
    Debugger& d = app.dbg;
    const px::PixelMeaning m = px::describe_pixel(d.cpu.image, d.regions, d.listing, x, y);
    ImGui::BeginTooltip();
    ImGui::TextUnformatted(font_text(m.text).c_str());
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

enum class ViewSource : uint8_t { Cpu, Gpu, Difference };

// The colormap as the shader draws it (shaders/view.frag), for the legend.
ImU32 colormap_color(int map, float t) {
    t = std::clamp(t, 0.0f, 1.0f);
    float r, g, b;
    if (map == 1) {
        r = g = b = t;
    } else if (map == 2) {
        const float u = t < 0.5f ? t * 2 : t * 2 - 1;
        const float a0[3] = {0.23f, 0.30f, 0.75f}, mid[3] = {0.95f, 0.95f, 0.95f},
                    a1[3] = {0.71f, 0.02f, 0.15f};
        const float* lo = t < 0.5f ? a0 : mid;
        const float* hi = t < 0.5f ? mid : a1;
        r = lo[0] + (hi[0] - lo[0]) * u, g = lo[1] + (hi[1] - lo[1]) * u, b = lo[2] + (hi[2] - lo[2]) * u;
    } else {
        const float c[7][3] = {{0.2777f, 0.0054f, 0.3341f},   {0.1051f, 1.4046f, 1.3846f},
                               {-0.3309f, 0.2148f, 0.0951f},  {-4.6342f, -5.7991f, -19.3324f},
                               {6.2283f, 14.1799f, 56.6906f}, {4.7764f, -13.7451f, -65.3530f},
                               {-5.4355f, 4.6459f, 26.3124f}};
        float out[3];
        for (int k = 0; k < 3; ++k) {
            float acc = c[6][k];
            for (int i = 5; i >= 0; --i)
                acc = c[i][k] + t * acc;
            out[k] = std::clamp(acc, 0.0f, 1.0f);
        }
        r = out[0], g = out[1], b = out[2];
    }
    return IM_COL32(int(r * 255), int(g * 255), int(b * 255), 255);
}

// The data-mode legend over the view's bottom-left corner: the colormap and what its ends mean,
// for the matrix under the mouse (else the selected one).
void legend(App& app, std::optional<uint32_t> hover_row) {
    const ViewState& v = app.view;
    if (!v.data_mode || app.dbg.cpu.image.width == 0) return;
    const Debugger& d = app.dbg;
    std::string text;
    if (v.per_matrix_range) {
        const ViewRenderer::RowRange* rr = nullptr;
        const std::optional<uint32_t> row = hover_row ? hover_row : d.selected_row;
        for (const ViewRenderer::RowRange& r : app.renderer.ranges)
            if (row && *row >= r.row && *row <= r.last_row) rr = &r;
        const px::Region* reg = nullptr;
        for (const px::Region& r : d.regions)
            if (rr && r.row == rr->row) reg = &r;
        char buf[200];
        if (rr && reg) {
            if (is_float(rr->type))
                std::snprintf(
                    buf, sizeof buf, "%s (%s): %.4g .. %.4g, 0 white; NaN magenta, +inf yellow, -inf cyan",
                    reg->name.c_str(), std::string(px::dtype_name(rr->type)).c_str(), rr->lo, rr->hi);
            else
                std::snprintf(buf, sizeof buf, "%s (%s): %.0f .. %.0f", reg->name.c_str(),
                              std::string(px::dtype_name(rr->type)).c_str(), rr->lo, rr->hi);
            text = buf;
            if (reg->scale && !is_float(rr->type)) {
                std::snprintf(buf, sizeof buf, "  real %.4g .. %.4g", *px::dequantize(*reg, rr->lo),
                              *px::dequantize(*reg, rr->hi));
                text += buf;
            }
        } else {
            text = "each matrix over its own min..max (hover one); row 0 and headers in RGB";
        }
    } else {
        char buf[96];
        std::snprintf(buf, sizeof buf, "R byte %.0f .. %.0f, every matrix", v.range_lo, v.range_hi);
        text = buf;
    }
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const ImVec2 at(app.view_rect.x + 6, app.view_rect.w - 24);
    const float bar_w = 120, th = ImGui::GetTextLineHeight();
    const ImVec2 ts = ImGui::CalcTextSize(text.c_str());
    dl->AddRectFilled(ImVec2(at.x - 4, at.y - 3), ImVec2(at.x + bar_w + ts.x + 50, at.y + th + 3),
                      IM_COL32(20, 20, 24, 220), 3);
    dl->AddText(at, IM_COL32(230, 230, 230, 255), "lo");
    for (int i = 0; i < 24; ++i) {
        const float x0 = at.x + 16 + bar_w * i / 24, x1 = at.x + 16 + bar_w * (i + 1) / 24;
        dl->AddRectFilled(ImVec2(x0, at.y + 2), ImVec2(x1, at.y + th - 2),
                          colormap_color(app.colormap, (i + 0.5f) / 24));
    }
    dl->AddText(ImVec2(at.x + bar_w + 20, at.y), IM_COL32(230, 230, 230, 255), "hi");
    dl->AddText(ImVec2(at.x + bar_w + 44, at.y), IM_COL32(255, 220, 120, 255), text.c_str());
}

void program_window(App& app, ImVec2 pos, ImVec2 size) {
    Debugger& d = app.dbg;
    ViewState& v = app.view;
    ImGui::SetNextWindowPos(pos, ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(size, ImGuiCond_FirstUseEver);
    ImGui::Begin("Program", nullptr, ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse);
    if (!d.error.empty()) {
        // The button first: a long message wraps below it instead of pushing it out of the window.
        if (ImGui::SmallButton("dismiss")) dismiss_error(d);
        ImGui::SameLine();
        ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1, 0.45f, 0.45f, 1));
        ImGui::TextWrapped("Could not open: %s", d.error.c_str());
        ImGui::PopStyleColor();
    }
    for (const std::string& w : d.warnings) { // conversions made on load, as the CLI warns
        ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1, 0.8f, 0.3f, 1));
        ImGui::TextWrapped("warning: %s", w.c_str());
        ImGui::PopStyleColor();
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
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("matrix values through the colormap; row 0 and headers as RGB");
    if (v.data_mode) {
        ImGui::SameLine();
        ImGui::Checkbox("per matrix", &v.per_matrix_range);
        if (ImGui::IsItemHovered())
            ImGui::SetTooltip("each matrix over its own min..max, in its element type");
        if (!v.per_matrix_range) {
            ImGui::SameLine();
            ImGui::SetNextItemWidth(150);
            ImGui::DragFloatRange2("##range", &v.range_lo, &v.range_hi, 0.5f, 0, 255, "%.0f", "%.0f");
            ImGui::SameLine();
            if (ImGui::SmallButton("auto")) auto_range(app);
            if (ImGui::IsItemHovered()) ImGui::SetTooltip("range = min..max of every matrix's R bytes");
        }
        ImGui::SameLine();
        ImGui::SetNextItemWidth(90);
        ImGui::Combo("##cmap", &app.colormap, "viridis\0gray\0diverging\0");
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
        if (ImGui::Combo("##driver", &drv, "CPU\0GPU\0")) set_driver(d, Driver(drv));
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("which executor's image the main view shows");
        ImGui::SameLine();
        bool cmp = app.layout == Layout::Compare;
        if (ImGui::Checkbox("Compare", &cmp)) app.layout = cmp ? Layout::Compare : Layout::Single;
        if (cmp) {
            ImGui::SameLine();
            compare_link_checkbox(app); // panel_model.cpp: the three panes linked, or each its own
        }
    }

    ViewOverlay overlay;
    overlay.highlight_pc = app.hover_pc ? app.hover_pc : std::optional<uint32_t>(d.cpu.pc);
    overlay.written_fade =
        app.written_time < 0 ? 0.0f : float(std::max(0.0, 1.0 - (ImGui::GetTime() - app.written_time) / 1.5));
    overlay.written = d.last_written;
    if (d.cpu.status == px::VmStatus::Trapped) overlay.trap = d.cpu.trap;
    const GLuint gpu = gpu_texture(d);
    if (v.data_mode && v.per_matrix_range)
        sync_row_ranges(app.renderer, d.cpu.image, d.regions, d.listing, d.change_serial);
    v.fit_gutter = v.regions ? 130.0f : 0.0f;
    auto scene = [&](ViewSource src) {
        ViewScene sc;
        sc.row_info = app.renderer.row_info.get();
        sc.colormap = app.colormap;
        sc.image = &d.cpu.image;
        sc.regions = &d.regions;
        sc.listing = &d.listing;
        sc.texture = src == ViewSource::Gpu && gpu ? gpu : app.renderer.cpu_tex.get();
        if (src == ViewSource::Difference && gpu) {
            sc.compare = gpu;
            sc.compare_mode = 1;
        } else if (v.heat) {
            sc.compare = app.renderer.start_tex.get();
            sc.compare_mode = 2;
        }
        if (src == ViewSource::Gpu && gpu) sc.differing_from_cpu = gpu;
        return sc;
    };
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
                draw_program_view(titles[i], ImVec2(w, avail.y - ImGui::GetTextLineHeightWithSpacing()),
                                  compare_pane_view(app, i), app.renderer, scene(src[i]), overlay);
            if (h.hovered) hit = h;
            ImGui::EndGroup();
        }
    } else {
        hit = draw_program_view(
            "##view", avail, v, app.renderer,
            scene(d.driver == Driver::Gpu && gpu_available(d) ? ViewSource::Gpu : ViewSource::Cpu), overlay);
    }
    legend(app, hit.hover_pixel ? std::optional<uint32_t>(hit.hover_pixel->second) : std::nullopt);
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
    auto button = [&app](const char* label, Action a) {
        ImGui::BeginDisabled(!action_enabled(app, a));
        if (ImGui::Button(label)) run_action(app, a);
        ImGui::EndDisabled();
        ImGui::SameLine();
    };
    button("Step F10", Action::Step);
    button("Back Shift+F10", Action::StepBack);
    if (d.running)
        button("Pause F6", Action::Pause);
    else
        button("Continue F5", Action::Continue);
    button("Reset", Action::Reset);
    ImGui::NewLine();

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
        if (ImGui::SmallButton("full check")) {
            check_full_parity(d);
            set_message(app, "full CPU/GPU check: " + d.parity.note);
        }
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
    // Why execution stopped, next to where it stopped.
    if (d.running) {
        ImGui::TextColored(ImVec4(0.6f, 1, 0.6f, 1), "running");
    } else if (d.stopped != StopReason::None) {
        const bool bad = d.stopped == StopReason::Trap;
        ImGui::TextColored(bad ? ImVec4(1, 0.4f, 0.4f, 1) : ImVec4(1, 0.85f, 0.4f, 1),
                           "stopped at pc %u: %s%s%s", d.cpu.pc, stop_reason_text(d.stopped), bad ? ": " : "",
                           bad ? std::string(px::trap_name(d.cpu.trap.code)).c_str() : "");
        if (!d.stop_note.empty()) ImGui::TextColored(ImVec4(1, 0.85f, 0.4f, 1), "%s", d.stop_note.c_str());
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
                // The marker stays on the HALT (or trapping) line after execution ends.
                const bool at_pc = ins.pc == d.cpu.pc;
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
                // A GPT layer breakpoint (the Attention window's "Break at layer L head H"): orange,
                // its label on hover; removed from the Attention window or Run > Clear breakpoints.
                if (const LayerBreakpoint* lb = layer_breakpoint_at(d, ins.pc)) {
                    ImGui::GetWindowDrawList()->AddCircle(
                        ImVec2(c.x + 8, c.y + ImGui::GetTextLineHeight() / 2), 6, IM_COL32(255, 150, 30, 255),
                        0, 2.5f);
                    if (ImGui::IsItemHovered()) ImGui::SetTooltip("breakpoint: %s", lb->label().c_str());
                }
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
                    if (ImGui::MenuItem("Run to here")) run_to(d, ins.pc);
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
                if (ImGui::IsItemHovered()) // the whole line, however narrow the column
                    ImGui::SetTooltip("%s", font_text(px::describe_pixel(d.cpu.image, d.regions, d.listing,
                                                                         ins.pc + (ins.wide ? 1 : 0), 0)
                                                          .text)
                                                .c_str());
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
                    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", font_text(ops).c_str());
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
    app.region_list_pos.clear();
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
                // Move the program view to it: centered, and large enough to read its rows.
                uint32_t last = r.row;
                for (const px::Rect& rc : px::matrix_rects_now(d.regions, d.cpu.image, r.row))
                    last = std::max(last, rc.y + rc.h - 1);
                app.view.zoom = std::max(app.view.zoom, 4.0f);
                app.view.center_pending = glm::dvec2(d.cpu.image.width / 2.0, (r.row + last + 1) / 2.0);
            }
            const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
            app.region_list_pos.push_back({r.row, ImVec2((a.x + b.x) / 2, (a.y + b.y) / 2)});
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

// Stats over typed values: the engine says the element type and reads the values (inspect.h).
// Min, max and mean over the finite values (value_stats, compare.h); NaN and infinities counted.
void compute_stats(MatrixStats& s, const MatrixPixels& mp, px::DType type, const px::Region* reg) {
    s = {};
    s.cols = mp.shape.cols;
    s.rows = mp.shape.rows;
    s.type = type;
    // f16 elements arrive widened to f32 pixels (matrix_pixels).
    const px::DType pixel_type = type == px::DType::F16 ? px::DType::F32 : type;
    s.stored.reserve(mp.pixels.size());
    for (const px::Rgba& p : mp.pixels)
        s.stored.push_back(px::element_value(p, pixel_type));
    if (reg && reg->scale && !is_float(type))
        for (double v : s.stored)
            s.real.push_back(*px::dequantize(*reg, v));
    if (s.stored.empty()) return;
    const px::ValueStats v = px::value_stats(s.stored, 0);
    s.min = v.min, s.max = v.max, s.mean = v.mean, s.nan = v.nan, s.inf = v.inf;
}

// A histogram over [lo, hi] (the range shown): integer values get one bin each up to 32 bins,
// float values 32 bins; NaN is in no bin.
void compute_histogram(MatrixStats& s, double lo, double hi) {
    s.hist_lo = lo;
    s.hist_hi = hi;
    const double span = std::max(hi - lo, 0.0);
    const size_t bins = is_float(s.type) ? 32 : size_t(std::clamp(std::floor(span) + 1, 1.0, 32.0));
    s.histogram.assign(bins, 0.0f);
    for (double v : s.stored) {
        if (v < lo || v > hi) continue;
        const size_t b = span > 0 ? std::min(bins - 1, size_t((v - lo) / (span + 1e-9) * double(bins))) : 0;
        s.histogram[b] += 1;
    }
}

void refresh_inspector(App& app) {
    Debugger& d = app.dbg;
    const bool range_moved = !app.after.stored.empty() && (app.after.hist_lo != app.inspector_view.range_lo ||
                                                           app.after.hist_hi != app.inspector_view.range_hi);
    if (app.mat_serial == d.change_serial && app.mat_row == d.selected_row) {
        if (range_moved)
            compute_histogram(app.after, app.inspector_view.range_lo, app.inspector_view.range_hi);
        return;
    }
    app.mat_serial = d.change_serial;
    if (app.mat_row != d.selected_row) app.inspector_view.fit_pending = true;
    app.mat_row = d.selected_row;
    app.after = {};
    app.before = {};
    app.mat_after.reset();
    app.mat_before.reset();
    if (!d.selected_row) return;
    const px::Region* reg = selected_region(d);
    const px::DType type = matrix_element_type(d, *d.selected_row);
    GLint max_tex = 0;
    glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max_tex);
    auto fits = [max_tex](px::MatrixHeader h) {
        return h.cols <= uint32_t(max_tex) && h.rows <= uint32_t(max_tex);
    };
    if (auto now = matrix_pixels(d, *d.selected_row, false)) {
        compute_stats(app.after, *now, type, reg);
        if (fits(now->shape))
            upload_matrix_texture(app.mat_after, now->shape.cols, now->shape.rows, now->pixels);
    }
    if (auto before = matrix_pixels(d, *d.selected_row, true)) {
        compute_stats(app.before, *before, type, reg);
        if (fits(before->shape))
            upload_matrix_texture(app.mat_before, before->shape.cols, before->shape.rows, before->pixels);
    }
    if (app.inspector_auto_range && !app.after.stored.empty()) { // per matrix: min..max of both panes
        double lo = app.after.min, hi = app.after.max;
        if (!app.before.stored.empty()) lo = std::min(lo, app.before.min), hi = std::max(hi, app.before.max);
        if (is_float(type)) { // the diverging map is centred on 0: -m..m
            const double m = std::max({std::fabs(lo), std::fabs(hi), 1e-30});
            app.inspector_view.range_lo = float(-m);
            app.inspector_view.range_hi = float(m);
        } else {
            app.inspector_view.range_lo = float(lo);
            app.inspector_view.range_hi = float(std::max(hi, lo + 1));
        }
    }
    compute_histogram(app.after, app.inspector_view.range_lo, app.inspector_view.range_hi);
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
    if (!reg || app.after.stored.empty()) {
        ImGui::TextDisabled("pick a matrix: click it in the program view or choose it above");
        ImGui::End();
        return;
    }
    const MatrixStats& s = app.after;
    ImGui::SameLine();
    if (is_float(s.type)) {
        ImGui::Text("%ux%u (rows x cols), row %u, %s   min %.6g  max %.6g  mean %.6g", s.rows, s.cols,
                    reg->row, std::string(px::dtype_name(s.type)).c_str(), s.min, s.max, s.mean);
        if (s.nan || s.inf) {
            ImGui::SameLine();
            ImGui::TextColored(ImVec4(1.0f, 0.2f, 1.0f, 1.0f), "  %llu NaN, %llu inf (magenta, yellow/cyan)",
                               static_cast<unsigned long long>(s.nan),
                               static_cast<unsigned long long>(s.inf));
        }
    } else {
        ImGui::Text("%ux%u (rows x cols), row %u, %s   min %.0f  max %.0f  mean %.2f", s.rows, s.cols,
                    reg->row, std::string(px::dtype_name(s.type)).c_str(), s.min, s.max, s.mean);
    }
    if (reg->scale && !is_float(s.type)) {
        ImGui::SameLine();
        ImGui::Text("  real = %.6g * (q - %d): %.5g .. %.5g", *reg->scale, reg->zero_point.value_or(0),
                    *px::dequantize(*reg, s.min), *px::dequantize(*reg, s.max));
    }
    ImGui::Checkbox("auto range", &app.inspector_auto_range);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("range = min..max of this matrix, before and now");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(200);
    const bool fl = is_float(s.type);
    const float speed =
        fl ? float(std::max(s.max - s.min, 1e-30) / 200) : std::max(0.5f, float(s.max - s.min) / 200);
    const float lo_limit = fl ? -FLT_MAX : float(std::min(s.min, 0.0));
    const float hi_limit = fl ? FLT_MAX : float(std::max(s.max, 255.0));
    if (ImGui::DragFloatRange2("range", &app.inspector_view.range_lo, &app.inspector_view.range_hi, speed,
                               lo_limit, hi_limit, fl ? "%.4g" : "%.0f", fl ? "%.4g" : "%.0f"))
        app.inspector_auto_range = false;
    ImGui::SameLine();
    ImGui::SetNextItemWidth(110);
    ImGui::Combo("##colormap", &app.colormap, "viridis\0gray\0diverging\0");
    ImGui::SameLine();
    if (ImGui::SmallButton("fit")) app.inspector_view.fit_pending = true;
    ImGui::SameLine();
    ImGui::SetNextItemWidth(-1);
    char hist_label[96];
    std::snprintf(hist_label, sizeof hist_label,
                  fl ? "histogram: %zu bins over %.4g..%.4g" : "histogram: %zu bins over %.0f..%.0f",
                  s.histogram.size(), s.hist_lo, s.hist_hi);
    ImGui::PlotHistogram("##hist", s.histogram.data(), int(s.histogram.size()), 0, hist_label, 0, FLT_MAX,
                         ImVec2(0, 40));

    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const float w = (avail.x - ImGui::GetStyle().ItemSpacing.x) / 2;
    const float h = avail.y - ImGui::GetTextLineHeightWithSpacing();
    MatrixViewResult hit;
    const MatrixStats* hit_stats = nullptr;
    const char* hit_name = "";
    // The shader's element type is the dtype code; f16 arrives widened to f32 (matrix_pixels).
    const int elem = int(s.type == px::DType::F16 ? px::DType::F32 : s.type);
    ImGui::BeginGroup();
    ImGui::TextDisabled("before the last step%s", d.history.empty() ? " (no step yet)" : "");
    MatrixViewResult hb =
        draw_matrix_view("##before", ImVec2(w, h), app.inspector_view, app.renderer, app.mat_before.get(),
                         app.before.cols, app.before.rows, elem, app.colormap);
    if (hb.hovered) hit = hb, hit_stats = &app.before, hit_name = "before";
    ImGui::EndGroup();
    ImGui::SameLine();
    ImGui::BeginGroup();
    ImGui::TextDisabled("now");
    MatrixViewResult ha = draw_matrix_view("##after", ImVec2(w, h), app.inspector_view, app.renderer,
                                           app.mat_after.get(), s.cols, s.rows, elem, app.colormap);
    if (ha.hovered) hit = ha, hit_stats = &s, hit_name = "now";
    ImGui::EndGroup();
    if (hit.hovered && hit_stats && hit.n < hit_stats->cols) {
        const size_t i = size_t(hit.m) * hit_stats->cols + hit.n;
        if (i < hit_stats->stored.size()) {
            const double q = hit_stats->stored[i];
            ImGui::BeginTooltip();
            ImGui::Text("%s[%u, %u] (%s) = %s  (%s)", reg->name.c_str(), hit.m, hit.n, hit_name,
                        px::value_text(q, hit_stats->type).c_str(),
                        std::string(px::dtype_name(hit_stats->type)).c_str());
            if (px::is_special(q))
                ImGui::TextColored(ImVec4(1.0f, 0.2f, 1.0f, 1.0f), "%s",
                                   std::isnan(q) ? "not a number" : "infinite");
            if (!hit_stats->real.empty()) ImGui::Text("real value: %.6g", hit_stats->real[i]);
            const uint32_t W = d.cpu.image.width;
            const uint64_t j = px::element_pixel_index(hit_stats->type, i);
            ImGui::TextDisabled("pixel (%u, %llu)%s", px::element_x(j, W),
                                static_cast<unsigned long long>(px::element_y(j, reg->row, W)),
                                hit_stats->type == px::DType::F16 ? (i % 2 ? " B,A" : " R,G") : "");
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
            auto row = [](const char* keys, const char* what) {
                ImGui::TableNextRow();
                ImGui::TableSetColumnIndex(0);
                ImGui::TextColored(ImVec4(1, 0.85f, 0.4f, 1), "%s", keys);
                ImGui::TableSetColumnIndex(1);
                ImGui::TextUnformatted(what);
            };
            for (const KeyBinding& k : key_table())
                row(k.keys, k.what);
            row("Wheel / drag", "zoom about the cursor / pan");
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
    if (now - app.last_mtime_check < 0.5) return;
    app.last_mtime_check = now;
    if (poll_file(d) != FileChange::Changed) return;
    if (image_changed(d)) {
        app.want_reload_prompt = true;
    } else {
        open_program(app, d.path);
        set_message(app, "reloaded " + d.path + " (changed on disk)");
    }
}

} // namespace

void set_message(App& app, std::string text) {
    if (text != app.message) app.ui_serial++; // the state file tells tests about it
    app.message = std::move(text);
    app.message_time = ImGui::GetTime();
}

void open_program(App& app, const std::string& path) {
    if (load_file(app.dbg, path)) {
        add_recent(app, path);
        app.view.fit_pending = true;
        app.cursor_pc.reset();
        app.scroll_to_pc = true;
        set_message(app, app.dbg.warnings.empty()
                             ? "opened " + path
                             : "opened " + path + " (warning: " + app.dbg.warnings[0] + ")");
    } else {
        set_message(app, app.dbg.error);
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
    draw_model_panels(app);
    draw_gpt_panel(app); // a GPT program's Text window
    help_window(app);
    dialogs(app);
    status_bar(app);
}

} // namespace pxdbg
