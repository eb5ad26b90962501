// panel_gpt.cpp — the Text window of a GPT program (panel_gpt.h).
#include "app.h"

#include "history.h"
#include "layout.h"
#include "tokenizer_image.h"

#include <imgui.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace pxdbg {
namespace {

using Clock = std::chrono::steady_clock;

const ImVec4 kPrompt[2] = {ImVec4(0.60f, 0.78f, 1.0f, 1), ImVec4(0.42f, 0.62f, 0.98f, 1)};
const ImVec4 kGenerated[2] = {ImVec4(0.55f, 1.0f, 0.55f, 1), ImVec4(0.30f, 0.85f, 0.40f, 1)};
const ImVec4 kNote(1, 0.85f, 0.4f, 1), kBad(1, 0.4f, 0.4f, 1);

// Rows of the `tokens` matrix as its header reads now (the elements are not read).
size_t token_rows(const Debugger& d, const GptPanel& g) {
    const uint32_t row = g.regions.tokens;
    if (row == 0 || row >= d.cpu.image.height) return 0;
    return px::decode_header(d.cpu.image.pixel(0, row)).rows;
}

std::string lossy_decode(const px::Bpe& bpe, std::span<const int32_t> ids) {
    auto t = px::decode(bpe, ids);
    return t ? *t : std::string();
}

// The loaded image changed (a file, a reload, a prompt edit): what the program is.
void refresh_program(App& app) {
    Debugger& d = app.dbg;
    GptPanel& g = app.gpt;
    g.load_serial = d.load_serial;
    g.serial = ~0ull;
    g.is_gpt = false;
    g.why_not.clear();
    g.generated.clear();
    g.prompt.clear();
    g.stepping = false;
    if (d.loaded.width == 0) {
        g.why_not = "no program loaded";
        return;
    }
    auto r = px::find_gpt_regions(d.loaded);
    if (!r) {
        g.why_not = r.error().message;
        return;
    }
    auto b = px::read_tokenizer(d.loaded);
    if (!b) {
        g.why_not = "its tokenizer: " + b.error().message;
        return;
    }
    if (b->vocab.size() != r->config.vocab) {
        g.why_not = "the tokenizer has " + std::to_string(b->vocab.size()) +
                    " tokens, the model's vocabulary is " + std::to_string(r->config.vocab);
        return;
    }
    g.regions = std::move(r.value());
    g.bpe = std::move(b.value());
    auto p = px::read_i32_matrix(d.loaded, g.regions.tokens);
    if (!p) {
        g.why_not = "tokens: " + p.error().message;
        return;
    }
    g.prompt = std::move(p.value());
    // The fields start as the image says: its prompt, its seed (rng_state), its token count.
    const std::string text = lossy_decode(g.bpe, g.prompt);
    std::snprintf(g.prompt_buf, sizeof g.prompt_buf, "%s", text.c_str());
    if (auto s = px::read_i32_matrix(d.loaded, g.regions.rng_state); s && s->size() == 1) g.seed = (*s)[0];
    if (auto n = px::read_i32_matrix(d.loaded, g.regions.loop_counter); n && n->size() == 1)
        g.new_tokens = (*n)[0] + 1;
    if (auto s = px::read_gpt_sampling(d.loaded, g.regions)) {
        g.temperature = s->temperature;
        g.top_k = int(s->top_k);
        g.presence_penalty = s->presence_penalty;
        g.penalty_window = int(s->penalty_window);
    }
    g.is_gpt = true;
}

// The debugger changed: the sequence, each new token's step and probability, the candidates.
void refresh_sequence(App& app) {
    Debugger& d = app.dbg;
    GptPanel& g = app.gpt;
    g.serial = d.change_serial;
    auto seq = px::read_i32_matrix(d.cpu.image, g.regions.tokens);
    g.tokens = seq ? std::move(seq.value()) : std::vector<int32_t>{};
    const size_t T = g.prompt.size();
    const size_t n = g.tokens.size() > T ? g.tokens.size() - T : 0;
    // Keep what is known of tokens still in place (same id, appended at a step not undone).
    size_t keep = 0;
    while (keep < g.generated.size() && keep < n && g.generated[keep].id == g.tokens[T + keep] &&
           g.generated[keep].step && *g.generated[keep].step <= d.cpu.steps)
        ++keep;
    g.generated.resize(keep);
    std::vector<GptTokenInfo> fresh(n - keep);
    for (size_t i = keep; i < n; ++i)
        fresh[i - keep].id = g.tokens[T + i];
    // Walk the history back from now: each change of the `tokens` header is a step that appended
    // a token (the newest change the newest token). The image right after that step still holds
    // the logits row the token was sampled from (the program overwrites them only later).
    if (!fresh.empty() && !d.history.empty()) {
        const uint32_t hx = 0, hy = g.regions.tokens;
        px::Image img = d.cpu.image; // the image after history[i] when record i is looked at
        size_t pos = n;              // tokens keep..pos-1 still to place
        for (size_t i = d.history.size(); i-- > 0 && pos > keep;) {
            const px::UndoRecord& rec = d.history[i];
            bool changed = false;
            for (const px::PixelPatch& p : rec.patches)
                if (p.rect.contains(hx, hy)) {
                    const size_t off = (size_t(hy - p.rect.y) * p.rect.w + (hx - p.rect.x)) * 4;
                    changed |= std::memcmp(p.rgba.data() + off, img.at(hx, hy), 4) != 0;
                }
            if (changed) {
                GptTokenInfo& t = fresh[--pos - keep];
                t.step = rec.steps + 1;
                if (auto logits = px::gpt_last_logits(img, g.regions))
                    t.probability = px::gpt_probability(*logits, t.id);
            }
            for (const px::PixelPatch& p : rec.patches)
                px::apply_patch(img, p);
        }
    }
    g.generated.insert(g.generated.end(), fresh.begin(), fresh.end());

    g.top.clear();
    auto logits = px::gpt_last_logits(d.cpu.image, g.regions);
    if (!logits) {
        g.top_note = logits.error().message;
    } else {
        // SAMPLE's odds as the program would compute them now: its PENALIZE over the sequence as
        // it is, then its SAMPLE (temperature, top-k, presence penalty and window as the image
        // holds them).
        auto sampling = px::read_gpt_sampling(d.cpu.image, g.regions);
        auto sequence = px::read_i32_matrix(d.cpu.image, g.regions.tokens);
        g.top = sampling && sequence ? px::gpt_top_k(*logits, 10, *sampling, *sequence)
                                     : px::gpt_top_k(*logits, 10);
        const uint32_t rows = px::decode_header(d.cpu.image.pixel(0, g.regions.logits)).rows;
        g.top_note = "last row (" + std::to_string(rows - 1) + " of " + std::to_string(rows) +
                     ") of logits as it is now";
    }
    app.ui_serial++;
}

void set_prompt(App& app) {
    Debugger& d = app.dbg;
    GptPanel& g = app.gpt;
    g.prompt_error.clear();
    const std::string text(g.prompt_buf);
    const std::vector<int32_t> ids = px::encode(g.bpe, text);
    if (ids.empty()) {
        g.prompt_error = "the prompt is empty: the program needs at least one token";
        return;
    }
    px::Image img = d.loaded;
    if (px::Status st = px::set_gpt_prompt(img, g.regions, ids, uint32_t(std::max(g.new_tokens, 0))); !st) {
        g.prompt_error = st.error().message;
        return;
    }
    const px::GptSampling s{g.temperature, uint32_t(std::max(g.top_k, 0)), uint32_t(g.seed),
                            g.presence_penalty, uint32_t(std::max(g.penalty_window, 0))};
    if (px::Status st = px::set_gpt_sampling(img, g.regions, s); !st) {
        g.prompt_error = st.error().message;
        return;
    }
    if (!edit_loaded(d, std::move(img), "prompt of " + std::to_string(ids.size()) + " tokens")) {
        g.prompt_error = "could not edit the image";
        return;
    }
    g.note =
        "prompt set: " + std::to_string(ids.size()) + " tokens; execution starts over (Undo prompt restores)";
    set_message(app, g.note);
}

// Next token (count 1) or Run N tokens: steps across frames (tick) until the sequence has grown
// by `count` tokens, the program stops, or the step limit.
void next_tokens(App& app, int count) {
    Debugger& d = app.dbg;
    GptPanel& g = app.gpt;
    if (g.stepping) return;
    if (d.cpu.status != px::VmStatus::Ready || d.running) {
        g.note = d.running ? "the program is running (pause it first)"
                           : std::string("no next token: the program has ") +
                                 (d.cpu.status == px::VmStatus::Halted ? "halted" : "trapped");
        set_message(app, g.note);
        return;
    }
    if (count < 1) {
        g.note = "run at least one token";
        set_message(app, g.note);
        return;
    }
    g.stepping = true;
    g.start_rows = token_rows(d, g);
    g.target = g.start_rows + size_t(count);
    // A pass runs each instruction of row 0 at most once before it appends: one width of steps
    // per pass, one more for the prefill, is a bound no correct program reaches.
    g.step_limit = (uint64_t(count) + 1) * d.cpu.image.width + 16;
    g.steps_taken = 0;
    g.started = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
    g.note = "stepping to token " + std::to_string(g.target) + "...";
}

// Continues a Next token for about 30 ms a frame.
void tick(App& app) {
    Debugger& d = app.dbg;
    GptPanel& g = app.gpt;
    if (!g.stepping) return;
    const auto t0 = Clock::now();
    for (;;) {
        const size_t rows = token_rows(d, g);
        if (rows >= g.target) {
            g.stepping = false;
            g.token_ms =
                (std::chrono::duration<double>(Clock::now().time_since_epoch()).count() - g.started) * 1000.0;
            char buf[200];
            if (rows == g.start_rows + 1)
                std::snprintf(buf, sizeof buf,
                              "token %zu appended at step %" PRIu64 " (%" PRIu64 " steps, %.2f ms)", rows,
                              d.cpu.steps, g.steps_taken, g.token_ms);
            else
                std::snprintf(buf, sizeof buf,
                              "tokens %zu..%zu appended by step %" PRIu64 " (%" PRIu64
                              " steps, %.2f ms, %.2f ms a token)",
                              g.start_rows + 1, rows, d.cpu.steps, g.steps_taken, g.token_ms,
                              g.token_ms / double(rows - g.start_rows));
            g.note = buf;
            break;
        }
        if (d.cpu.status != px::VmStatus::Ready) {
            g.stepping = false;
            const size_t made = rows - std::min(rows, g.start_rows);
            g.note = d.cpu.status == px::VmStatus::Halted
                         ? "halted after " + std::to_string(g.steps_taken) + " steps: " +
                               (made ? std::to_string(made) + " new token(s), the program generates no more"
                                     : "no new token")
                         : "trapped after " + std::to_string(g.steps_taken) + " steps: " + d.cpu.trap.message;
            break;
        }
        if (g.steps_taken >= g.step_limit) {
            g.stepping = false;
            g.note =
                "no new token within " + std::to_string(g.step_limit) + " steps (the step limit): stopped";
            break;
        }
        step_once(d);
        ++g.steps_taken;
        if (std::chrono::duration<double, std::milli>(Clock::now() - t0).count() > 30) break;
    }
    if (!g.stepping) {
        set_message(app, g.note);
        app.scroll_to_pc = true;
    }
}

void back_one_token(App& app) {
    Debugger& d = app.dbg;
    GptPanel& g = app.gpt;
    g.stepping = false;
    const size_t rows = token_rows(d, g);
    if (rows <= g.prompt.size()) {
        g.note = "no generated token to go back over";
    } else if (d.running) {
        g.note = "the program is running (pause it first)";
    } else {
        // The newest change of the `tokens` header is the step that appended the last token.
        auto idx =
            px::last_change(d.history, d.cpu.image, {px::Rect{0, g.regions.tokens, 1, 1}}, d.history.size());
        if (!idx) {
            g.note = "the step that appended token " + std::to_string(rows) + " is no longer in the history";
        } else {
            const uint64_t n = step_back_n(d, d.history.size() - *idx);
            g.note = "back over token " + std::to_string(rows) + ": undid " + std::to_string(n) +
                     " steps, now at step " + std::to_string(d.cpu.steps);
            app.scroll_to_pc = true;
        }
    }
    set_message(app, g.note);
}

void token_tooltip(const App& app, size_t i, const std::string& bytes) {
    const GptPanel& g = app.gpt;
    const size_t T = g.prompt.size();
    ImGui::BeginTooltip();
    if (i < T)
        ImGui::Text("prompt token %zu of %zu", i + 1, T);
    else
        ImGui::Text("generated token %zu (sequence position %zu)", i - T + 1, i + 1);
    ImGui::Text("id %d", g.tokens[i]);
    ImGui::Text("bytes \"%s\" (%zu)", px::escape_bytes(bytes).c_str(), bytes.size());
    if (i < T) {
        ImGui::TextDisabled("written by the prompt (no step)");
    } else {
        const GptTokenInfo& t = g.generated[i - T];
        if (t.step)
            ImGui::Text("appended by step %" PRIu64, *t.step);
        else
            ImGui::TextColored(kNote, "its step is no longer in the history");
        if (std::isfinite(t.probability))
            ImGui::Text("p = %.6f", t.probability);
        else
            ImGui::TextDisabled("p unknown");
        ImGui::TextDisabled("softmax in double of the f32 logits row it was sampled from");
    }
    ImGui::EndTooltip();
}

void text_view(App& app) {
    GptPanel& g = app.gpt;
    const std::optional<size_t> was = g.hovered;
    g.hovered.reset();
    g.token_at.clear();
    const float avail = ImGui::GetContentRegionAvail().x;
    float x = 0;
    bool line_break = false;
    ImDrawList* dl = ImGui::GetWindowDrawList();
    for (size_t i = 0; i < g.tokens.size(); ++i) {
        const std::string bytes = px::gpt_token_bytes(g.bpe, g.tokens[i]);
        std::string shown = px::escape_bytes(bytes);
        if (shown.empty()) shown = "?";
        const float w = ImGui::CalcTextSize(shown.c_str()).x;
        if (i > 0) {
            if (line_break || x + w > avail)
                x = 0;
            else
                ImGui::SameLine(0, 0);
        }
        const bool prompt = i < g.prompt.size();
        const ImVec4 col = prompt ? kPrompt[i % 2] : kGenerated[i % 2];
        const ImVec2 at = ImGui::GetCursorScreenPos();
        ImGui::TextColored(col, "%s", shown.c_str());
        g.token_at.push_back({at.x + w / 2, at.y + ImGui::GetTextLineHeight() / 2});
        if (ImGui::IsItemHovered()) {
            g.hovered = i;
            dl->AddRect(ImVec2(at.x - 1, at.y), ImVec2(at.x + w + 1, at.y + ImGui::GetTextLineHeight()),
                        IM_COL32(255, 220, 80, 255));
            token_tooltip(app, i, bytes);
        }
        x += w;
        line_break = !bytes.empty() && bytes.back() == '\n';
    }
    if (g.hovered != was) app.ui_serial++; // the state file says which token the tooltip is for
}

void candidates_table(const GptPanel& g) {
    ImGui::TextDisabled("next-token candidates: %s", g.top_note.c_str());
    if (g.top.empty()) return;
    if (!ImGui::BeginTable(
            "top", 5, ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_SizingFixedFit))
        return;
    ImGui::TableSetupColumn("id");
    ImGui::TableSetupColumn("text", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn("logit (f32)");
    ImGui::TableSetupColumn("p");
    ImGui::TableSetupColumn("p (SAMPLE)");
    ImGui::TableHeadersRow();
    for (const px::GptCandidate& c : g.top) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::Text("%d", c.id);
        ImGui::TableNextColumn();
        ImGui::Text("\"%s\"", px::escape_bytes(px::gpt_token_bytes(g.bpe, c.id)).c_str());
        ImGui::TableNextColumn();
        ImGui::Text("%.9g", double(c.logit));
        ImGui::TableNextColumn();
        ImGui::Text("%.6f", c.probability);
        ImGui::TableNextColumn();
        if (std::isnan(c.sample_probability))
            ImGui::TextDisabled("?");
        else
            ImGui::Text("%.6f", c.sample_probability);
        if (ImGui::IsItemHovered())
            ImGui::SetTooltip("the odds SAMPLE draws it with: its own float32 weights e_i / S under the "
                              "image's temperature and top-k, after PENALIZE lowered the logits of the "
                              "tokens in its window (1 and 0 when it takes the argmax)");
    }
    ImGui::EndTable();
}

} // namespace

void draw_gpt_panel(App& app) {
    Debugger& d = app.dbg;
    GptPanel& g = app.gpt;
    if (g.load_serial != d.load_serial) refresh_program(app);
    if (!g.is_gpt) {
        g.prompt_active = false;
        return; // no window for other programs
    }
    tick(app);
    if (g.serial != d.change_serial) refresh_sequence(app);
    if (!g.show) {
        g.prompt_active = false;
        draw_attention_window(app);
        draw_overview_window(app);
        draw_lens_window(app);
        return;
    }
    const ImGuiViewport* vp = ImGui::GetMainViewport();
    ImGui::SetNextWindowPos(ImVec2(vp->Pos.x + 40, vp->Pos.y + 60), ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(ImVec2(640, 560), ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowBgAlpha(1.0f); // over the program view: its pixels would show through the text
    if (!ImGui::Begin("Text", &g.show)) {
        g.prompt_active = false;
        ImGui::End();
        draw_attention_window(app);
        draw_overview_window(app);
        draw_lens_window(app);
        return;
    }
    // The prompt and the settings "Set prompt" writes into the image.
    if (g.focus_prompt) {
        ImGui::SetKeyboardFocusHere();
        g.focus_prompt = false;
    }
    ImGui::SetNextItemWidth(-110);
    const bool enter =
        ImGui::InputText("##prompt", g.prompt_buf, sizeof g.prompt_buf, ImGuiInputTextFlags_EnterReturnsTrue);
    // The state file follows the field (tests type only once it listens): while it has the
    // keyboard, Ctrl+Shift+S cannot ask for a new state file.
    if (ImGui::IsItemActive() != g.prompt_active || ImGui::IsItemEdited()) app.ui_serial++;
    g.prompt_active = ImGui::IsItemActive();
    ImGui::SameLine();
    if (ImGui::Button("Set prompt") || enter) set_prompt(app);
    // Labels first: "seed [0]  temperature [0]  top-k [0]  new tokens [10]", then
    // "presence penalty [0]  over the last [64]  tokens (0: all)".
    auto label = [](const char* text) {
        ImGui::AlignTextToFramePadding();
        ImGui::TextUnformatted(text);
        ImGui::SameLine();
    };
    // Each field's centre for tests; an edit makes the state file follow it.
    auto item_centre = [&app] {
        if (ImGui::IsItemEdited() || ImGui::IsItemDeactivated()) app.ui_serial++;
        const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
        return std::array<float, 2>{(a.x + b.x) / 2, (a.y + b.y) / 2};
    };
    label("seed");
    ImGui::SetNextItemWidth(90);
    ImGui::InputInt("##seed", &g.seed, 0);
    g.settings_at["seed"] = item_centre();
    ImGui::SameLine();
    label("temperature");
    ImGui::SetNextItemWidth(60);
    ImGui::InputFloat("##temperature", &g.temperature, 0, 0, "%.3g");
    g.settings_at["temperature"] = item_centre();
    ImGui::SameLine();
    label("top-k");
    ImGui::SetNextItemWidth(50);
    ImGui::InputInt("##top-k", &g.top_k, 0);
    g.settings_at["top_k"] = item_centre();
    ImGui::SameLine();
    label("new tokens");
    ImGui::SetNextItemWidth(50);
    ImGui::InputInt("##new tokens", &g.new_tokens, 0);
    g.settings_at["new_tokens"] = item_centre();
    label("presence penalty");
    ImGui::SetNextItemWidth(50);
    ImGui::InputFloat("##presence penalty", &g.presence_penalty, 0, 0, "%.3g");
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip(
            "presence penalty (PENALIZE): subtracted from the logit of every token among the last "
            "'over the last' tokens of the sequence (0: off)");
    g.settings_at["presence_penalty"] = item_centre();
    ImGui::SameLine();
    label("over the last");
    ImGui::SetNextItemWidth(50);
    ImGui::InputInt("##penalty window", &g.penalty_window, 0);
    g.settings_at["penalty_window"] = item_centre();
    ImGui::SameLine();
    ImGui::TextUnformatted("tokens (0: all)");
    if (!g.prompt_error.empty()) ImGui::TextColored(kBad, "%s", g.prompt_error.c_str());

    ImGui::BeginDisabled(g.stepping);
    if (ImGui::Button("Next token")) next_tokens(app, 1);
    ImGui::SameLine();
    if (ImGui::Button("Back one token")) back_one_token(app);
    ImGui::SameLine();
    if (ImGui::Button("Run")) next_tokens(app, g.run_tokens);
    g.settings_at["run"] = item_centre();
    ImGui::SameLine();
    ImGui::SetNextItemWidth(40);
    ImGui::InputInt("##run tokens", &g.run_tokens, 0);
    g.settings_at["run_tokens"] = item_centre();
    ImGui::SameLine();
    ImGui::TextUnformatted("tokens");
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::BeginDisabled(d.edits.empty());
    if (ImGui::Button("Undo prompt")) run_gpt_action(app, Action::UndoPrompt);
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::TextDisabled("N / Shift+N / Ctrl+P focuses the prompt");
    ImGui::TextColored(kNote, "%s", g.note.c_str());
    // "given": the sequence as the image was loaded or a prompt set it (a file saved after a run
    // holds its generated tokens too; the image does not say where its prompt ended).
    ImGui::Text("%zu tokens: %zu given, %zu generated since; step %" PRIu64, g.tokens.size(),
                std::min(g.prompt.size(), g.tokens.size()), g.generated.size(), d.cpu.steps);
    ImGui::Separator();
    const float table_h = ImGui::GetTextLineHeightWithSpacing() * 13;
    if (ImGui::BeginChild("text", ImVec2(0, std::max(60.0f, ImGui::GetContentRegionAvail().y - table_h)),
                          true))
        text_view(app);
    ImGui::EndChild();
    candidates_table(g);
    ImGui::End();
    draw_attention_window(app);
    draw_overview_window(app);
    draw_lens_window(app);
}

void gpt_window_menu(App& app) {
    if (app.gpt.is_gpt) ImGui::MenuItem("Text (GPT program)", nullptr, &app.gpt.show);
    if (app.gpt.is_gpt) ImGui::MenuItem("Attention (GPT program)", nullptr, &app.gpt.attention.show);
    if (app.gpt.is_gpt) ImGui::MenuItem("Model (GPT program)", nullptr, &app.gpt.overview.show);
    if (app.gpt.is_gpt && app.gpt.regions.weights_u8)
        ImGui::MenuItem("Quantization lens (uint8 GPT program)", nullptr, &app.gpt.lens.show);
}

void run_gpt_action(App& app, Action a) {
    GptPanel& g = app.gpt;
    if (!g.is_gpt) {
        set_message(app, "not a GPT program" + (g.why_not.empty() ? std::string() : ": " + g.why_not));
        return;
    }
    switch (a) {
    case Action::NextToken: next_tokens(app, 1); break;
    case Action::PrevToken: back_one_token(app); break;
    case Action::FocusPrompt:
        g.show = true;
        g.focus_prompt = true;
        break;
    case Action::UndoPrompt:
        if (undo_edit(app.dbg))
            g.note = "prompt edit undone";
        else
            g.note = "no prompt edit to undo";
        set_message(app, g.note);
        break;
    default: break;
    }
}

nlohmann::json candidates_json(const px::Bpe& bpe, const std::vector<px::GptCandidate>& list) {
    nlohmann::json t = nlohmann::json::array();
    for (const px::GptCandidate& c : list)
        t.push_back({{"id", c.id},
                     {"bytes", px::escape_bytes(px::gpt_token_bytes(bpe, c.id))},
                     {"logit", double(c.logit)},
                     {"probability", c.probability},
                     {"sample_probability", c.sample_probability}});
    return t;
}

nlohmann::json gpt_state_json(const App& app) {
    const GptPanel& g = app.gpt;
    if (!g.is_gpt) return nullptr;
    const size_t T = std::min(g.prompt.size(), g.tokens.size());
    const std::span<const int32_t> all(g.tokens), gen = all.subspan(T);
    nlohmann::json generated = nlohmann::json::array();
    for (size_t i = 0; i < g.generated.size(); ++i) {
        const GptTokenInfo& t = g.generated[i];
        generated.push_back({{"index", T + i},
                             {"id", t.id},
                             {"bytes", px::escape_bytes(px::gpt_token_bytes(g.bpe, t.id))},
                             {"step", t.step ? nlohmann::json(*t.step) : nlohmann::json(nullptr)},
                             {"probability", std::isfinite(t.probability) ? nlohmann::json(t.probability)
                                                                          : nlohmann::json(nullptr)}});
    }
    return {{"prompt_tokens", g.prompt},
            {"tokens", g.tokens},
            {"text", lossy_decode(g.bpe, all)},
            {"generated_text", lossy_decode(g.bpe, gen)},
            {"step", app.dbg.cpu.steps},
            {"busy", g.stepping},
            {"note", g.note},
            {"token_ms", g.token_ms},
            {"generated", generated},
            {"top", candidates_json(g.bpe, g.top)},
            {"top_note", g.top_note},
            {"hovered", g.hovered ? nlohmann::json(*g.hovered) : nlohmann::json(nullptr)},
            {"token_at", g.token_at},
            {"prompt_field", {{"active", g.prompt_active}, {"text", std::string(g.prompt_buf)}}},
            {"settings",
             {{"seed", g.seed},
              {"temperature", g.temperature},
              {"top_k", g.top_k},
              {"presence_penalty", g.presence_penalty},
              {"penalty_window", g.penalty_window},
              {"new_tokens", g.new_tokens},
              {"run_tokens", g.run_tokens}}},
            {"settings_at", g.settings_at},
            {"prompt_error", g.prompt_error},
            {"edits", app.dbg.edits.size()},
            {"tokens_row", g.regions.tokens},
            {"attention", attention_state_json(app)},
            {"overview", overview_state_json(app)},
            {"lens", lens_state_json(app)},
            {"logits_row", g.regions.logits}};
}

} // namespace pxdbg
