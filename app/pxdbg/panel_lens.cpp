// panel_lens.cpp — the Lens window of a uint8 GPT program (panel_gpt.h's LensPanel): the float32
// program of the same weights opened beside it, one activation region at a time as the uint8
// program holds it now (dequantized), the float32 program's after the same tokens, and their
// difference, each through the diverging colormap, with the engine's error statistics; and the
// two programs' next-token candidates side by side. Every value comes from the engine
// (gpt_quant_lens, gpt_reference_top_k); this file lays them out and remembers what is hovered.
#include "app.h"

#include "png_io.h"

#include <imgui.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace pxdbg {
namespace {

const ImVec4 kBad(1, 0.4f, 0.4f, 1);
const char* const kPictureNames[3] = {"uint8 program (dequantized)", "float32 program", "difference"};

std::string token_text(const GptPanel& g, uint32_t pos) {
    if (pos >= g.tokens.size()) return "?";
    return px::escape_bytes(px::gpt_token_bytes(g.bpe, g.tokens[pos]));
}

void refresh_activations(App& app) {
    LensPanel& l = app.gpt.lens;
    l.load_serial = app.dbg.load_serial;
    l.activations = px::gpt_lens_activations(app.gpt.regions, app.dbg.regions);
    l.serial = ~0ull;
    if (l.selected >= int(l.activations.size())) l.selected = -1;
    if (l.selected < 0) {
        // The last layer's residual: where every layer's quantization error has accumulated.
        const std::string want = "layer" + std::to_string(app.gpt.regions.config.layers - 1) + ".x_out";
        for (size_t i = 0; i < l.activations.size(); ++i)
            if (l.activations[i] == want) l.selected = int(i);
    }
}

void refresh(App& app) {
    Debugger& d = app.dbg;
    GptPanel& g = app.gpt;
    LensPanel& l = g.lens;
    l.serial = d.change_serial;
    l.for_selected = l.selected;
    l.lens.reset();
    l.error.clear();
    l.hovered.reset();
    app.ui_serial++;
    if (!l.reference || l.selected < 0) {
        l.reference_top.clear();
        l.reference_top_note.clear();
        l.reference_top_for.clear();
        return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto lens = px::gpt_quant_lens(d.cpu.image, g.regions, d.regions, d.cpu.pc, *l.reference,
                                   l.activations[size_t(l.selected)]);
    if (!lens) {
        l.error = lens.error().message;
    } else {
        l.lens = std::move(*lens);
        const px::GptLens& s = *l.lens;
        double m = 0;
        for (size_t i = 0; i < s.reference.size(); ++i)
            for (double v : {s.quantized[i], s.reference[i]})
                if (std::isfinite(v)) m = std::max(m, std::abs(v));
        l.value_range = m;
        diverging_texture(l.pictures[0], "lens uint8", s.quantized, s.at.cols, s.at.rows, 0, m);
        diverging_texture(l.pictures[1], "lens float32", s.reference, s.at.cols, s.at.rows, 0, m);
        diverging_texture(l.pictures[2], "lens difference", s.difference, s.at.cols, s.at.rows, 0, s.max_abs);
    }
    // The float32 program's candidates after the tokens the uint8 logits row was computed from.
    auto logits = std::find_if(d.regions.begin(), d.regions.end(),
                               [](const px::Region& r) { return r.name == "logits"; });
    // A float32 prefill: only when the tokens differ from the last one's (choosing another
    // activation keeps them).
    const uint32_t k = uint32_t(std::max<size_t>(g.top.size(), 1));
    auto set_note = [&](std::string note) {
        l.reference_top.clear();
        l.reference_top_for.clear();
        l.reference_top_note = std::move(note);
    };
    if (logits == d.regions.end()) {
        set_note("no logits region");
    } else if (auto at = px::gpt_activation_positions(d.cpu.image, g.regions, *logits, d.cpu.pc); !at) {
        set_note(at.error().message);
    } else {
        const std::vector<int32_t> ids(
            g.tokens.begin(), g.tokens.begin() + ptrdiff_t(std::min<size_t>(at->sequence, g.tokens.size())));
        if (ids != l.reference_top_for || l.reference_top.size() != k) {
            auto top = px::gpt_reference_top_k(*l.reference, ids, k);
            if (!top) {
                set_note(top.error().message);
            } else {
                l.reference_top = std::move(*top);
                l.reference_top_for = ids;
                l.reference_top_note.clear();
            }
        }
    }
    l.compute_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void tooltip(const GptPanel& g, const px::GptLens& s, const LensHover& h) {
    ImGui::BeginTooltip();
    const uint32_t pos = s.at.first + h.row;
    ImGui::Text("%s [%u, %u]: position %u \"%s\"", s.name.c_str(), h.row, h.col, pos,
                token_text(g, pos).c_str());
    ImGui::Text("uint8 program  %.9g", h.quantized);
    ImGui::Text("float32        %.9g", h.reference);
    if (px::dtype_is_float(s.type))
        ImGui::Text("difference     %.9g", h.difference);
    else
        ImGui::Text("difference     %.9g (%.3f quantization steps)", h.difference, h.difference / s.scale);
    ImGui::EndTooltip();
}

void candidates(const GptPanel& g) {
    const LensPanel& l = g.lens;
    ImGui::TextDisabled("next-token candidates after the same tokens: uint8 program | float32 program");
    if (!l.reference_top_note.empty()) ImGui::TextColored(kBad, "%s", l.reference_top_note.c_str());
    const size_t n = std::max(g.top.size(), l.reference_top.size());
    if (n == 0 || !ImGui::BeginTable("lens top", 5,
                                     ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV |
                                         ImGuiTableFlags_SizingFixedFit))
        return;
    ImGui::TableSetupColumn("#");
    ImGui::TableSetupColumn("uint8", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn("p (u8)");
    ImGui::TableSetupColumn("float32", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn("p (f32)");
    ImGui::TableHeadersRow();
    for (size_t i = 0; i < n; ++i) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::Text("%zu", i + 1);
        for (const auto* list : {&g.top, &l.reference_top}) {
            ImGui::TableNextColumn();
            if (i < list->size()) {
                const px::GptCandidate& c = (*list)[i];
                ImGui::Text("%d \"%s\"", c.id, px::escape_bytes(px::gpt_token_bytes(g.bpe, c.id)).c_str());
                ImGui::TableNextColumn();
                ImGui::Text("%.6f", c.probability);
            } else {
                ImGui::TableNextColumn();
            }
        }
    }
    ImGui::EndTable();
}

} // namespace

void open_lens_reference(App& app, const std::string& path) {
    LensPanel& l = app.gpt.lens;
    std::snprintf(l.path, sizeof l.path, "%s", path.c_str());
    l.reference.reset();
    l.reference_path.clear();
    l.reference_top_for.clear(); // the candidates are the old reference's
    l.serial = ~0ull;
    app.ui_serial++;
    auto img = px::load_png(path);
    if (!img) {
        l.reference_error = img.error().message;
        return;
    }
    auto ref = px::open_gpt_float_reference(std::move(img->image), app.gpt.regions);
    if (!ref) {
        l.reference_error = path + ": " + ref.error().message;
        return;
    }
    l.reference_error.clear();
    l.reference = std::move(*ref);
    l.reference_path = path;
    set_message(app, "lens: float32 program " + path);
}

void draw_lens_window(App& app) {
    Debugger& d = app.dbg;
    GptPanel& g = app.gpt;
    LensPanel& l = g.lens;
    if (!g.is_gpt || !g.regions.weights_u8 || !l.show) return;
    if (l.load_serial != d.load_serial) {
        refresh_activations(app);
        // A reference named before the uint8 program was known (--reference) opens now; one
        // opened for another program is checked against this one again.
        if (l.path[0] &&
            (l.reference ? !px::gpt_reference_mismatch(l.reference->regions.config, g.regions.config).empty()
                         : l.reference_error.empty()))
            open_lens_reference(app, l.path);
    }
    if ((l.serial != d.change_serial || l.for_selected != l.selected) && !g.stepping && !d.running)
        refresh(app);
    const ImGuiViewport* vp = ImGui::GetMainViewport();
    ImGui::SetNextWindowPos(ImVec2(vp->Pos.x + 700, vp->Pos.y + 530), ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(ImVec2(880, 460), ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowBgAlpha(1.0f);
    if (!ImGui::Begin("Quantization lens", &l.show)) {
        ImGui::End();
        return;
    }
    ImGui::SetNextItemWidth(-150);
    const bool enter =
        ImGui::InputText("##reference", l.path, sizeof l.path, ImGuiInputTextFlags_EnterReturnsTrue);
    ImGui::SameLine();
    if (ImGui::Button("Open float32") || enter) open_lens_reference(app, l.path);
    if (!l.reference_error.empty()) ImGui::TextColored(kBad, "%s", l.reference_error.c_str());
    if (!l.reference) {
        ImGui::TextDisabled("open the float32 program of the same weights (pxi gpt without --dtype u8)");
        ImGui::End();
        return;
    }
    ImGui::SetNextItemWidth(260);
    const char* current = l.selected >= 0 ? l.activations[size_t(l.selected)].c_str() : "(choose)";
    const ImVec2 c0 = ImGui::GetCursorScreenPos();
    l.combo_at = {c0.x + 130, c0.y + ImGui::GetFrameHeight() / 2};
    const bool was_open = l.combo_open;
    l.combo_open = ImGui::BeginCombo("activation", current, ImGuiComboFlags_HeightLargest);
    l.item_at.clear();
    if (l.combo_open) {
        for (size_t i = 0; i < l.activations.size(); ++i) {
            if (ImGui::Selectable(l.activations[i].c_str(), int(i) == l.selected)) l.selected = int(i);
            if (ImGui::IsItemVisible()) {
                const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
                l.item_at.emplace_back(l.activations[i],
                                       std::array<float, 2>{(a.x + b.x) / 2, (a.y + b.y) / 2});
            }
        }
        ImGui::EndCombo();
    }
    if (l.combo_open != was_open) app.ui_serial++;
    ImGui::SameLine();
    ImGui::TextDisabled("(%.1f ms)", l.compute_ms);
    if (l.serial != d.change_serial) ImGui::TextDisabled("stale while running; refreshed when it stops");
    if (!l.error.empty()) ImGui::TextColored(kBad, "%s", l.error.c_str());
    if (l.lens) {
        const px::GptLens& s = *l.lens;
        ImGui::Text("positions %u..%u of %u tokens, %u x %u; scale %.6g, zero point %d", s.at.first,
                    s.at.first + s.at.rows - 1, s.at.sequence, s.at.rows, s.at.cols, s.scale, s.zero_point);
        ImGui::Text("max |diff| %.6g at [%u, %u]   mean |diff| %.6g   rms %.6g", s.max_abs, s.max_row,
                    s.max_col, s.mean_abs, s.rms);
        if (std::isnan(s.within_half_step))
            ImGui::Text("relative L2 %.4f (reference rms %.6g)   float32 region: no quantization step",
                        s.relative, s.reference_rms);
        else
            ImGui::Text("relative L2 %.4f (reference rms %.6g)   within half a step: %.1f%%", s.relative,
                        s.reference_rms, 100.0 * s.within_half_step);
        // The three pictures, stacked, one element a cell as wide as the window allows.
        const float avail = ImGui::GetContentRegionAvail().x;
        const float cw = avail / float(std::max(s.at.cols, 1u));
        // Rows at least as tall as wide, a one-row activation a visible band.
        const float ch = std::clamp(std::max(cw, 40.0f / float(std::max(s.at.rows, 1u))), 4.0f, 24.0f);
        const std::optional<LensHover> before = l.hovered;
        l.hovered.reset();
        for (int k = 0; k < 3; ++k) {
            if (k < 2)
                ImGui::TextDisabled("%s: blue < 0 < red, +-%.6g", kPictureNames[k], l.value_range);
            else
                ImGui::TextDisabled("%s: uint8 - float32, +-%.6g", kPictureNames[k], s.max_abs);
            const ImVec2 at = ImGui::GetCursorScreenPos();
            const ImVec2 size(cw * float(s.at.cols), ch * float(s.at.rows));
            ImGui::Image((ImTextureID)(intptr_t)l.pictures[k].get(), size);
            if (k == 2) {
                l.picture_at = {at.x, at.y};
                l.cell = cw;
            }
            if (ImGui::IsItemHovered()) {
                const ImVec2 m = ImGui::GetMousePos();
                const uint32_t col = std::min(uint32_t(std::max(0.0f, (m.x - at.x) / cw)), s.at.cols - 1);
                const uint32_t row = std::min(uint32_t(std::max(0.0f, (m.y - at.y) / ch)), s.at.rows - 1);
                const size_t i = size_t(row) * s.at.cols + col;
                l.hovered = LensHover{row, col, s.quantized[i], s.reference[i], s.difference[i]};
                tooltip(g, s, *l.hovered);
            }
        }
        const bool same = before.has_value() == l.hovered.has_value() &&
                          (!before || (before->row == l.hovered->row && before->col == l.hovered->col));
        if (!same) app.ui_serial++; // the state file says which element the tooltip is for
    }
    ImGui::Separator();
    candidates(g);
    ImGui::End();
}

nlohmann::json lens_state_json(const App& app) {
    const LensPanel& l = app.gpt.lens;
    nlohmann::json item_at = nlohmann::json::object();
    for (const auto& [name, p] : l.item_at)
        item_at[name] = p;
    nlohmann::json j{{"show", l.show},
                     {"reference", l.reference_path},
                     {"reference_error", l.reference_error},
                     {"activations", l.activations},
                     {"region", l.selected >= 0 ? nlohmann::json(l.activations[size_t(l.selected)])
                                                : nlohmann::json(nullptr)},
                     {"serial", l.serial},
                     {"error", l.error},
                     {"compute_ms", l.compute_ms},
                     {"reference_top", candidates_json(app.gpt.bpe, l.reference_top)},
                     {"reference_top_note", l.reference_top_note},
                     {"picture_at", l.picture_at},
                     {"combo_at", l.combo_at},
                     {"combo_open", l.combo_open},
                     {"item_at", item_at},
                     {"cell", l.cell}};
    if (l.lens) {
        const px::GptLens& s = *l.lens;
        j["lens"] = {{"name", s.name},
                     {"scale", s.scale},
                     {"zero_point", s.zero_point},
                     {"first", s.at.first},
                     {"rows", s.at.rows},
                     {"cols", s.at.cols},
                     {"sequence", s.at.sequence},
                     {"max_abs", s.max_abs},
                     {"max_row", s.max_row},
                     {"max_col", s.max_col},
                     {"mean_abs", s.mean_abs},
                     {"rms", s.rms},
                     {"reference_rms", s.reference_rms},
                     {"relative", s.relative},
                     {"within_half_step", s.within_half_step}};
    }
    if (l.hovered)
        j["hovered"] = {{"row", l.hovered->row},
                        {"col", l.hovered->col},
                        {"quantized", l.hovered->quantized},
                        {"reference", l.hovered->reference},
                        {"difference", l.hovered->difference}};
    return j;
}

} // namespace pxdbg
