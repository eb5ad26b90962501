// panel_overview.cpp — the Model window of a GPT program (panel_gpt.h's OverviewPanel): the
// regions grouped by layer as a tree (engine: gpt_model_tree), each with its shape, element type,
// quantization and value statistics (engine: gpt_region_stats), and the selected weight matrix
// through a diverging colormap centred on zero (f32) or on its zero point (u8). Clicking a node
// goes to its region (the program view and the inspector's selection, as "go to" does).
#include "app.h"

#include <imgui.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace pxdbg {
namespace {

const char* type_name(px::DType t) {
    switch (t) {
    case px::DType::U8: return "u8";
    case px::DType::F32: return "f32";
    case px::DType::F16: return "f16";
    case px::DType::I32: return "i32";
    }
    return "?";
}

void refresh_stats(App& app) {
    Debugger& d = app.dbg;
    OverviewPanel& o = app.gpt.overview;
    o.serial = d.change_serial;
    const auto t0 = std::chrono::steady_clock::now();
    o.stats.assign(d.regions.size(), std::nullopt);
    for (size_t i = 0; i < d.regions.size(); ++i)
        if (auto s = px::gpt_region_stats(d.cpu.image, d.regions[i])) o.stats[i] = *s;
    o.stats_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    app.ui_serial++;
}

// The selected region as a diverging picture (cols x rows texels), centred on 0 or its zero point,
// the range symmetric: +-max |v - centre|.
void make_picture(App& app, size_t index) {
    OverviewPanel& o = app.gpt.overview;
    const px::Region& r = app.dbg.regions[index];
    o.picture_for = index;
    o.picture_serial = app.dbg.change_serial;
    o.picture_w = o.picture_h = 0;
    auto v = px::matrix_values(app.dbg.cpu.image, r.row, r.type());
    const px::MatrixHeader h = px::decode_header(app.dbg.cpu.image.pixel(0, r.row));
    if (!v || v->size() != size_t(h.rows) * h.cols || v->empty() || h.cols > 16384 || h.rows > 16384) return;
    o.centre = double(r.zero_point.value_or(0));
    double m = 0;
    for (double x : *v)
        if (std::isfinite(x)) m = std::max(m, std::abs(x - o.centre));
    o.half_range = m;
    diverging_texture(o.picture, "overview picture", *v, h.cols, h.rows, o.centre, m);
    o.picture_w = h.cols;
    o.picture_h = h.rows;
}

void node(App& app, const px::GptTreeNode& n) {
    OverviewPanel& o = app.gpt.overview;
    const Debugger& d = app.dbg;
    if (!n.region) {
        // The model's structure open at first; the state, scratch and tokenizer groups closed.
        const bool structure =
            n.label != "state" && n.label != "activations" && n.label != "tokenizer" && n.label != "other";
        const bool open = ImGui::TreeNodeEx(n.label.c_str(), structure ? ImGuiTreeNodeFlags_DefaultOpen : 0);
        if (open) {
            for (const px::GptTreeNode& c : n.children)
                node(app, c);
            ImGui::TreePop();
        }
        return;
    }
    const size_t i = *n.region;
    const px::Region& r = d.regions[i];
    const px::MatrixHeader h = px::decode_header(d.cpu.image.pixel(0, r.row));
    char line[256];
    std::snprintf(line, sizeof line, "%s  %ux%u %s%s", r.name.c_str(), h.rows, h.cols, type_name(r.type()),
                  d.watches.count(r.row) ? "  [break on write]" : "");
    const bool selected = d.selected_row && *d.selected_row == r.row;
    ImGui::TreeNodeEx(r.name.c_str(),
                      ImGuiTreeNodeFlags_Leaf | ImGuiTreeNodeFlags_NoTreePushOnOpen |
                          (selected ? ImGuiTreeNodeFlags_Selected : 0),
                      "%s", line);
    const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
    o.node_at.emplace_back(r.name, std::array<float, 2>{(a.x + b.x) / 2, (a.y + b.y) / 2});
    if (ImGui::IsItemClicked()) {
        go_to(app, r.name);
        o.clicked = r.name;
        app.ui_serial++;
    }
    if (ImGui::IsItemHovered()) {
        ImGui::BeginTooltip();
        ImGui::Text("%s: row %u, reserved %ux%u, now %ux%u, %s", r.name.c_str(), r.row, r.shape.rows,
                    r.shape.cols, h.rows, h.cols, type_name(r.type()));
        if (r.scale || r.zero_point)
            ImGui::Text("quantized: scale %.9g, zero point %d", r.scale.value_or(0.0),
                        r.zero_point.value_or(0));
        else
            ImGui::TextDisabled("not quantized");
        if (i < o.stats.size() && o.stats[i]) {
            const px::ValueStats& s = *o.stats[i];
            ImGui::Text("min %.6g  max %.6g  mean %.6g  std %.6g  (%llu values, %llu NaN, %llu inf)", s.min,
                        s.max, s.mean, s.std, (unsigned long long)s.count, (unsigned long long)s.nan,
                        (unsigned long long)s.inf);
        }
        ImGui::EndTooltip();
    }
}

// "Break on write" for the selected region (the debugger's watches: F5 stops after a step that
// writes it), and the watches and GPT layer breakpoints set, by name and label.
void watch_controls(App& app) {
    Debugger& d = app.dbg;
    OverviewPanel& o = app.gpt.overview;
    const px::Region* sel = selected_region(d);
    const bool on = sel && d.watches.count(sel->row) > 0;
    const std::string label = !sel ? std::string("Break on write (select a region)")
                              : on ? "Stop breaking on writes to " + sel->name
                                   : "Break on write: " + sel->name;
    ImGui::BeginDisabled(!sel);
    const ImVec2 at = ImGui::GetCursorScreenPos();
    if (ImGui::SmallButton((label + "###watch").c_str()) && sel) {
        toggle_watch(d, sel->row);
        set_message(app, std::string(on ? "no longer watching " : "break on write: ") + sel->name);
        app.ui_serial++;
    }
    const ImVec2 sz = ImGui::GetItemRectSize();
    o.watch_at = {at.x + sz.x / 2, at.y + sz.y / 2};
    ImGui::EndDisabled();
    std::string list;
    for (uint32_t row : d.watches) {
        std::string name = "row " + std::to_string(row);
        for (const px::Region& r : d.regions)
            if (r.row == row) name = r.name;
        list += (list.empty() ? "watching " : ", ") + name;
    }
    for (const LayerBreakpoint& b : d.layer_breakpoints)
        list += (list.empty() ? "" : "; ") + std::string("break at ") + b.label();
    if (!list.empty()) {
        ImGui::SameLine();
        ImGui::TextDisabled("%s", list.c_str());
    }
}

} // namespace

std::array<uint8_t, 4> diverging(double t) {
    if (!std::isfinite(t)) return {0, 0, 0, 255};
    t = std::clamp(t, -1.0, 1.0);
    const double a = 1.0 - std::abs(t);
    const uint8_t fade = uint8_t(std::lround(255.0 * a));
    return t < 0 ? std::array<uint8_t, 4>{fade, fade, 255, 255}
                 : std::array<uint8_t, 4>{255, fade, fade, 255};
}

void diverging_texture(GlTexture& texture, const char* label, std::span<const double> values, uint32_t cols,
                       uint32_t rows, double centre, double half_range) {
    std::vector<uint8_t> rgba(values.size() * 4);
    for (size_t i = 0; i < values.size(); ++i) {
        const auto c = diverging(half_range > 0 ? (values[i] - centre) / half_range : 0.0);
        std::copy(c.begin(), c.end(), rgba.begin() + ptrdiff_t(i * 4));
    }
    if (!texture.get()) texture = px::gl::make_texture(GL_TEXTURE_2D, label);
    glBindTexture(GL_TEXTURE_2D, texture.get());
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, GLsizei(cols), GLsizei(rows), 0, GL_RGBA, GL_UNSIGNED_BYTE,
                 rgba.data());
    glBindTexture(GL_TEXTURE_2D, 0);
}

void draw_overview_window(App& app) {
    Debugger& d = app.dbg;
    GptPanel& g = app.gpt;
    OverviewPanel& o = g.overview;
    if (!g.is_gpt || !o.show) return;
    const ImGuiViewport* vp = ImGui::GetMainViewport();
    ImGui::SetNextWindowPos(ImVec2(vp->Pos.x + 40, vp->Pos.y + 630), ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(ImVec2(640, 360), ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowBgAlpha(1.0f);
    if (!ImGui::Begin("Model", &o.show)) {
        ImGui::End();
        return;
    }
    if (o.load_serial != d.load_serial) {
        o.load_serial = d.load_serial;
        o.tree = px::gpt_model_tree(d.regions, g.regions.config.layers);
        o.serial = ~0ull;
        o.picture_for.reset();
    }
    if (o.serial != d.change_serial && !g.stepping && !d.running) refresh_stats(app);
    o.node_at.clear();
    ImGui::TextDisabled("regions by layer (debug symbols); hover: shape, type, statistics (%.1f ms)",
                        o.stats_ms);
    watch_controls(app);
    const float pic_h = 130;
    if (ImGui::BeginChild("tree", ImVec2(0, std::max(100.0f, ImGui::GetContentRegionAvail().y - pic_h)),
                          true))
        node(app, o.tree);
    ImGui::EndChild();
    // The selected region's picture.
    std::optional<size_t> sel;
    for (size_t i = 0; i < d.regions.size(); ++i)
        if (d.selected_row && d.regions[i].row == *d.selected_row) sel = i;
    if (sel && (o.picture_for != sel || o.picture_serial != d.change_serial) && !g.stepping && !d.running)
        make_picture(app, *sel);
    if (sel && o.picture_for == sel && o.picture_w > 0) {
        const px::Region& r = d.regions[*sel];
        ImGui::Text("%s: blue < %g < red, +-%.6g (diverging)", r.name.c_str(), o.centre, o.half_range);
        const float avail = ImGui::GetContentRegionAvail().x, h = ImGui::GetContentRegionAvail().y;
        const float s = std::min(avail / float(o.picture_w), h / float(o.picture_h));
        ImGui::Image((ImTextureID)(intptr_t)o.picture.get(),
                     ImVec2(float(o.picture_w) * s, float(o.picture_h) * s));
    } else {
        ImGui::TextDisabled("click a region to see it");
    }
    ImGui::End();
}

nlohmann::json overview_state_json(const App& app) {
    const OverviewPanel& o = app.gpt.overview;
    const Debugger& d = app.dbg;
    std::function<nlohmann::json(const px::GptTreeNode&)> tree =
        [&](const px::GptTreeNode& n) -> nlohmann::json {
        if (n.region) {
            const px::Region& r = d.regions[*n.region];
            nlohmann::json j{
                {"name", r.name},
                {"row", r.row},
                {"type", type_name(r.type())},
                {"scale", r.scale ? nlohmann::json(*r.scale) : nlohmann::json(nullptr)},
                {"zero_point", r.zero_point ? nlohmann::json(*r.zero_point) : nlohmann::json(nullptr)}};
            const px::MatrixHeader h = px::decode_header(d.cpu.image.pixel(0, r.row));
            j["shape"] = {h.rows, h.cols};
            if (*n.region < o.stats.size() && o.stats[*n.region]) {
                const px::ValueStats& s = *o.stats[*n.region];
                j["stats"] = {{"count", s.count}, {"min", s.min}, {"max", s.max}, {"mean", s.mean},
                              {"std", s.std},     {"nan", s.nan}, {"inf", s.inf}};
            }
            return j;
        }
        nlohmann::json c = nlohmann::json::array();
        for (const px::GptTreeNode& k : n.children)
            c.push_back(tree(k));
        return {{"group", n.label}, {"children", c}};
    };
    nlohmann::json at = nlohmann::json::object();
    for (const auto& [name, p] : o.node_at)
        at[name] = p;
    return {{"show", o.show},
            {"tree", tree(o.tree)},
            {"serial", o.serial},
            {"clicked", o.clicked},
            {"node_at", at},
            {"watch_at", o.watch_at},
            {"picture", o.picture_w ? nlohmann::json{{"w", o.picture_w},
                                                     {"h", o.picture_h},
                                                     {"centre", o.centre},
                                                     {"half_range", o.half_range}}
                                    : nlohmann::json(nullptr)}};
}

} // namespace pxdbg
