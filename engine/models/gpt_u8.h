// gpt_u8.h — the uint8 GPT program (docs/gpt-program.md, "The uint8 program"): the same decoder
// as build_gpt's float32 one, every weight and activation a per-tensor asymmetric uint8 code
// (real = scale * (code - zero_point)), run by integer-only opcodes (PROTOCOL.md §5.5 and §16:
// QMATMUL, QADD, QLAYERNORM, QLUT, QATTENTION, QMATMUL32) and ending in float32 logits
// (DEQUANT of the exact int32 head), so SAMPLE, `pxi generate` and `pxi eval` work unchanged.
//
//   calibrate_gpt   runs the float32 program (build_gpt) through the optimized CPU executor on
//                   calibration tokens and records the range of every activation the uint8
//                   graph quantizes
//   build_gpt_u8    quantizes the weights, derives every integer multiplier from the scales and
//                   writes the program; same regions for the state as the float32 program
#pragma once
#include "gpt.h"

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>

namespace px {

// The observed [min, max] of each activation of the uint8 graph, by tensor name: "x0" (embedding
// sum), "layer{i}.ln_1.out", ".attn.q", ".attn.k", ".attn.v", ".attn.out", ".attn.proj",
// ".x_attn" (residual after attention), ".ln_2.out", ".mlp.fc" (before GELU), ".mlp.gelu",
// ".mlp.proj", ".x_out" (residual after the MLP), and "ln_f.out".
struct GptCalibration {
    std::map<std::string, std::pair<double, double>> ranges;
    uint64_t tokens = 0;  // calibration tokens run
    uint32_t windows = 0; // prefill runs (windows of up to `context` tokens)
};

// Runs the float32 program on `ids` in windows of the context (every window a prefill, as `pxi
// eval` does) and reads each instruction's output after it ran. The activation before GELU is
// not an instruction output there (FMATMUL fuses GELU): it is computed on the host, in double,
// from the LAYERNORM output the program wrote. At most `max_windows` windows (0: all).
// Errors: Usage (no tokens, an id outside the vocabulary), or the program's trap.
Result<GptCalibration> calibrate_gpt(const GptConfig& config, const GptWeights& weights, const Bpe& tokenizer,
                                     std::span<const int32_t> ids, uint32_t max_windows = 0);

// The uint8 program image. The calibration must hold every tensor calibrate_gpt names. Errors: Usage.
Result<Image> build_gpt_u8(const GptConfig& config, const GptWeights& weights, const Bpe& tokenizer,
                           const GptCalibration& calibration, const GptBuildOptions& options = {});

} // namespace px
