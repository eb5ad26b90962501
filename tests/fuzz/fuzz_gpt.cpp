// Fuzz target: what a viewer does with an untrusted GPT program image. A tiny GPT (1..2 layers,
// width 8, 2 heads, context 8, a 262-token BPE trained on a fixed text) is built once at startup
// as a float32 program (build_gpt) and as a uint8 one (build_gpt_u8, calibrated on the same
// text); the input is a recipe of structured edits to one of them, read byte by byte:
//   byte 0      bit 0: the uint8 program; bits 1-7: edits to apply (0..15)
//   per edit    a kind and its operands: replace the `pxos.gpt` or `pxos.symbols` chunk by input
//               bytes, overwrite bytes at an offset in either chunk (keeps most of the JSON well
//               formed), set a row-0 pixel, set a pixel of a matrix header row (a region's header
//               from the symbols, pixels 0..3), or set one channel of such a pixel; with bit 7
//               of its first byte set, the edit is made after set_gpt_prompt
//   then        the prompt (1..9 ids, raw 16-bit: some out of the vocabulary), max_new_tokens,
//               steps to run (0..510), a layer (0..3: some out of range), a region index
// Then, as a viewer calls them: find_gpt_regions, read_gpt_weights, set_gpt_prompt, the steps on
// the optimized executor (fast_executor, recording the history) and the reference side by side,
// gpt_layer_attention over the history, gpt_attention_pcs, and for the uint8 program
// gpt_activation_positions and gpt_quant_lens against the unedited float32 program.
// Invariants: none of these crashes, hangs or allocates beyond the fuzzer's limits; an error
// has a message; the two executors keep identical registers and byte-identical images.
#include "../gpt_tiny_weights.h"
#include "bpe.h"
#include "cpu_fast.h"
#include "debuginfo.h"
#include "gpt.h"
#include "gpt_lens.h"
#include "gpt_u8.h"
#include "gpt_view.h"
#include "history.h"
#include "vm.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Reader {
    const uint8_t* data;
    size_t size, at = 0;
    uint8_t byte() { return at < size ? data[at++] : 0; }
    uint16_t u16() { return uint16_t(byte() | byte() << 8); }
    std::string bytes(size_t n) {
        std::string s;
        while (n-- > 0 && at < size)
            s.push_back(char(data[at++]));
        return s;
    }
};

[[noreturn]] void fail(const char* what, const std::string& message) {
    std::fprintf(stderr, "fuzz_gpt: %s: %s\n", what, message.c_str());
    std::abort();
}

constexpr const char* kText =
    "the cat sat on the mat. the dog sat on the log. a cat and a dog met on the mat;\n"
    "then the cat ran off and the dog sat still. the end of the tale of the cat.\n";

struct Programs {
    px::Image f32, u8;
    px::GptRegions f32_regions;
};

// Built once: a fuzz run must not pay for training and calibration per input.
const Programs& programs() {
    static const Programs p = [] {
        px::TrainOptions o;
        o.vocab_size = 262;
        auto bpe = px::train_bpe(kText, o);
        if (!bpe) fail("train_bpe", bpe.error().message);
        px::GptConfig c;
        c.layers = 2, c.width = 8, c.heads = 2, c.context = 8;
        c.vocab = uint32_t(bpe->vocab.size());
        c.layer_norm_eps = 1e-5;
        const px::GptWeights w = px::test::tiny_weights(c, 7);
        px::GptBuildOptions b;
        b.max_new_tokens = 2;
        b.prompt = {1, 2};
        Programs out;
        auto f32 = px::build_gpt(c, w, *bpe, b);
        if (!f32) fail("build_gpt", f32.error().message);
        out.f32 = std::move(*f32);
        const std::vector<int32_t> ids = px::encode(*bpe, kText);
        auto cal = px::calibrate_gpt(c, w, *bpe, ids, 2);
        if (!cal) fail("calibrate_gpt", cal.error().message);
        auto u8 = px::build_gpt_u8(c, w, *bpe, *cal, b);
        if (!u8) fail("build_gpt_u8", u8.error().message);
        out.u8 = std::move(*u8);
        auto regions = px::find_gpt_regions(out.f32);
        if (!regions) fail("find_gpt_regions", regions.error().message);
        out.f32_regions = std::move(*regions);
        return out;
    }();
    return p;
}

// FUZZ_GPT_VERBOSE=1 prints how far each input got (to see what the seeds reach).
template <class R> void check_error(const R& r, const char* what) {
    if (!r && r.error().message.empty()) fail(what, "an error without a message");
    static const bool verbose = std::getenv("FUZZ_GPT_VERBOSE") != nullptr;
    if (verbose) std::fprintf(stderr, "  %s: %s\n", what, r ? "ok" : r.error().message.c_str());
}

void edit(px::Image& image, Reader& in) {
    const uint8_t kind = (in.byte() & 0x7F) % 7;
    const std::string key = in.byte() & 1 ? "pxos.symbols" : "pxos.gpt";
    switch (kind) {
    case 0: { // replace a chunk
        px::set_text(image, key, in.bytes(in.u16() % 2048));
        break;
    }
    case 1: { // overwrite bytes at an offset (or append past the end)
        const px::TextChunk* chunk = px::find_text(image, key);
        std::string text = chunk ? chunk->text : std::string();
        const size_t at = text.empty() ? 0 : in.u16() % (text.size() + 1);
        const std::string patch = in.bytes(in.byte() % 16 + 1);
        if (text.size() < at + patch.size()) text.resize(at + patch.size());
        text.replace(at, patch.size(), patch);
        px::set_text(image, key, std::move(text));
        break;
    }
    case 2: { // a row-0 pixel
        const uint32_t x = in.u16() % image.width;
        image.set_pixel(x, 0, {in.byte(), in.byte(), in.byte(), in.byte()});
        break;
    }
    case 3:
    case 4: { // a matrix header pixel (or one channel of it) of a region the symbols name
        const std::vector<px::Region> regions = px::program_regions(image);
        if (regions.empty()) break;
        const px::Region& r = regions[in.byte() % regions.size()];
        if (r.row >= image.height) break;
        const uint32_t x = in.byte() % 4 % image.width;
        if (kind == 3) {
            image.set_pixel(x, r.row, {in.byte(), in.byte(), in.byte(), in.byte()});
        } else {
            const uint8_t channel = in.byte() % 4;
            image.at(x, r.row)[channel] = in.byte();
        }
        break;
    }
    case 5: { // any pixel of any row
        const uint32_t y = in.u16() % image.height, x = in.u16() % image.width;
        image.set_pixel(x, y, {in.byte(), in.byte(), in.byte(), in.byte()});
        break;
    }
    case 6: { // delete a chunk
        std::erase_if(image.text, [&](const px::TextChunk& t) { return t.key == key; });
        break;
    }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const Programs& p = programs();
    Reader in{data, size};
    const uint8_t head = in.byte();
    const bool u8 = head & 1;
    px::Image image = u8 ? p.u8 : p.f32;
    // An edit whose first byte has bit 7 set is made after set_gpt_prompt (which rewrites the
    // state's headers), as a program or a debugger changes an image after the regions were found;
    // it is read once here on a scratch copy to step over its bytes.
    std::vector<size_t> later;
    for (uint32_t i = 0, n = (head >> 1) % 16; i < n; ++i) {
        if (in.at < in.size && in.data[in.at] & 0x80) {
            later.push_back(in.at);
            px::Image scratch = image;
            edit(scratch, in);
        } else {
            edit(image, in);
        }
    }

    std::vector<int32_t> ids(in.byte() % 9 + 1);
    for (int32_t& id : ids)
        id = int32_t(int16_t(in.u16()));
    const uint32_t max_new_tokens = in.byte() % 12;
    const uint32_t steps = uint32_t(in.byte()) * 2;
    const uint32_t layer = in.byte() % 4;
    const uint8_t region_pick = in.byte();

    auto regions = px::find_gpt_regions(image);
    check_error(regions, "find_gpt_regions");
    if (!regions) return 0;
    auto weights = px::read_gpt_weights(image, *regions);
    check_error(weights, "read_gpt_weights");
    const px::Status prompt = px::set_gpt_prompt(image, *regions, ids, max_new_tokens);
    check_error(prompt, "set_gpt_prompt");
    for (size_t at : later) {
        Reader again{data, size, at};
        edit(image, again);
    }

    // Both executors, one step at a time; the optimized one's history is what a debugger keeps.
    px::FastSettings settings;
    settings.threads = 1;
    const px::PlanExecutor fast = px::fast_executor(settings);
    px::VmState a = px::make_vm(image, steps), b = px::make_vm(image, steps);
    px::History history;
    while (a.status == px::VmStatus::Ready) {
        px::UndoRecord undo;
        px::step(a, &undo, fast);
        history.push_back(std::move(undo));
        px::step(b);
        if (a.registers() != b.registers() || a.image.rgba != b.image.rgba)
            fail("executors", "registers or images differ after step " + std::to_string(a.steps));
    }
    if (std::getenv("FUZZ_GPT_VERBOSE"))
        std::fprintf(stderr, "  %llu steps, %s, pc %u\n", (unsigned long long)a.steps,
                     std::string(px::status_name(a.status)).c_str(), a.pc);

    for (uint32_t l : {layer, 0u}) {
        auto attention = px::gpt_layer_attention(history, a.image, *regions, l);
        check_error(attention, "gpt_layer_attention");
        auto pcs = px::gpt_attention_pcs(a.image, *regions, l);
        check_error(pcs, "gpt_attention_pcs");
    }

    if (regions->weights_u8) {
        const std::vector<px::Region> symbols = px::program_regions(a.image);
        if (!symbols.empty()) {
            auto at =
                px::gpt_activation_positions(a.image, *regions, symbols[region_pick % symbols.size()], a.pc);
            check_error(at, "gpt_activation_positions");
        }
        auto reference = px::open_gpt_float_reference(p.f32, *regions);
        check_error(reference, "open_gpt_float_reference");
        const std::vector<std::string> names = px::gpt_lens_activations(*regions, symbols);
        if (reference && !names.empty()) {
            auto lens = px::gpt_quant_lens(a.image, *regions, symbols, a.pc, *reference,
                                           names[region_pick % names.size()]);
            check_error(lens, "gpt_quant_lens");
            if (lens) {
                const std::span<const int32_t> seq =
                    std::span<const int32_t>(ids).first(std::min<size_t>(lens->at.sequence, ids.size()));
                check_error(px::gpt_reference_top_k(*reference, seq, 3), "gpt_reference_top_k");
            }
        }
    }
    return 0;
}
