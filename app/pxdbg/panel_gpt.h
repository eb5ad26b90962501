// panel_gpt.h — pxdbg's Text window for a GPT program (docs/gpt-program.md, issue 16): the prompt
// and the generated text decoded from the program's own `tokens` region through its own tokenizer
// pixels, each token hoverable (id, bytes, the step that appended it, its probability then); a
// prompt field that writes a new prompt and sampling settings into the image (engine:
// set_gpt_prompt, set_gpt_sampling) as an undoable edit; token-level stepping (next token, back
// one token) and the next-token candidates of the last logits row.
//
// Nothing here knows an opcode: the engine says where the regions are (find_gpt_regions) and how
// to read them (engine/models/gpt_view.h); which step appended a token is the step history's
// newest change of the `tokens` header (history.h's last_change), and that step's image (rebuilt
// from the history) holds the logits the token was sampled from.
#pragma once
#include "debugger.h"
#include "gl_util.h"

#include "bpe.h"
#include "gpt.h"
#include "gpt_lens.h"
#include "gpt_view.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace pxdbg {

struct App;
enum class Action : uint8_t; // app.h

// The Attention window (panel_attention.cpp): one layer's attention probabilities, which the
// engine recomputes from the step history (gpt_view.h's gpt_layer_attention: FATTENTION fuses its
// softmax, so they are not pixels): every head's row for the newest query position over the
// context tokens, and one head's full query x key map. Hover a cell for its probability and token
// pair; click it to go to the key cache elements that hold its key.
struct AttentionCell {
    uint32_t head = 0, query = 0, key = 0;
    float p = 0;
};
struct AttentionPanel {
    bool show = true;
    int layer = 0, head = 0;
    uint64_t serial = ~0ull; // debugger change_serial `att` is for
    int for_layer = -1;
    px::GptAttention att;
    std::string error;
    double compute_ms = 0;
    std::optional<AttentionCell> hovered, clicked;
    std::string clicked_goto; // what go to said for the clicked cell
    // Screen geometry, for tests: each layer button's center, each head strip's first cell
    // (top-left) and the map's first cell, with the cell sizes.
    std::vector<std::array<float, 2>> layer_at;
    std::vector<std::array<float, 2>> strip_at;
    std::array<float, 2> strip_cell{0, 0};
    std::array<float, 2> map_at{0, 0};
    float map_cell = 0;
    // "Break at layer L head H" (debugger.h's LayerBreakpoint, pcs from gpt_attention_pcs): the
    // button's centre (tests), why no pcs were found, and the debugger's stop_serial last shown
    // (a hit shows its layer and selects its head once; the user may change them after).
    std::array<float, 2> break_at{0, 0};
    std::string break_error;
    uint64_t shown_stop = 0;
};

// The Model window (panel_overview.cpp): the regions grouped by layer (gpt_model_tree), each with
// shape, type, quantization and value statistics (gpt_region_stats), and the selected region as
// a diverging picture centred on zero or its zero point. A click on a node goes to its region.
struct OverviewPanel {
    bool show = true;
    uint64_t load_serial = ~0ull, serial = ~0ull;
    px::GptTreeNode tree;
    std::vector<std::optional<px::ValueStats>> stats; // per debugger region
    double stats_ms = 0;
    std::string clicked;
    std::vector<std::pair<std::string, std::array<float, 2>>> node_at; // leaf centres, for tests
    GlTexture picture;
    std::optional<size_t> picture_for;
    uint64_t picture_serial = ~0ull;
    uint32_t picture_w = 0, picture_h = 0;
    double centre = 0, half_range = 0;
    std::array<float, 2> watch_at{0, 0}; // the "Break on write" button's centre (tests)
};

// The Lens window (panel_lens.cpp), for the uint8 program: one activation region now, dequantized,
// against the float32 program's after the same tokens (engine: gpt_quant_lens), as three pictures
// (uint8, float32, difference) with the error statistics; and both programs' next-token
// candidates side by side. The float32 program is opened beside the uint8 one (--reference, or the
// window's path field); nothing here computes a value.
struct LensHover {
    uint32_t row = 0, col = 0; // within the region (position = at.first + row)
    double quantized = 0, reference = 0, difference = 0;
};
struct LensPanel {
    bool show = true;
    char path[1024] = {};                           // the float32 program to open
    std::string reference_path;                     // the one open
    std::optional<px::GptFloatReference> reference; // none until opened
    std::string reference_error;                    // why opening failed
    std::vector<std::string> activations;           // regions with a scale (the combo's items)
    int selected = -1;                              // index into activations
    uint64_t serial = ~0ull, load_serial = ~0ull;   // debugger change_serial / load_serial shown
    int for_selected = -2;
    std::optional<px::GptLens> lens;
    std::string error;
    std::vector<px::GptCandidate> reference_top; // the float32 program's after the logits' tokens
    std::vector<int32_t> reference_top_for;      // those tokens (empty: none computed)
    std::string reference_top_note;
    double compute_ms = 0;
    GlTexture pictures[3];  // uint8, float32, difference
    double value_range = 0; // the first two pictures: +-max |value| of both
    std::optional<LensHover> hovered;
    // Screen geometry, for tests: the difference picture's top-left and its pixels per element
    // (width; rows 4 to 24 pixels high), the combo's centre, and each visible item of its
    // open list.
    std::array<float, 2> picture_at{0, 0};
    float cell = 0;
    std::array<float, 2> combo_at{0, 0};
    bool combo_open = false;
    std::vector<std::pair<std::string, std::array<float, 2>>> item_at;
};

// Blue (below the centre) - white (the centre) - red (above), t in -1..1 (panel_overview.cpp).
std::array<uint8_t, 4> diverging(double t);
// `values` (rows x cols, row-major) into `texture` through `diverging`, centred on `centre`,
// +-half_range at the ends; creates the texture (labelled) when it has none.
void diverging_texture(GlTexture& texture, const char* label, std::span<const double> values, uint32_t cols,
                       uint32_t rows, double centre, double half_range);

// A generated token as the Text window knows it.
struct GptTokenInfo {
    int32_t id = 0;
    std::optional<uint64_t> step; // the step that appended it (1-based); none when not in the history
    double probability =
        std::numeric_limits<double>::quiet_NaN(); // softmax (double) of the logits it came from
};

struct GptPanel {
    bool show = true;
    // What the image is (refreshed when the loaded image changes).
    uint64_t load_serial = ~0ull;
    bool is_gpt = false;
    std::string why_not; // find_gpt_regions' or read_tokenizer's message
    px::GptRegions regions;
    px::Bpe bpe;
    std::vector<int32_t> prompt; // the sequence in the image as loaded

    // The sequence now (refreshed when the debugger changes).
    uint64_t serial = ~0ull;
    std::vector<int32_t> tokens;
    std::vector<GptTokenInfo> generated;        // tokens[prompt.size() + i]
    std::vector<px::GptCandidate> top;          // of the last logits row now
    std::string top_note;                       // why there are none, or which row
    std::optional<size_t> hovered;              // token index under the mouse (this frame)
    std::vector<std::array<float, 2>> token_at; // each token's center on screen (tests hover it)

    // The prompt field and the sampling settings "Set prompt" writes.
    char prompt_buf[2048] = {};
    int seed = 0, top_k = 0, new_tokens = 16, penalty_window = 64;
    float temperature = 0.0f, presence_penalty = 0.0f;
    bool focus_prompt = false, prompt_active = false;
    std::map<std::string, std::array<float, 2>> settings_at; // each setting field's centre, for tests
    std::string prompt_error;

    // Token stepping: Next token (or Run N tokens) steps across frames until `tokens` grows from
    // start_rows to `target`.
    bool stepping = false;
    size_t start_rows = 0, target = 0;
    int run_tokens = 10;
    uint64_t step_limit = 0, steps_taken = 0;
    double started = 0;   // steady-clock seconds when the command started
    double token_ms = -1; // wall time of the last completed Next token (or Run N tokens)
    std::string note;     // what the last token command did

    AttentionPanel attention;
    OverviewPanel overview;
    LensPanel lens;
};

// Once a frame: refresh from the debugger, continue a pending Next token, draw the window.
void draw_gpt_panel(App& app);
void gpt_window_menu(App& app);
// NextToken, PrevToken, FocusPrompt (keys.cpp's table).
void run_gpt_action(App& app, Action a);
// panel_attention.cpp: the Attention window (once a frame, after the Text window) and its part of
// the state file ("gpt"."attention").
void draw_attention_window(App& app);
nlohmann::json attention_state_json(const App& app);
// panel_overview.cpp: the Model window and its part of the state file ("gpt"."overview").
void draw_overview_window(App& app);
nlohmann::json overview_state_json(const App& app);
// panel_lens.cpp: the Lens window and its part of the state file ("gpt"."lens"); open_lens_reference
// opens the float32 program beside the uint8 one (--reference, the window's field).
void draw_lens_window(App& app);
void open_lens_reference(App& app, const std::string& path);
nlohmann::json lens_state_json(const App& app);
// Next-token candidates as the state file lists them (id, bytes, logit, probability, SAMPLE's).
nlohmann::json candidates_json(const px::Bpe& bpe, const std::vector<px::GptCandidate>& list);
// The state file's "gpt" object (null when the program is not a GPT program).
nlohmann::json gpt_state_json(const App& app);

} // namespace pxdbg
