// gpt_build.h — pieces both GPT program builders share (gpt.cpp: float32; gpt_u8.cpp: uint8):
// checking their inputs, splitting and transposing the .npz matrices, sizing the image, writing
// instructions into row 0 (the passes' common ends among them), and finishing the image (symbols,
// the pxos.gpt chunk, the tokenizer, the prompt and the sampling settings).
// Internal to engine/models; nothing outside the two builders includes it.
#pragma once
#include "debuginfo.h"
#include "fmath.h"
#include "gpt.h"
#include "image.h"
#include "layout.h"
#include "ops/op_params.h"
#include "protocol.h"
#include "result.h"
#include "tokenizer_image.h"

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace px::gpt_detail {

// What both builders require of their inputs before they allocate anything: the tokenizer's
// vocabulary is the config's, the weights match the config, at least one new token, and
// sampling settings SAMPLE and PENALIZE accept. Errors: Usage.
Status check_gpt_build(const GptConfig& config, const GptWeights& weights, const Bpe& tokenizer,
                       const GptBuildOptions& options);

// The column block [from, from + n) of a row-major rows x cols matrix.
inline std::vector<float> columns(const std::vector<float>& m, uint32_t rows, uint32_t cols, uint32_t from,
                                  uint32_t n) {
    std::vector<float> out(size_t(rows) * n);
    for (uint32_t r = 0; r < rows; ++r)
        std::copy_n(m.begin() + size_t(r) * cols + from, n, out.begin() + size_t(r) * n);
    return out;
}

// The image's size: the narrowest power-of-two width from 256 (at least row0, the instructions)
// whose regions (allocated in order) and tokenizer fit 16384 rows; an error past 16384 x 16384.
struct GptImageSize {
    uint32_t width = 0, height = 0;
    Allocation rows;
};
inline Result<GptImageSize> size_gpt_image(const std::vector<MatrixHeader>& shapes, uint32_t row0,
                                           const Bpe& tokenizer, uint64_t parameters) {
    for (uint32_t width = 256;; width *= 2) {
        if (width > 16384)
            return make_error(ErrorCode::Usage,
                              "the model does not fit a 16384 x 16384 image (PROTOCOL.md §8): " +
                                  std::to_string(parameters) + " parameters");
        if (width < row0) continue;
        Allocation al = allocate_rows(shapes, width);
        const uint64_t height = uint64_t(al.height) + tokenizer_rows(tokenizer, width);
        if (height <= 16384) return GptImageSize{width, uint32_t(height), std::move(al)};
    }
}

template <class T> std::vector<T> transpose(const std::vector<T>& m, uint32_t rows, uint32_t cols) {
    std::vector<T> out(m.size());
    for (uint32_t r = 0; r < rows; ++r)
        for (uint32_t c = 0; c < cols; ++c)
            out[size_t(c) * rows + r] = m[size_t(r) * cols + c];
    return out;
}

// PENALIZE logits, tokens -> logits_penalized, as both builders emit it before SAMPLE.
inline PenalizeParams penalize_params(float penalty, uint32_t window) {
    PenalizeParams p;
    p.penalty = fm::bits(penalty);
    p.window = uint16_t(window);
    return p;
}

// Writes instructions into row 0 from x = 0 (WIDE prefix when a row operand exceeds 255).
struct Emitter {
    Image& img;
    uint32_t x = 0;
    uint32_t count = 0;
    uint32_t emit(uint8_t op, std::array<uint32_t, 3> rows, const std::vector<Rgba>& params) {
        const uint32_t at = x;
        if (rows[0] > 255 || rows[1] > 255 || rows[2] > 255)
            img.set_pixel(x++, 0,
                          {kWidePrefix, uint8_t(rows[0] >> 8), uint8_t(rows[1] >> 8), uint8_t(rows[2] >> 8)});
        img.set_pixel(x++, 0, {op, uint8_t(rows[0]), uint8_t(rows[1]), uint8_t(rows[2])});
        for (const Rgba& p : params)
            img.set_pixel(x++, 0, p);
        ++count;
        return at;
    }
    uint32_t emit(Opcode op, std::array<uint32_t, 3> rows, const std::vector<Rgba>& params) {
        return emit(uint8_t(op), rows, params);
    }
};

// GATHER table, by -> out: the table's and out's element type `value`, the index's `by` (dtype codes).
inline uint32_t emit_gather(Emitter& e, std::array<uint32_t, 3> rows, GatherMode mode, uint8_t value,
                            uint8_t by) {
    GatherParams p;
    p.dtype = {value, by, value, 0};
    p.mode = uint8_t(mode);
    return e.emit(Opcode::GATHER, rows, encode_params(p));
}

// APPEND a -> out (a matrix of `capacity` rows), both of element type `type`.
inline uint32_t emit_append(Emitter& e, uint32_t a, uint32_t out, uint32_t capacity, uint8_t type) {
    AppendParams p;
    p.dtype = {type, 0, type, 0};
    p.capacity = uint16_t(capacity);
    return e.emit(Opcode::APPEND, {a, 0, out}, encode_params(p));
}

// The rows of the state every pass ends on (both programs name these regions alike).
struct PassEndRows {
    uint32_t logits = 0, logits_penalized = 0, tokens = 0, rng_state = 0, next_token = 0, loop_counter = 0;
};

// The end of each pass: PENALIZE logits -> logits_penalized, SAMPLE it into next_token, APPEND that
// to tokens (context + 1 rows), LOOP, HALT. LOOP's target, the decode pass's pc, is known only once
// both passes are written: the x of its parameter pixel is added to `loop_targets` for
// set_loop_targets.
void emit_pass_end(Emitter& e, const PassEndRows& rows, const GptBuildOptions& options, uint32_t context,
                   std::vector<uint32_t>& loop_targets);
void set_loop_targets(Image& img, const std::vector<uint32_t>& loop_targets, uint32_t decode_pc);

// A region as the builders declare it in the debug symbols.
Region symbol_region(const std::string& name, uint32_t row, MatrixHeader shape, DType type);

// The last steps of both builders once row 0 is written: `regions` as the debug symbols, `chunk` as
// pxos.gpt, the tokenizer from `tokenizer_row`, then the prompt and the sampling settings, set
// through find_gpt_regions as a host finds them.
Status finish_gpt_image(Image& img, std::vector<Region> regions, const nlohmann::json& chunk,
                        uint32_t tokenizer_row, const Bpe& tokenizer, const GptBuildOptions& options);

} // namespace px::gpt_detail
