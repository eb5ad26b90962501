// gpt_build.cpp — the shared steps of the float32 and uint8 GPT builders (gpt_build.h).
#include "gpt_build.h"

#include <nlohmann/json.hpp>

namespace px::gpt_detail {

Status check_gpt_build(const GptConfig& c, const GptWeights& w, const Bpe& tokenizer,
                       const GptBuildOptions& options) {
    if (tokenizer.vocab.size() != c.vocab)
        return make_error(ErrorCode::Usage,
                          "the tokenizer has " + std::to_string(tokenizer.vocab.size()) +
                              " tokens but the weights' vocabulary (config \"vocab\", wte rows) is " +
                              std::to_string(c.vocab));
    if (w.layers.size() != c.layers || w.wte.size() != size_t(c.vocab) * c.width ||
        w.wpe.size() != size_t(c.context) * c.width)
        return make_error(ErrorCode::Usage, "the weights do not match the config (layers, wte or wpe)");
    if (options.max_new_tokens == 0) return make_error(ErrorCode::Usage, "max_new_tokens must be at least 1");
    return check_gpt_sampling(build_sampling(options));
}

void emit_pass_end(Emitter& e, const PassEndRows& rows, const GptBuildOptions& options, uint32_t context,
                   std::vector<uint32_t>& loop_targets) {
    e.emit(Opcode::PENALIZE, {rows.logits, rows.tokens, rows.logits_penalized},
           encode_params(penalize_params(options.presence_penalty, options.penalty_window)));
    SampleParams sp;
    sp.temperature = fm::bits(options.temperature);
    sp.top_k = uint16_t(options.top_k);
    e.emit(Opcode::SAMPLE, {rows.logits_penalized, rows.rng_state, rows.next_token}, encode_params(sp));
    emit_append(e, rows.next_token, rows.tokens, context + 1, 3);
    e.emit(Opcode::LOOP, {rows.loop_counter, 0, 0}, encode_params(LoopParams{}));
    loop_targets.push_back(e.x - 1); // P2, the target
    e.emit(Opcode::HALT, {0, 0, 0}, {});
}

void set_loop_targets(Image& img, const std::vector<uint32_t>& loop_targets, uint32_t decode_pc) {
    for (uint32_t x : loop_targets)
        img.set_pixel(x, 0, {uint8_t(decode_pc), uint8_t(decode_pc >> 8), 0, 0});
}

Region symbol_region(const std::string& name, uint32_t row, MatrixHeader shape, DType type) {
    Region r;
    r.name = name, r.row = row, r.shape = shape, r.dtype = type;
    r.from_symbols = true;
    return r;
}

Status finish_gpt_image(Image& img, std::vector<Region> regions, const nlohmann::json& chunk,
                        uint32_t tokenizer_row, const Bpe& tokenizer, const GptBuildOptions& options) {
    DebugInfo info;
    info.regions = std::move(regions);
    write_debug_info(img, info);
    set_text(img, std::string(kGptKey), chunk.dump());
    if (auto tl = write_tokenizer(img, tokenizer_row, tokenizer); !tl) return tl.error();
    auto found = find_gpt_regions(img);
    if (!found) return found.error();
    if (Status st = set_gpt_prompt(img, *found, options.prompt, options.max_new_tokens); !st) return st;
    return set_gpt_sampling(img, *found, build_sampling(options));
}

} // namespace px::gpt_detail
