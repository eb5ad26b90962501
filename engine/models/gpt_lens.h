// gpt_lens.h — the quantization lens (issue 16): an activation of the uint8 GPT program as it is
// now, dequantized, against the same activation of its float32 program after the same tokens, as
// a difference with error statistics; and the float32 program's next-token candidates for the
// same sequence, to set beside the uint8 program's.
//
// "The same step" is defined by tokens, not by instruction counts (the two programs have different
// instructions): the float32 reference is the float32 program's prefill over the positions the
// uint8 region's rows hold (run_gpt_float_prefill, engine/models/gpt_u8.h), which computes every
// position's activations exactly as its decode passes would (causal attention, one row at a time
// in every row-wise opcode). Which positions a uint8 activation's rows hold follows from the pc
// (gpt_activation_positions): an activation written in the current pass, before that pass's
// APPEND into `tokens`, belongs to the sequence as it is; one written in an earlier pass, to the
// sequence without its newest token.
#pragma once
#include "bpe.h"
#include "debuginfo.h"
#include "gpt.h"
#include "gpt_view.h"
#include "image.h"
#include "result.h"
#include "vm.h"

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace px {

// A float32 GPT program opened beside a uint8 one: its image, regions and weights (for the
// activation before GELU, which the float32 program never writes).
struct GptFloatReference {
    Image program;
    GptRegions regions;
    GptWeights weights;
    PlanExecutor executor; // the optimized CPU executor, kept: its packed weights serve every run
};
// "" when a float32 program of config `reference` can stand beside a uint8 one of config `program`
// (the same layers, width, heads, context and vocabulary), else a message naming both.
std::string gpt_reference_mismatch(const GptConfig& reference, const GptConfig& program);
// Checks that `program` is a float32 GPT program with the same config and tokenizer vocabulary as
// the uint8 one described by `u8_regions`; an error names what differs.
Result<GptFloatReference> open_gpt_float_reference(Image program, const GptRegions& u8_regions);

// The positions [first, first + rows) of the sequence whose values an activation region holds now.
struct GptActivationPositions {
    uint32_t first = 0, rows = 0, cols = 0;
    uint32_t sequence = 0; // the sequence length they belong to: first + rows
};
// From the region's header, the pc and the `tokens` header (see above). Errors name the region:
// no instruction writes it, the first pass has not written it yet (it holds what the file held),
// or its rows do not fit the sequence.
Result<GptActivationPositions> gpt_activation_positions(const Image& image, const GptRegions& regions,
                                                        const Region& region, uint32_t pc);

// The uint8 program's regions the lens can show, in the order the program computes them: every
// activation of the float32 graph (gpt_prefill_output_names, with "layer{i}.mlp.fc" after
// ".ln_2.out") that `symbols` has, and "logits_i32" (compared with the float32 logits).
std::vector<std::string> gpt_lens_activations(const GptRegions& regions, const std::vector<Region>& symbols);

// The lens on one activation region of the uint8 program.
struct GptLens {
    std::string name;
    DType type = DType::U8; // the region's type (u8 codes, i32 or f32 values)
    double scale = 1;       // real = scale * (code - zero_point); 1 and 0 for f32
    int32_t zero_point = 0;
    GptActivationPositions at;     // which positions its rows hold
    std::vector<double> quantized; // the uint8 program's values, dequantized (rows x cols)
    std::vector<double> reference; // the float32 program's, same positions
    std::vector<double> difference;
    // Over every element: the largest |difference| (and where), mean |difference|, RMS of the
    // difference and of the reference, their ratio (relative L2 error), and the share of elements
    // within half a quantization step (scale / 2) of the reference: what rounding alone allows
    // (NaN for a float region, which has no step).
    double max_abs = 0, mean_abs = 0, rms = 0, reference_rms = 0, relative = 0, within_half_step = 0;
    uint32_t max_row = 0, max_col = 0; // row within the region (position at.first + max_row)
};
// The activation region named `name` (debug symbols) of the uint8 program `image` now, at `pc`,
// against `reference`. Errors name the region: unknown, not an activation the float32 program
// computes, not written yet, or the reference run's error.
Result<GptLens> gpt_quant_lens(const Image& image, const GptRegions& regions,
                               const std::vector<Region>& symbols, uint32_t pc,
                               const GptFloatReference& reference, const std::string& name);

// The float32 program's next-token candidates after `ids` (its prefill's last logits row): the
// k most likely, as gpt_top_k.
Result<std::vector<GptCandidate>> gpt_reference_top_k(const GptFloatReference& reference,
                                                      std::span<const int32_t> ids, uint32_t k);

// Statistics of a difference (shared with tests that check them): see GptLens.
void gpt_lens_stats(GptLens& lens);

} // namespace px
