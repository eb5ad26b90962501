// panel_attention.cpp — the Attention window of a GPT program (panel_gpt.h's AttentionPanel).
//
// The probabilities come from the engine (gpt_layer_attention walks the step history and
// recomputes each FATTENTION's or QATTENTION's softmax with the kernel's own functions); this file only
// lays them out, colours them and turns a click into a "go to" of the key cache elements.
#include "app.h"

#include "layout.h"

#include <imgui.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace pxdbg {
namespace {

// Viridis at five stops, linear in between: p = 0 dark, p = 1 yellow.
ImU32 prob_color(float p) {
    static const float stops[5][3] = {{0.267f, 0.005f, 0.329f},
                                      {0.230f, 0.322f, 0.546f},
                                      {0.128f, 0.567f, 0.551f},
                                      {0.369f, 0.789f, 0.383f},
                                      {0.993f, 0.906f, 0.144f}};
    if (!std::isfinite(p)) return IM_COL32(40, 40, 40, 255);
    const float x = std::clamp(p, 0.0f, 1.0f) * 4.0f;
    const int i = std::min(int(x), 3);
    const float f = x - float(i);
    auto c = [&](int k) { return int(255.0f * (stops[i][k] + f * (stops[i + 1][k] - stops[i][k]))); };
    return IM_COL32(c(0), c(1), c(2), 255);
}

std::string token_label(const GptPanel& g, uint32_t pos) {
    if (pos >= g.tokens.size()) return "?";
    std::string s = px::escape_bytes(px::gpt_token_bytes(g.bpe, g.tokens[pos]));
    return s.empty() ? "?" : s;
}

void refresh(App& app) {
    Debugger& d = app.dbg;
    GptPanel& g = app.gpt;
    AttentionPanel& a = g.attention;
    a.serial = d.change_serial;
    a.for_layer = a.layer;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = px::gpt_layer_attention(d.history, d.cpu.image, g.regions, uint32_t(a.layer));
    a.compute_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!r) {
        a.error = r.error().message;
        a.att = {};
    } else {
        a.error.clear();
        a.att = std::move(r.value());
    }
    a.head = std::clamp(a.head, 0, std::max(int(a.att.heads) - 1, 0));
    app.ui_serial++;
}

void tooltip(const GptPanel& g, const AttentionCell& c) {
    ImGui::BeginTooltip();
    ImGui::Text("layer %d, head %u", g.attention.layer, c.head);
    ImGui::Text("query %u \"%s\" -> key %u \"%s\"", c.query, token_label(g, c.query).c_str(), c.key,
                token_label(g, c.key).c_str());
    ImGui::Text("p = %.6f", double(c.p));
    ImGui::TextDisabled("%s's softmax, recomputed by the engine; click: go to the key",
                        g.attention.att.op.empty() ? "the attention" : g.attention.att.op.c_str());
    ImGui::EndTooltip();
}

// A cell of the strips or the map was clicked: select its head, make the key cache the selected
// matrix and bring the head's hd elements of row `key` (the key the cell weighs) into view.
void click(App& app, const AttentionCell& c) {
    AttentionPanel& a = app.gpt.attention;
    Debugger& d = app.dbg;
    a.clicked = c;
    a.head = int(c.head);
    const std::string name = region_name(d, a.att.k_cache);
    const uint32_t D = app.gpt.regions.config.width, hd = a.att.heads ? D / a.att.heads : 0;
    const uint32_t w = d.cpu.image.width;
    const uint64_t i0 = uint64_t(c.key) * D + uint64_t(c.head) * hd, i1 = i0 + hd - 1;
    const uint32_t x0 = px::element_x(i0, w), x1 = px::element_x(i1, w);
    const uint64_t y0 = px::element_y(i0, a.att.k_cache, w), y1 = px::element_y(i1, a.att.k_cache, w);
    const px::Rect rect = y0 == y1 ? px::Rect{x0, uint32_t(y0), x1 - x0 + 1, 1}
                                   : px::Rect{1, uint32_t(y0), w - 1, uint32_t(y1 - y0 + 1)};
    if (!d.selected_row || *d.selected_row != a.att.k_cache) select_matrix(d, a.att.k_cache);
    frame_rect(app.view, rect);
    a.clicked_goto = name + " [" + std::to_string(c.key) + ", " + std::to_string(c.head * hd) + ".." +
                     std::to_string(c.head * hd + hd - 1) + "] at pixels (" + std::to_string(x0) + ", " +
                     std::to_string(y0) + ")..(" + std::to_string(x1) + ", " + std::to_string(y1) + ")";
    set_message(app, "attention cell: " + a.clicked_goto);
    app.ui_serial++;
}

// One cell: a filled square; hover and click handled by the caller through the returned state.
bool cell(ImDrawList* dl, ImVec2 at, ImVec2 size, float p, bool marked) {
    const ImVec2 end(at.x + size.x, at.y + size.y);
    dl->AddRectFilled(at, end, prob_color(p));
    if (marked) dl->AddRect(at, end, IM_COL32(255, 80, 80, 255), 0, 0, 2.0f);
    return ImGui::IsMouseHoveringRect(at, end) && ImGui::IsWindowHovered();
}

// "Break at layer L head H": the engine finds the layer's attention instructions in row 0
// (gpt_attention_pcs; no opcode here) and the debugger stops before each of them.
void break_button(App& app) {
    Debugger& d = app.dbg;
    AttentionPanel& a = app.gpt.attention;
    const uint32_t layer = uint32_t(a.layer), head = uint32_t(a.head);
    const bool set =
        std::any_of(d.layer_breakpoints.begin(), d.layer_breakpoints.end(),
                    [&](const LayerBreakpoint& b) { return b.layer == layer && b.head == head; });
    const std::string label = std::string(set ? "Remove break at layer " : "Break at layer ") +
                              std::to_string(layer) + " head " + std::to_string(head) + "###layer_break";
    const ImVec2 at = ImGui::GetCursorScreenPos();
    if (ImGui::SmallButton(label.c_str())) {
        auto pcs = px::gpt_attention_pcs(d.cpu.image, app.gpt.regions, layer);
        if (!pcs) {
            a.break_error = pcs.error().message;
        } else {
            a.break_error.clear();
            toggle_layer_breakpoint(d, layer, head, std::move(pcs.value()));
            set_message(app, std::string(set ? "removed" : "set") + " the breakpoint layer " +
                                 std::to_string(layer) + " head " + std::to_string(head));
        }
        app.ui_serial++;
    }
    const ImVec2 sz = ImGui::GetItemRectSize();
    a.break_at = {at.x + sz.x / 2, at.y + sz.y / 2};
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("stop (F5) before this layer's attention instruction, in the prefill and every "
                          "decode pass; the window then shows the layer and selects the head");
    std::string list;
    for (const LayerBreakpoint& b : d.layer_breakpoints)
        list += (list.empty() ? "" : ", ") + b.label();
    if (!list.empty()) {
        ImGui::SameLine();
        ImGui::TextDisabled("breakpoints: %s", list.c_str());
    }
    if (!a.break_error.empty()) ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "%s", a.break_error.c_str());
    // A layer breakpoint stops before the instruction: this position's row appears once it runs.
    if (d.layer_hit && int(d.layer_hit->layer) == a.layer && !d.running)
        ImGui::TextColored(ImVec4(1, 0.85f, 0.4f, 1),
                           "stopped before this layer's attention (pc %u): Step (F10) runs it", d.cpu.pc);
}

} // namespace

void draw_attention_window(App& app) {
    Debugger& d = app.dbg;
    GptPanel& g = app.gpt;
    AttentionPanel& a = g.attention;
    // A layer breakpoint was hit: show its layer with its head selected, once per stop.
    if (g.is_gpt && d.layer_hit && a.shown_stop != d.stop_serial) {
        a.shown_stop = d.stop_serial;
        a.show = true;
        a.layer = int(std::min(d.layer_hit->layer, std::max(g.regions.config.layers, 1u) - 1));
        a.head = int(d.layer_hit->head);
        app.ui_serial++;
    }
    if (!g.is_gpt || !a.show) return;
    const ImGuiViewport* vp = ImGui::GetMainViewport();
    ImGui::SetNextWindowPos(ImVec2(vp->Pos.x + 700, vp->Pos.y + 60), ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(ImVec2(880, 460), ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowBgAlpha(1.0f);
    if (!ImGui::Begin("Attention", &a.show)) {
        ImGui::End();
        return;
    }
    // Recomputed when the debugger stopped changing (not on every step of a Next token).
    if ((a.serial != d.change_serial || a.for_layer != a.layer) && !g.stepping && !d.running) refresh(app);
    const std::optional<AttentionCell> was = a.hovered;
    a.hovered.reset();
    a.layer_at.clear();
    a.strip_at.clear();

    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("layer");
    for (uint32_t l = 0; l < g.regions.config.layers; ++l) {
        ImGui::SameLine();
        const bool on = int(l) == a.layer;
        if (on) ImGui::PushStyleColor(ImGuiCol_Button, ImVec4(0.26f, 0.59f, 0.98f, 1));
        const ImVec2 at = ImGui::GetCursorScreenPos();
        if (ImGui::SmallButton(std::to_string(l).c_str())) a.layer = int(l);
        const ImVec2 sz = ImGui::GetItemRectSize();
        a.layer_at.push_back({at.x + sz.x / 2, at.y + sz.y / 2});
        if (on) ImGui::PopStyleColor();
    }
    ImGui::SameLine();
    ImGui::TextDisabled("(%.1f ms)", a.compute_ms);
    break_button(app);
    if (!a.error.empty()) {
        ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "%s", a.error.c_str());
        ImGui::End();
        return;
    }
    const px::GptAttention& at = a.att;
    const uint32_t L = at.length;
    if (at.op == "QATTENTION")
        ImGui::Text("%u positions, %zu with their QATTENTION step in the history (integer softmax, p = "
                    "P / 2^22); heads %u",
                    L, at.known(), at.heads);
    else
        ImGui::Text("%u positions, %zu with their %s step in the history; scale %.9g; heads %u", L,
                    at.known(), at.op.empty() ? "attention" : at.op.c_str(), double(at.scale), at.heads);
    if (L == 0 || at.known() == 0) {
        ImGui::TextDisabled(
            "no attention step of this layer has run yet (or it is no longer in the history)");
        ImGui::End();
        return;
    }
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const float line = ImGui::GetTextLineHeight();
    const float label_w = ImGui::CalcTextSize("head 00 ").x;

    // ---- Every head for the newest query position with a known step ----
    uint32_t t = L;
    while (t-- > 0 && at.step[t] == 0) {
    }
    ImGui::Separator();
    ImGui::Text("query position %u \"%s\" (step %" PRIu64 "): every head over the context", t,
                token_label(g, t).c_str(), at.step[t]);
    const float avail = ImGui::GetContentRegionAvail().x - label_w;
    const float cw = std::clamp(avail / float(t + 1), 3.0f, 48.0f), ch = 18.0f;
    a.strip_cell = {cw, ch};
    ImVec2 o = ImGui::GetCursorScreenPos();
    // Token labels above the cells, clipped to each cell.
    for (uint32_t j = 0; j <= t; ++j) {
        const ImVec2 p0(o.x + label_w + float(j) * cw, o.y);
        const ImVec4 clip(p0.x, p0.y, p0.x + cw - 1, p0.y + line);
        dl->AddText(nullptr, 0.0f, p0, IM_COL32(200, 200, 200, 255), token_label(g, j).c_str(), nullptr, 0.0f,
                    &clip);
    }
    o.y += line + 2;
    for (uint32_t h = 0; h < at.heads; ++h) {
        const ImVec2 row(o.x, o.y + float(h) * (ch + 2));
        dl->AddText(ImVec2(row.x, row.y + 1), IM_COL32(220, 220, 220, 255),
                    ("head " + std::to_string(h)).c_str());
        a.strip_at.push_back({row.x + label_w, row.y});
        for (uint32_t j = 0; j <= t; ++j) {
            const float p = at.at(h, t, j);
            const bool marked =
                a.clicked && a.clicked->head == h && a.clicked->query == t && a.clicked->key == j;
            if (cell(dl, ImVec2(row.x + label_w + float(j) * cw, row.y), ImVec2(cw - 1, ch), p, marked))
                a.hovered = AttentionCell{h, t, j, p};
        }
    }
    ImGui::Dummy(ImVec2(label_w + float(t + 1) * cw, line + 2 + float(at.heads) * (ch + 2)));

    // ---- One head's full map: query rows x key columns ----
    ImGui::Separator();
    ImGui::Text(
        "head %d: every query position (rows) over the keys (columns); click a head's strip to pick it",
        a.head);
    const ImVec2 avail2 = ImGui::GetContentRegionAvail();
    const float lab = std::min(ImGui::CalcTextSize("0000 wwwwww").x, avail2.x * 0.3f);
    const float cs = std::clamp(std::min(avail2.x - lab, avail2.y - line - 4) / float(L), 2.0f, 32.0f);
    a.map_cell = cs;
    o = ImGui::GetCursorScreenPos();
    const ImVec2 m0(o.x + lab, o.y + line + 2);
    a.map_at = {m0.x, m0.y};
    const bool labels = cs >= line;
    for (uint32_t j = 0; j < L && labels; ++j) { // key tokens above the columns
        const ImVec2 p0(m0.x + float(j) * cs, o.y);
        const ImVec4 clip(p0.x, p0.y, p0.x + cs - 1, p0.y + line);
        dl->AddText(nullptr, 0.0f, p0, IM_COL32(200, 200, 200, 255), token_label(g, j).c_str(), nullptr, 0.0f,
                    &clip);
    }
    const uint32_t h = uint32_t(a.head);
    for (uint32_t q = 0; q < L; ++q) {
        const float y = m0.y + float(q) * cs;
        if (labels || q % 8 == 0) { // query tokens left of the rows
            char buf[64];
            std::snprintf(buf, sizeof buf, "%u %s", q, token_label(g, q).c_str());
            const ImVec4 clip(o.x, y, m0.x - 2, y + std::max(cs, line));
            dl->AddText(nullptr, 0.0f, ImVec2(o.x, y), IM_COL32(200, 200, 200, 255), buf, nullptr, 0.0f,
                        &clip);
        }
        if (at.step[q] == 0) continue;
        for (uint32_t j = 0; j <= q; ++j) {
            const float p = at.at(h, q, j);
            const bool marked =
                a.clicked && a.clicked->head == h && a.clicked->query == q && a.clicked->key == j;
            if (cell(dl, ImVec2(m0.x + float(j) * cs, y),
                     ImVec2(std::max(cs - 1, 1.0f), std::max(cs - 1, 1.0f)), p, marked))
                a.hovered = AttentionCell{h, q, j, p};
        }
    }
    ImGui::Dummy(ImVec2(lab + float(L) * cs, line + 2 + float(L) * cs));

    if (a.hovered) {
        tooltip(g, *a.hovered);
        if (ImGui::IsMouseClicked(ImGuiMouseButton_Left)) click(app, *a.hovered);
    }
    const auto same = [](const std::optional<AttentionCell>& x, const std::optional<AttentionCell>& y) {
        return x.has_value() == y.has_value() &&
               (!x || (x->head == y->head && x->query == y->query && x->key == y->key));
    };
    if (!same(was, a.hovered)) app.ui_serial++; // the state file says which cell the tooltip is for
    ImGui::End();
}

nlohmann::json attention_state_json(const App& app) {
    const GptPanel& g = app.gpt;
    const AttentionPanel& a = g.attention;
    const px::GptAttention& at = a.att;
    auto cell_json = [&](const std::optional<AttentionCell>& c) -> nlohmann::json {
        if (!c) return nullptr;
        return {{"head", c->head},
                {"query", c->query},
                {"key", c->key},
                {"p", double(c->p)},
                {"query_id", c->query < g.tokens.size() ? g.tokens[c->query] : -1},
                {"key_id", c->key < g.tokens.size() ? g.tokens[c->key] : -1}};
    };
    // The probabilities shown: [head][query][key <= query] (an empty row: its step is not kept).
    nlohmann::json p = nlohmann::json::array();
    for (uint32_t h = 0; h < at.heads; ++h) {
        nlohmann::json rows = nlohmann::json::array();
        for (uint32_t t = 0; t < at.length; ++t) {
            nlohmann::json row = nlohmann::json::array();
            if (at.step[t] != 0)
                for (uint32_t j = 0; j <= t; ++j)
                    row.push_back(double(at.at(h, t, j)));
            rows.push_back(std::move(row));
        }
        p.push_back(std::move(rows));
    }
    return {
        {"show", a.show},
        {"layer", a.layer},
        {"head", a.head},
        {"error", a.error},
        {"length", at.length},
        {"op", at.op},
        {"heads", at.heads},
        {"k_cache_row", at.k_cache},
        {"q_row", at.q},
        {"steps", at.step},
        {"serial", a.serial},
        {"p", at.length <= 64 ? p : nlohmann::json(nullptr)}, // the tests' sizes; a trained context is 256
        {"hovered", cell_json(a.hovered)},
        {"clicked", cell_json(a.clicked)},
        {"clicked_goto", a.clicked_goto},
        {"layer_at", a.layer_at},
        {"strip_at", a.strip_at},
        {"strip_cell", a.strip_cell},
        {"map_at", a.map_at},
        {"map_cell", a.map_cell},
        {"break_at", a.break_at},
        {"break_error", a.break_error},
        {"compute_ms", a.compute_ms}};
}

} // namespace pxdbg
