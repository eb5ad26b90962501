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
#include "vm.h"

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

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

// One prefill of a float32 GPT program (build_gpt's, regions from find_gpt_regions) over `ids` (1
// to its context), stopped before its first SAMPLE, run by the optimized CPU executor: `visit`
// gets each instruction's output right after it ran, under the uint8 graph's tensor names
// (GptCalibration's, plus "emb" and "pos" (the two gathers), "ln_last" (with prefill logits
// "last") and "logits"), as rows x cols values (float32, exact in double). "layer{i}.mlp.fc", the
// activation before GELU, is no instruction's output (FMATMUL fuses GELU): it is computed on the
// host in double from the LAYERNORM output when `weights` are given. The program is copied, not
// changed. Errors: Usage (a uint8 program, too many tokens, an id outside the vocabulary), the
// program's trap, or the first error `visit` returns.
// The name of each instruction output of the float32 prefill, in order ("" for the APPENDs):
// "emb", "pos", "x0", each layer's 13 (kBlockOutputs), "ln_f.out", ["ln_last",] "logits".
std::vector<std::string> gpt_prefill_output_names(uint32_t layers, bool all_logits);
using GptActivationVisitor = std::function<Status(const std::string& name, uint32_t rows, uint32_t cols,
                                                  std::span<const double> values)>;
// `executor`: the optimized CPU executor to run it with (one kept across calls keeps its packed
// weights, cpu_fast.h); nullptr: a new one.
Status run_gpt_float_prefill(const Image& program, const GptRegions& regions, std::span<const int32_t> ids,
                             const GptWeights* weights, const GptActivationVisitor& visit,
                             const PlanExecutor* executor = nullptr);

// The uint8 program image. The calibration must hold every tensor calibrate_gpt names. Errors: Usage.
Result<Image> build_gpt_u8(const GptConfig& config, const GptWeights& weights, const Bpe& tokenizer,
                           const GptCalibration& calibration, const GptBuildOptions& options = {});

} // namespace px
