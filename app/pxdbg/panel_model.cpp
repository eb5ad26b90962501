// panel_model.cpp — the A/B compare, pixel history and weight statistics windows (panel_model.h).
#include "app.h"

#include "compare.h"
#include "inspect.h"

#include <imgui.h>

#include <algorithm>
#include <cfloat>
#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace pxdbg {
namespace {

const ImVec4 kGood(0.45f, 1, 0.45f, 1), kBad(1, 0.4f, 0.4f, 1), kNote(1, 0.85f, 0.4f, 1);

const char* mode_name(AbMode m) {
    switch (m) {
    case AbMode::Wipe: return "wipe";
    case AbMode::Flicker: return "flicker";
    case AbMode::Difference: return "difference";
    }
    return "?";
}

std::string opcode_name(uint8_t op) {
    const px::OpcodeInfo* info = px::opcode_info(op);
    return info ? std::string(info->name) : "opcode " + std::to_string(op);
}

std::string hex(px::Rgba p) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02x%02x%02x%02x", p[0], p[1], p[2], p[3]);
    return buf;
}

// The type a pixel's value has (the engine says: inspect.h); headers and other pixels read by R.
px::DType pixel_type(const Debugger& d, uint32_t x, uint32_t y) {
    const px::Region* r = px::region_at(d.regions, d.cpu.image, x, y);
    if (!r || (x == 0 && y == r->row)) return px::DType::U8;
    return px::element_type(d.listing, r->row, r);
}

// A pixel's value in its type: "200", "-7 (i32)", "1.5 (f32)", "NaN (f32)", "1.5, -2 (f16)".
std::string value_text(px::Rgba p, px::DType t) {
    std::string s = px::value_text(px::element_value(p, t), t);
    if (t == px::DType::F16) s += ", " + px::value_text(px::element_value(p, t, 1), t);
    return t == px::DType::U8 ? s : s + " (" + std::string(px::dtype_name(t)) + ")";
}

// A value for the state file: a JSON number, or "NaN", "+inf", "-inf" (JSON has no such numbers).
nlohmann::json json_value(double v, px::DType t = px::DType::F32) {
    if (!px::dtype_is_float(t) && std::isfinite(v)) return int64_t(v); // codes and int32s stay integers
    if (std::isfinite(v)) return v;
    return px::value_text(v, px::DType::F32);
}

// B: the image compared with the CPU's now. Rebuilt when the debugger or the choice changes.
void refresh_b(App& app) {
    ModelPanels& m = app.model;
    Debugger& d = app.dbg;
    if (m.with == CompareWith::Gpu && !gpu_available(d)) m.with = CompareWith::Step;
    m.b_step = std::clamp<int>(m.b_step, int(oldest_kept_step(d)), int(d.cpu.steps));
    if (m.b_serial == d.change_serial && m.b_with == m.with && m.b_for_step == m.b_step) return;
    m.b_serial = d.change_serial;
    m.b_with = m.with;
    m.b_for_step = m.b_step;
    m.b_error.clear();
    m.metrics = {};
    auto img = compare_image(d, m.with, uint64_t(m.b_step));
    if (!img) {
        m.b_error = img.error().message;
        m.b_tex.reset();
        return;
    }
    m.metrics = compare_metrics(d, img.value());
    app.ui_serial++;
    if (m.with == CompareWith::Gpu) {
        m.b_tex.reset(); // the GPU's own texture is drawn
        return;
    }
    const px::Image& b = img.value();
    if (!m.b_tex || m.b_w != b.width || m.b_h != b.height) {
        GLuint t = 0;
        glCreateTextures(GL_TEXTURE_2D, 1, &t);
        glTextureStorage2D(t, 1, GL_RGBA8UI, GLsizei(b.width), GLsizei(b.height));
        glTextureParameteri(t, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
        glTextureParameteri(t, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
        m.b_tex.reset(t);
        m.b_w = b.width;
        m.b_h = b.height;
    }
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTextureSubImage2D(m.b_tex.get(), 0, 0, 0, GLsizei(b.width), GLsizei(b.height), GL_RGBA_INTEGER,
                        GL_UNSIGNED_BYTE, b.rgba.data());
}

GLuint b_texture(const App& app) {
    return app.model.with == CompareWith::Gpu ? gpu_texture(app.dbg) : app.model.b_tex.get();
}

std::string b_name(const App& app) {
    return app.model.with == CompareWith::Gpu ? "GPU now"
                                              : "CPU after step " + std::to_string(app.model.b_step);
}

ImVec2 screen_of(const ViewState& vs, ImVec2 pos, double x, double y) {
    return ImVec2(float(pos.x + (x - vs.pan.x) * vs.zoom), float(pos.y + (y - vs.pan.y) * vs.zoom));
}

// A ring around one pixel of a canvas, with a tag.
void mark_pixel(const ViewState& vs, ImVec2 pos, ImVec2 size, uint32_t x, uint32_t y, ImU32 col,
                const char* text, bool below) {
    ImDrawList* dl = ImGui::GetWindowDrawList();
    dl->PushClipRect(pos, ImVec2(pos.x + size.x, pos.y + size.y), true);
    const ImVec2 a = screen_of(vs, pos, x, y), b = screen_of(vs, pos, x + 1, y + 1);
    const float pad = std::max(3.0f, 6 - (b.x - a.x) / 4);
    dl->AddRect(ImVec2(a.x - pad, a.y - pad), ImVec2(b.x + pad, b.y + pad), col, 0, 0, 2.5f);
    dl->AddText(ImVec2(b.x + pad + 2, below ? b.y : a.y - pad), col, text);
    dl->PopClipRect();
}

ViewScene scene_of(App& app, GLuint texture) {
    Debugger& d = app.dbg;
    ViewScene sc;
    sc.image = &d.cpu.image;
    sc.regions = &d.regions;
    sc.listing = &d.listing;
    sc.texture = texture;
    // The program view's data-mode ranges (the CPU image's, so A and B share one color scale).
    sc.row_info = app.renderer.row_info.get();
    sc.colormap = app.colormap;
    // A texture other than the CPU's: cells where it differs show its bytes (magenta hex).
    if (texture != app.renderer.cpu_tex.get()) sc.differing_from_cpu = texture;
    return sc;
}

void tag(ImVec2 at, const std::string& text, ImU32 col) {
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const ImVec2 ts = ImGui::CalcTextSize(text.c_str());
    dl->AddRectFilled(at, ImVec2(at.x + ts.x + 8, at.y + ts.y + 4), IM_COL32(20, 20, 24, 220), 3);
    dl->AddText(ImVec2(at.x + 4, at.y + 2), col, text.c_str());
}

// The A/B canvas: wipe (A left of a draggable split, B right), flicker or difference.
void ab_canvas(App& app, ImVec2 size) {
    ModelPanels& m = app.model;
    Debugger& d = app.dbg;
    ViewState& vs = m.linked ? app.view : m.view;
    const GLuint a_tex = app.renderer.cpu_tex.get(), b_tex = b_texture(app);
    const ImVec2 pos = ImGui::GetCursorScreenPos();
    size.x = std::max(size.x, 64.0f);
    size.y = std::max(size.y, 64.0f);
    ViewOverlay overlay;
    overlay.highlight_pc = d.cpu.pc;
    ViewInteraction hit;
    if (!b_tex || !a_tex) {
        ImGui::Dummy(size);
        return;
    }
    const ImU32 white = IM_COL32(255, 255, 255, 255);
    if (m.mode == AbMode::Wipe) {
        const float sx = std::floor(pos.x + size.x * m.split);
        // The handle first, so it wins the mouse over the canvases below it.
        ImGui::SetCursorScreenPos(ImVec2(sx - 5, pos.y));
        ImGui::InvisibleButton("##split", ImVec2(10, size.y));
        const bool handle = ImGui::IsItemHovered() || ImGui::IsItemActive();
        if (handle) ImGui::SetMouseCursor(ImGuiMouseCursor_ResizeEW);
        if (ImGui::IsItemActive())
            m.split = std::clamp((ImGui::GetIO().MousePos.x - pos.x) / size.x, 0.0f, 1.0f);
        ImGui::SetCursorScreenPos(pos);
        ImGui::PushClipRect(pos, ImVec2(sx, pos.y + size.y), true);
        ViewInteraction ha = draw_program_view("##A", size, vs, app.renderer, scene_of(app, a_tex), overlay);
        ImGui::PopClipRect();
        ImGui::SetCursorScreenPos(pos);
        ImGui::PushClipRect(ImVec2(sx, pos.y), ImVec2(pos.x + size.x, pos.y + size.y), true);
        ViewInteraction hb = draw_program_view("##B", size, vs, app.renderer, scene_of(app, b_tex), overlay);
        ImGui::PopClipRect();
        hit = ha.hovered ? ha : hb;
        ImDrawList* dl = ImGui::GetWindowDrawList();
        dl->AddLine(ImVec2(sx, pos.y), ImVec2(sx, pos.y + size.y),
                    handle ? IM_COL32(255, 230, 0, 255) : white, handle ? 3.0f : 2.0f);
        dl->AddTriangleFilled(ImVec2(sx - 7, pos.y + size.y / 2), ImVec2(sx - 1, pos.y + size.y / 2 - 7),
                              ImVec2(sx - 1, pos.y + size.y / 2 + 7), white);
        dl->AddTriangleFilled(ImVec2(sx + 7, pos.y + size.y / 2), ImVec2(sx + 1, pos.y + size.y / 2 - 7),
                              ImVec2(sx + 1, pos.y + size.y / 2 + 7), white);
        tag(ImVec2(pos.x + 4, pos.y + 4), "A: CPU now", white);
        const std::string bt = "B: " + b_name(app);
        tag(ImVec2(pos.x + size.x - ImGui::CalcTextSize(bt.c_str()).x - 12, pos.y + 4), bt, white);
    } else if (m.mode == AbMode::Flicker) {
        m.flicker_showing_b = std::fmod(ImGui::GetTime() * m.flicker_hz, 1.0) >= 0.5;
        hit = draw_program_view("##F", size, vs, app.renderer,
                                scene_of(app, m.flicker_showing_b ? b_tex : a_tex), overlay);
        tag(ImVec2(pos.x + 4, pos.y + 4), m.flicker_showing_b ? "B: " + b_name(app) : "A: CPU now",
            m.flicker_showing_b ? IM_COL32(255, 120, 230, 255) : IM_COL32(120, 230, 255, 255));
    } else {
        ViewScene sc = scene_of(app, a_tex);
        sc.compare = b_tex;
        sc.compare_mode = 1; // differing pixels magenta, the rest dimmed; labels are A's
        hit = draw_program_view("##D", size, vs, app.renderer, sc, overlay);
        tag(ImVec2(pos.x + 4, pos.y + 4), "difference: magenta = A (CPU now) != B (" + b_name(app) + ")",
            white);
    }
    if (m.pixel)
        mark_pixel(vs, pos, size, m.pixel->first, m.pixel->second, IM_COL32(255, 230, 0, 255), "history",
                   true);
    if (d.divergence && d.divergence->differing)
        mark_pixel(vs, pos, size, d.divergence->x, d.divergence->y, IM_COL32(255, 60, 60, 255), "diverged",
                   false);
    ImGui::SetCursorScreenPos(ImVec2(pos.x, pos.y + size.y));
    ImGui::Dummy(ImVec2(0, 0));
    if (hit.hover_pixel) {
        const auto [x, y] = *hit.hover_pixel;
        const px::Rgba pa = d.cpu.image.pixel(x, y);
        uint8_t pb[4] = {};
        glGetTextureSubImage(b_tex, 0, GLint(x), GLint(y), 0, 1, 1, 1, GL_RGBA_INTEGER, GL_UNSIGNED_BYTE, 4,
                             pb);
        const px::Rgba b{pb[0], pb[1], pb[2], pb[3]};
        const px::DType t = pixel_type(d, x, y);
        ImGui::BeginTooltip();
        ImGui::Text("pixel (%u, %u)", x, y);
        ImGui::Text("A  CPU now:      %s  = %s", hex(pa).c_str(), value_text(pa, t).c_str());
        ImGui::TextColored(pa == b ? kGood : kBad, "B  %-14s %s  = %s", (b_name(app) + ":").c_str(),
                           hex(b).c_str(), value_text(b, t).c_str());
        ImGui::TextDisabled("click: pixel history of this pixel");
        ImGui::EndTooltip();
        if (hit.clicked) {
            m.pixel = std::make_pair(x, y);
            m.show_history = true;
            app.ui_serial++;
        }
    }
}

void metrics_table(App& app) {
    const ModelPanels& m = app.model;
    if (!m.b_error.empty()) {
        ImGui::TextColored(kBad, "B: %s", m.b_error.c_str());
        return;
    }
    if (!m.metrics.error.empty()) {
        ImGui::TextColored(kBad, "%s", m.metrics.error.c_str());
        return;
    }
    ImGui::TextColored(m.metrics.count ? kBad : kGood, "%" PRIu64 " pixels differ between A and B",
                       m.metrics.count);
    const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY |
                                  ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_SizingFixedFit;
    if (!ImGui::BeginTable("metrics", 7, flags, ImVec2(0, ImGui::GetContentRegionAvail().y))) return;
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("region");
    ImGui::TableSetupColumn("type");
    ImGui::TableSetupColumn("pixels");
    ImGui::TableSetupColumn("differ");
    ImGui::TableSetupColumn("max |A-B|");
    ImGui::TableSetupColumn("mean |A-B|");
    ImGui::TableSetupColumn("first");
    ImGui::TableHeadersRow();
    for (const px::RegionDiff& r : m.metrics.regions) {
        ImGui::TableNextRow();
        ImGui::TableSetColumnIndex(0);
        ImGui::PushID(&r);
        if (ImGui::Selectable(r.name.c_str(), false, ImGuiSelectableFlags_SpanAllColumns) && r.count)
            go_to(app, std::to_string(r.first_x) + ", " + std::to_string(r.first_y));
        ImGui::PopID();
        ImGui::TableSetColumnIndex(1);
        ImGui::TextDisabled("%s", r.elements == 0 ? "-" : std::string(px::dtype_name(r.type)).c_str());
        ImGui::TableSetColumnIndex(2);
        ImGui::Text("%" PRIu64, r.pixels);
        ImGui::TableSetColumnIndex(3);
        if (r.count)
            ImGui::TextColored(kBad, "%" PRIu64, r.count);
        else
            ImGui::TextDisabled("0");
        ImGui::TableSetColumnIndex(4);
        ImGui::Text("%s", px::dtype_is_float(r.type) ? px::value_text(r.max_abs, px::DType::F32).c_str()
                                                     : px::value_text(r.max_abs, px::DType::I32).c_str());
        ImGui::TableSetColumnIndex(5);
        ImGui::Text("%.4g", r.mean_abs);
        ImGui::TableSetColumnIndex(6);
        if (r.count) ImGui::Text("(%u, %u)", r.first_x, r.first_y);
    }
    ImGui::EndTable();
}

void divergence_line(App& app) {
    Debugger& d = app.dbg;
    if (!d.divergence) return;
    const Divergence& v = *d.divergence;
    ImGui::TextColored(kBad, "DIVERGED at step %" PRIu64 ": pc %u %s", v.step, v.pc,
                       opcode_name(v.opcode).c_str());
    if (v.differing) {
        const px::DType t = pixel_type(d, v.x, v.y);
        ImGui::TextColored(kBad,
                           "  pixel (%u, %u): CPU %s = %s, GPU %s = %s; %" PRIu64 " px of the step differ",
                           v.x, v.y, hex(v.cpu).c_str(), value_text(v.cpu, t).c_str(), hex(v.gpu).c_str(),
                           value_text(v.gpu, t).c_str(), v.differing);
    }
    if (v.registers_differ) ImGui::TextColored(kBad, "  registers differ (pc, steps, status or trap)");
}

void compare_window(App& app) {
    ModelPanels& m = app.model;
    Debugger& d = app.dbg;
    if (!m.show_compare) return;
    // Where the program view is (draw_ui's layout), so both can be seen with the other panels.
    const ImGuiViewport* vp = ImGui::GetMainViewport();
    const float top = vp->Pos.y + ImGui::GetFrameHeight(), H = vp->Size.y - 2 * ImGui::GetFrameHeight();
    ImGui::SetNextWindowPos(ImVec2(vp->Pos.x + 24, top + 24), ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(ImVec2(std::floor(vp->Size.x * 0.62f) - 24, std::floor(H * 0.68f) - 24),
                             ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowBgAlpha(1.0f); // opaque over the panel it covers
    if (!ImGui::Begin("A/B compare", &m.show_compare)) {
        ImGui::End();
        return;
    }
    refresh_b(app);
    ImGui::TextUnformatted("A: CPU now   B:");
    ImGui::SameLine();
    int with = int(m.with);
    ImGui::SetNextItemWidth(170);
    if (ImGui::Combo("##with", &with, "GPU now\0CPU after step\0")) {
        m.with = CompareWith(with);
        if (m.with == CompareWith::Gpu && !gpu_available(d)) set_gpu_enabled(d, true);
    }
    if (m.with == CompareWith::Step) {
        ImGui::SameLine();
        ImGui::SetNextItemWidth(200);
        ImGui::SliderInt("##step", &m.b_step, int(oldest_kept_step(d)), int(d.cpu.steps), "step %d");
    }
    ImGui::SameLine();
    int mode = int(m.mode);
    ImGui::RadioButton("wipe", &mode, int(AbMode::Wipe));
    ImGui::SameLine();
    ImGui::RadioButton("flicker", &mode, int(AbMode::Flicker));
    ImGui::SameLine();
    ImGui::RadioButton("difference", &mode, int(AbMode::Difference));
    m.mode = AbMode(mode);
    if (m.mode == AbMode::Flicker) {
        ImGui::SameLine();
        ImGui::SetNextItemWidth(100);
        ImGui::SliderFloat("##hz", &m.flicker_hz, 0.25f, 8, "%.2g Hz");
    }
    ImGui::SameLine();
    bool linked = m.linked;
    if (ImGui::Checkbox("linked", &linked)) {
        if (!linked) m.view = app.view; // unlinking starts where the program view is
        m.linked = linked;              // re-locking follows the program view again
    }
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip(
            "linked: this canvas shares the program view's zoom and pan; unlink to move it alone");

    bool brk = d.break_on_divergence;
    if (ImGui::Checkbox("break on divergence", &brk)) set_break_on_divergence(d, brk);
    ImGui::SameLine();
    ImGui::BeginDisabled(!gpu_available(d) || d.cpu.status != px::VmStatus::Ready);
    if (ImGui::Button("Continue to divergence")) {
        set_break_on_divergence(d, true);
        start_continue(d);
    }
    ImGui::EndDisabled();
    if (!gpu_available(d)) {
        ImGui::SameLine();
        ImGui::TextDisabled("(turn on GPU for CPU vs GPU)");
    }
    divergence_line(app);
    const float table_h = std::min(ImGui::GetContentRegionAvail().y * 0.35f, 240.0f);
    ab_canvas(app, ImVec2(ImGui::GetContentRegionAvail().x, ImGui::GetContentRegionAvail().y - table_h));
    metrics_table(app);
    ImGui::End();
}

void history_window(App& app) {
    ModelPanels& m = app.model;
    Debugger& d = app.dbg;
    if (!m.show_history) return;
    // Over the matrix inspector's place (bottom left).
    const ImGuiViewport* vp = ImGui::GetMainViewport();
    const float top = vp->Pos.y + ImGui::GetFrameHeight(), H = vp->Size.y - 2 * ImGui::GetFrameHeight();
    ImGui::SetNextWindowPos(ImVec2(vp->Pos.x, top + std::floor(H * 0.68f)), ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(ImVec2(std::floor(vp->Size.x * 0.62f), H - std::floor(H * 0.68f)),
                             ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowBgAlpha(1.0f); // opaque over the panel it covers
    if (!ImGui::Begin("Pixel history", &m.show_history)) {
        ImGui::End();
        return;
    }
    ImGui::TextUnformatted("Go to");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(260);
    if (m.focus_goto) {
        ImGui::SetKeyboardFocusHere();
        m.focus_goto = false;
    }
    if (ImGui::InputTextWithHint("##goto", "x, y | row N | matrix | name[m, n]", m.goto_buf,
                                 sizeof m.goto_buf,
                                 ImGuiInputTextFlags_EnterReturnsTrue | ImGuiInputTextFlags_AutoSelectAll))
        go_to(app, m.goto_buf);
    if (!m.goto_text.empty()) {
        ImGui::SameLine();
        ImGui::TextColored(m.goto_ok ? kGood : kBad, "%s", m.goto_text.c_str());
    }
    if (!m.pixel || !d.cpu.image.contains(m.pixel->first, m.pixel->second)) {
        ImGui::TextDisabled("pick a pixel: click it in the A/B canvas, or go to x, y or name[m, n]");
        ImGui::End();
        return;
    }
    const auto [x, y] = *m.pixel;
    const px::PixelMeaning meaning = px::describe_pixel(d.cpu.image, d.regions, d.listing, x, y);
    const std::string first_line = meaning.text.substr(0, meaning.text.find('\n'));
    const std::string second =
        meaning.text.find('\n') == std::string::npos
            ? ""
            : meaning.text.substr(meaning.text.find('\n') + 1,
                                  meaning.text.find('\n', meaning.text.find('\n') + 1) -
                                      meaning.text.find('\n') - 1);
    ImGui::Text("pixel (%u, %u)  %s", x, y, second.empty() ? first_line.c_str() : second.c_str());
    const px::Region* reg = px::region_at(d.regions, d.cpu.image, x, y);
    if (ImGui::Button("Back to its last change")) reverse_to_pixel_change(d, x, y);
    ImGui::SameLine();
    ImGui::BeginDisabled(!reg);
    if (ImGui::Button(reg ? ("Back to the last change of " + reg->name).c_str()
                          : "Back to its matrix's last change"))
        reverse_to_matrix_change(d, reg->row);
    ImGui::EndDisabled();
    ImGui::SameLine();
    if (ImGui::Button("Reverse-continue Shift+F5")) reverse_continue_cmd(app);
    if (d.last_reverse)
        ImGui::TextColored(d.last_reverse->moved ? kNote : kBad, "%s", d.last_reverse->note.c_str());

    const px::PixelHistory h = pixel_history(d, x, y);
    const px::DType t = pixel_type(d, x, y);
    if (!h.complete)
        ImGui::TextColored(kNote, "history starts at step %" PRIu64 " (older steps dropped)", h.first_step);
    ImGui::Text("%zu step(s) wrote it; now %s = %s", h.writes.size(), hex(d.cpu.image.pixel(x, y)).c_str(),
                value_text(d.cpu.image.pixel(x, y), t).c_str());
    const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY |
                                  ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_SizingFixedFit;
    if (ImGui::BeginTable("writes", 6, flags)) {
        ImGui::TableSetupScrollFreeze(0, 1);
        ImGui::TableSetupColumn("step");
        ImGui::TableSetupColumn("pc");
        ImGui::TableSetupColumn("instruction");
        ImGui::TableSetupColumn("before");
        ImGui::TableSetupColumn("after");
        ImGui::TableSetupColumn("");
        ImGui::TableHeadersRow();
        for (const px::PixelWrite& w : h.writes) {
            ImGui::TableNextRow();
            ImGui::TableSetColumnIndex(0);
            ImGui::Text("%" PRIu64, w.step);
            ImGui::TableSetColumnIndex(1);
            ImGui::Text("%u", w.pc);
            ImGui::TableSetColumnIndex(2);
            ImGui::TextUnformatted(opcode_name(w.opcode).c_str());
            ImGui::TableSetColumnIndex(3);
            ImGui::Text("%s  %s", hex(w.before).c_str(), value_text(w.before, t).c_str());
            ImGui::TableSetColumnIndex(4);
            ImGui::Text("%s  %s", hex(w.after).c_str(), value_text(w.after, t).c_str());
            ImGui::TableSetColumnIndex(5);
            if (w.changed())
                ImGui::TextColored(kNote, "changed");
            else
                ImGui::TextDisabled("same bytes");
        }
        ImGui::EndTable();
    }
    ImGui::End();
}

void refresh_stats(App& app, uint32_t row) {
    ModelPanels& m = app.model;
    const Debugger& d = app.dbg;
    if (m.stats_serial == d.change_serial && m.stats_row == row) return;
    const bool new_row = m.stats_row != row;
    m.stats_serial = d.change_serial;
    m.stats_row = row;
    m.stats_type = matrix_element_type(d, row);
    auto v = px::matrix_values(d.cpu.image, row, m.stats_type);
    m.stats_values = v ? std::move(v.value()) : std::vector<double>{};
    int64_t zp = 0;
    for (const px::Region& r : d.regions)
        if (r.row == row) zp = r.zero_point.value_or(0);
    m.stats = px::value_stats(m.stats_values, zp);
    app.ui_serial++;
    if (m.stats_auto || new_row) {
        m.stats_lo = m.stats.min;
        m.stats_hi = px::dtype_is_float(m.stats_type) && m.stats.max > m.stats.min
                         ? m.stats.max
                         : std::max(m.stats.max, m.stats.min + 1);
    }
}

void stats_window(App& app) {
    ModelPanels& m = app.model;
    Debugger& d = app.dbg;
    if (!m.show_stats) return;
    // Over the regions list's place (bottom right).
    const ImGuiViewport* vp = ImGui::GetMainViewport();
    const float top = vp->Pos.y + ImGui::GetFrameHeight(), H = vp->Size.y - 2 * ImGui::GetFrameHeight();
    const float left = std::floor(vp->Size.x * 0.62f);
    ImGui::SetNextWindowPos(ImVec2(vp->Pos.x + left, top + std::floor(H * 0.68f) - 80),
                            ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(ImVec2(vp->Size.x - left, H - std::floor(H * 0.68f) + 80),
                             ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowBgAlpha(1.0f); // opaque over the panel it covers
    if (!ImGui::Begin("Weight statistics", &m.show_stats)) {
        ImGui::End();
        return;
    }
    const px::Region* reg = selected_region(d);
    ImGui::SetNextItemWidth(220);
    if (ImGui::BeginCombo("matrix", reg ? reg->name.c_str() : "(pick one)")) {
        for (const px::Region& r : d.regions)
            if (r.shape.elements() &&
                ImGui::Selectable((r.name + "  row " + std::to_string(r.row)).c_str(), reg == &r))
                select_matrix(d, r.row);
        ImGui::EndCombo();
    }
    if (!reg) {
        ImGui::TextDisabled("pick a matrix here, in the inspector or in the program view");
        ImGui::End();
        return;
    }
    refresh_stats(app, reg->row);
    const px::ValueStats& s = m.stats;
    const bool fl = px::dtype_is_float(m.stats_type);
    ImGui::SameLine();
    ImGui::Text("%s, %" PRIu64 " elements", std::string(px::dtype_name(m.stats_type)).c_str(), s.count);
    if (s.nan || s.inf) {
        ImGui::SameLine();
        ImGui::TextColored(kBad, "  %" PRIu64 " NaN, %" PRIu64 " inf (left out of mean, std, min, max)",
                           s.nan, s.inf);
    }
    if (s.count == 0) {
        ImGui::TextColored(kBad, "no values (the header does not fit the image)");
        ImGui::End();
        return;
    }
    if (fl)
        ImGui::Text("stored: mean %.9g  std %.9g  min %.9g  max %.9g", s.mean, s.std, s.min, s.max);
    else
        ImGui::Text("stored: mean %.6g  std %.6g  min %.0f  max %.0f", s.mean, s.std, s.min, s.max);
    if (reg->scale && !fl) {
        const double sc = *reg->scale, zp = double(s.zero_point);
        ImGui::Text("real:   mean %.6g  std %.6g  min %.6g  max %.6g   (scale %.6g, zero point %" PRId64 ")",
                    sc * (s.mean - zp), sc * s.std, sc * (double(s.min) - zp), sc * (double(s.max) - zp), sc,
                    s.zero_point);
    }
    ImGui::Text("zero-point share: %.2f%% (%" PRIu64 " elements equal %" PRId64 ", real 0)",
                100 * s.zero_point_share, s.zero_point_count, s.zero_point);
    ImGui::Checkbox("auto range", &m.stats_auto);
    ImGui::SameLine();
    ImGui::SetNextItemWidth(120);
    if (ImGui::InputDouble("lo", &m.stats_lo, 0, 0, "%.6g")) m.stats_auto = false;
    ImGui::SameLine();
    ImGui::SetNextItemWidth(120);
    if (ImGui::InputDouble("hi", &m.stats_hi, 0, 0, "%.6g")) m.stats_auto = false;
    ImGui::SameLine();
    ImGui::SetNextItemWidth(120);
    ImGui::SliderInt("bins", &m.stats_bins, 2, 256);
    if (m.stats_auto) {
        m.stats_lo = s.min;
        m.stats_hi = fl && s.max > s.min ? s.max : std::max(s.max, s.min + 1);
    }
    m.hist = px::histogram(m.stats_values, m.stats_lo, m.stats_hi, uint32_t(m.stats_bins));
    std::vector<float> bins(m.hist.bins.begin(), m.hist.bins.end());
    char overlay[96];
    std::snprintf(overlay, sizeof overlay, "%d bins over [%.6g, %.6g]", m.stats_bins, m.stats_lo, m.stats_hi);
    ImGui::PlotHistogram(
        "##h", bins.data(), int(bins.size()), 0, overlay, 0, FLT_MAX,
        ImVec2(ImGui::GetContentRegionAvail().x, std::max(60.0f, ImGui::GetContentRegionAvail().y - 24)));
    if (m.stats_lo >= m.stats_hi)
        ImGui::TextColored(kBad, "lo must be below hi");
    else
        ImGui::TextDisabled("%" PRIu64 " below lo, %" PRIu64 " above hi", m.hist.below, m.hist.above);
    ImGui::End();
}

// When a run stops at a new divergence: show it (difference against the GPU, the pixel framed).
void follow_divergence(App& app) {
    ModelPanels& m = app.model;
    const Debugger& d = app.dbg;
    if (!d.divergence || d.divergence->step == m.shown_divergence) return;
    const Divergence& v = *d.divergence;
    m.shown_divergence = v.step;
    m.show_compare = true;
    m.with = CompareWith::Gpu;
    m.mode = AbMode::Difference;
    app.cursor_pc = v.pc;
    app.scroll_to_pc = true;
    if (v.differing) {
        m.pixel = std::make_pair(v.x, v.y);
        m.show_history = true;
        frame_rect(app.view, {v.x, v.y, 1, 1});
        if (!m.linked) frame_rect(m.view, {v.x, v.y, 1, 1});
    }
    set_message(app, "CPU and GPU diverged at step " + std::to_string(v.step) + " (pc " +
                         std::to_string(v.pc) + " " + opcode_name(v.opcode) + "), pixel (" +
                         std::to_string(v.x) + ", " + std::to_string(v.y) + ")");
}

} // namespace

void frame_rect(ViewState& vs, px::Rect r) {
    const ImVec2 c = vs.canvas.x > 0 ? vs.canvas : ImVec2(800, 600);
    // A single pixel: about a dozen cells around it, large enough for their labels.
    const float z = r.w * r.h == 1 ? std::clamp(std::min(c.x, c.y) / 12, 32.0f, 96.0f)
                                   : std::min({c.x / float(r.w + 2), c.y / float(r.h + 2), 64.0f});
    vs.zoom = std::clamp(z, kMinZoom, kMaxZoom);
    const glm::dvec2 center(r.x + r.w / 2.0, r.y + r.h / 2.0);
    vs.pan = center - glm::dvec2(c.x, c.y) / (2.0 * vs.zoom);
    vs.fit_pending = false;
    vs.one_to_one_pending = false;
}

void go_to(App& app, const std::string& text) {
    ModelPanels& m = app.model;
    auto t = resolve_goto(app.dbg, text);
    m.goto_ok = t.ok();
    ++m.goto_count;
    if (!t) {
        m.goto_text = t.error().message;
        app.ui_serial++;
        return;
    }
    // A matrix (or one of its elements) becomes the inspector's selection too.
    if (const px::Region* r = px::region_at(app.dbg.regions, app.dbg.cpu.image, t->rect.x, t->rect.y))
        if (!app.dbg.selected_row || *app.dbg.selected_row != r->row) select_matrix(app.dbg, r->row);
    m.goto_text = t->label;
    app.ui_serial++;
    frame_rect(app.view, t->rect);
    if (!m.linked) frame_rect(m.view, t->rect);
    if (t->rect.w == 1 && t->rect.h == 1) {
        m.pixel = std::make_pair(t->rect.x, t->rect.y);
        m.show_history = true;
    }
}

void reverse_continue_cmd(App& app) {
    const ReverseStop s = reverse_continue(app.dbg);
    app.scroll_to_pc = true;
    set_message(app, s.note);
}

namespace {

void set_panes_linked(App& app, bool linked) {
    ModelPanels& m = app.model;
    if (linked == m.panes_linked) return;
    if (!linked)
        for (ViewState& v : m.pane_views)
            v = app.view; // each pane starts where they all were
    else
        app.view = m.pane_views[0]; // re-lock to what the CPU pane shows
    m.panes_linked = linked;
    app.ui_serial++;
}

} // namespace

void run_model_action(App& app, Action a) {
    ModelPanels& m = app.model;
    switch (a) {
    case Action::ReverseContinue: reverse_continue_cmd(app); break;
    case Action::ReverseToPixelChange:
        if (m.pixel) set_message(app, reverse_to_pixel_change(app.dbg, m.pixel->first, m.pixel->second).note);
        app.scroll_to_pc = true;
        break;
    case Action::GoTo:
        m.show_history = true;
        m.focus_goto = true;
        break;
    case Action::AbCompare:
        m.show_compare = !m.show_compare;
        if (m.show_compare) m.with = gpu_available(app.dbg) ? CompareWith::Gpu : CompareWith::Step;
        break;
    case Action::AbMode:
        m.show_compare = true;
        m.mode = AbMode((int(m.mode) + 1) % 3);
        break;
    case Action::AbSource:
        m.show_compare = true;
        m.with = m.with == CompareWith::Gpu ? CompareWith::Step : CompareWith::Gpu;
        if (m.with == CompareWith::Gpu && !gpu_available(app.dbg)) set_gpu_enabled(app.dbg, true);
        break;
    case Action::WeightStats: m.show_stats = !m.show_stats; break;
    case Action::TogglePaneLink: set_panes_linked(app, !m.panes_linked); break;
    default: break;
    }
    app.ui_serial++; // the state file follows window changes too
}

ViewState& compare_pane_view(App& app, int i) {
    return app.model.panes_linked ? app.view : app.model.pane_views[std::clamp(i, 0, 2)];
}

void compare_link_checkbox(App& app) {
    bool linked = app.model.panes_linked;
    if (ImGui::Checkbox("linked##panes", &linked)) set_panes_linked(app, linked);
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("linked: CPU, GPU and difference zoom and pan together; unlink to move each alone");
}

void model_window_menu(App& app) {
    ImGui::MenuItem("A/B compare", shortcut_text(Action::AbCompare), &app.model.show_compare);
    ImGui::MenuItem("Pixel history, go to", shortcut_text(Action::GoTo), &app.model.show_history);
    ImGui::MenuItem("Weight statistics", shortcut_text(Action::WeightStats), &app.model.show_stats);
}

void model_run_menu(App& app) {
    Debugger& d = app.dbg;
    if (ImGui::MenuItem("Reverse-continue", shortcut_text(Action::ReverseContinue), false,
                        action_enabled(app, Action::ReverseContinue)))
        reverse_continue_cmd(app);
    if (ImGui::MenuItem("Back to the pixel's last change", shortcut_text(Action::ReverseToPixelChange), false,
                        action_enabled(app, Action::ReverseToPixelChange)))
        run_model_action(app, Action::ReverseToPixelChange);
    bool brk = d.break_on_divergence;
    if (ImGui::MenuItem("Break on CPU/GPU divergence", nullptr, &brk)) set_break_on_divergence(d, brk);
}

void draw_model_panels(App& app) {
    follow_divergence(app);
    compare_window(app);
    history_window(app);
    stats_window(app);
}

nlohmann::json model_state_json(const App& app) {
    const ModelPanels& m = app.model;
    const Debugger& d = app.dbg;
    nlohmann::json j;
    auto rgba = [](px::Rgba p) { return std::vector<int>{p[0], p[1], p[2], p[3]}; };
    j["break_on_divergence"] = d.break_on_divergence;
    if (d.divergence) {
        const Divergence& v = *d.divergence;
        j["divergence"] = {{"step", v.step},
                           {"pc", v.pc},
                           {"opcode", opcode_name(v.opcode)},
                           {"x", v.x},
                           {"y", v.y},
                           {"cpu", rgba(v.cpu)},
                           {"gpu", rgba(v.gpu)},
                           {"differing", v.differing},
                           {"registers_differ", v.registers_differ}};
    } else {
        j["divergence"] = nullptr;
    }
    j["reverse"] = d.last_reverse
                       ? nlohmann::json{{"moved", d.last_reverse->moved},
                                        {"steps_back", d.last_reverse->steps_back},
                                        {"change_step", d.last_reverse->change_step
                                                            ? nlohmann::json(*d.last_reverse->change_step)
                                                            : nlohmann::json(nullptr)},
                                        {"note", d.last_reverse->note}}
                       : nlohmann::json(nullptr);
    j["goto"] = {{"ok", m.goto_ok}, {"text", m.goto_text}, {"count", m.goto_count}};
    j["panes_linked"] = m.panes_linked;
    j["pane_zoom"] = {m.pane_views[0].zoom, m.pane_views[1].zoom, m.pane_views[2].zoom};
    if (m.pixel && d.cpu.image.contains(m.pixel->first, m.pixel->second)) {
        const auto [x, y] = *m.pixel;
        const px::PixelHistory h = pixel_history(d, x, y);
        const px::DType t = pixel_type(d, x, y);
        nlohmann::json writes = nlohmann::json::array();
        for (const px::PixelWrite& w : h.writes)
            writes.push_back({{"step", w.step},
                              {"pc", w.pc},
                              {"opcode", opcode_name(w.opcode)},
                              {"before", rgba(w.before)},
                              {"after", rgba(w.after)},
                              {"before_value", json_value(px::element_value(w.before, t), t)},
                              {"after_value", json_value(px::element_value(w.after, t), t)},
                              {"changed", w.changed()}});
        j["pixel_history"] = {{"x", x},
                              {"y", y},
                              {"type", std::string(px::dtype_name(t))},
                              {"complete", h.complete},
                              {"writes", writes}};
    } else {
        j["pixel_history"] = nullptr;
    }
    if (m.show_compare) {
        nlohmann::json regions = nlohmann::json::array();
        for (const px::RegionDiff& r : m.metrics.regions)
            regions.push_back({{"name", r.name},
                               {"count", r.count},
                               {"elements", r.elements},
                               {"max_abs", json_value(r.max_abs, r.type)},
                               {"type", std::string(px::dtype_name(r.type))},
                               {"mean_abs", r.mean_abs}});
        j["compare"] = {{"with", m.with == CompareWith::Gpu ? "gpu" : "step"},
                        {"step", m.b_step},
                        {"mode", mode_name(m.mode)},
                        {"linked", m.linked},
                        {"split", m.split},
                        {"error", m.b_error},
                        {"count", m.metrics.count},
                        {"regions", regions}};
    } else {
        j["compare"] = nullptr;
    }
    if (m.show_stats && m.stats_row) {
        j["stats"] = {{"row", *m.stats_row},
                      {"type", std::string(px::dtype_name(m.stats_type))},
                      {"count", m.stats.count},
                      {"nan", m.stats.nan},
                      {"inf", m.stats.inf},
                      {"mean", m.stats.mean},
                      {"std", m.stats.std},
                      {"min", json_value(m.stats.min, m.stats_type)},
                      {"max", json_value(m.stats.max, m.stats_type)},
                      {"zero_point", m.stats.zero_point},
                      {"zero_point_share", m.stats.zero_point_share},
                      {"lo", m.stats_lo},
                      {"hi", m.stats_hi},
                      {"bins", m.hist.bins},
                      {"below", m.hist.below},
                      {"above", m.hist.above}};
    } else {
        j["stats"] = nullptr;
    }
    return j;
}

} // namespace pxdbg
