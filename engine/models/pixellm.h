// pixellm.h — the Pixel-LLM (128 -> 128 ReLU -> 1024 logits) as one quantized .pxi program, its
// double-precision float reference, the v0.0.3 raw-clamp arithmetic on the same weights, and the
// accuracy measurement that compares them (issue 3, PROTOCOL.md §5.5).
//
// Weights come from a seeded generator (documented below, deterministic on every platform: integer
// splitmix64 and Box-Muller on doubles, offline only) or from the caller (e.g. a NumPy .npz). The
// builder quantizes them (per-tensor uint8, int32 biases), calibrates activation ranges on seeded
// sample inputs, and writes the program with debug symbols (pxos.symbols: names, shapes, scales,
// zero points) and a provenance chunk (pxos.pixellm: where the weights came from), so that
// `pxi accuracy` can rebuild the float reference from a .pxi alone.
//
// Program (width 1024, rows allocated one after another from row 1):
//   QMATMUL   input, W_hidden, hidden   bias b_hidden, clamp_lo = zero point of hidden (fused ReLU)
//   QMATMUL32 hidden, W_out, logits     bias b_out; logits are exact int32 accumulators
//   HALT
// or, built with dtype f32 (PROTOCOL.md §11), the same network as float32 pixels:
//   FMATMUL   input, W_hidden, hidden   [f32, f32, f32], bias b_hidden, activation relu
//   FMATMUL   hidden, W_out, logits     [f32, f32, f32], bias b_out, no activation
//   HALT
#pragma once
#include "dtype.h"
#include "image.h"
#include "npy.h"
#include "quant.h"
#include "result.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace px {

inline constexpr uint32_t kLlmIn = 128, kLlmHidden = 128, kLlmOut = 1024;
inline constexpr uint32_t kLlmWidth = 1024;
inline constexpr uint64_t kLlmDefaultSeed = 42;               // assets/pixellm.pxi
inline constexpr uint64_t kLlmCalibrationSeed = 0xCA11B8A7E5; // calibration input stream
inline constexpr uint32_t kLlmCalibrationInputs = 256;
inline constexpr std::string_view kPixelLlmKey = "pxos.pixellm"; // provenance chunk (PROTOCOL.md §7)

// splitmix64 (Steele, Lea, Flood 2014): the integer stream every seeded value comes from.
struct SplitMix64 {
    uint64_t state;
    uint64_t next();
    double uniform(); // (0, 1): (top 53 bits + 0.5) / 2^53, never 0
    double normal();  // Box-Muller: sqrt(-2 ln u1) * cos(2 pi u2), one value per two draws
};

struct PixelLlmWeights {
    std::vector<double> w_hidden; // kLlmIn x kLlmHidden, row-major: hidden = input @ w_hidden
    std::vector<double> b_hidden; // kLlmHidden
    std::vector<double> w_out;    // kLlmHidden x kLlmOut
    std::vector<double> b_out;    // kLlmOut
};

// Seeded weights: one SplitMix64 stream seeded with `seed`, drawn in the order w_hidden, b_hidden,
// w_out, b_out (row-major); w_hidden ~ N(0, 2/128) (He), w_out ~ N(0, 1/128), biases ~ N(0, 0.1^2).
PixelLlmWeights seeded_weights(uint64_t seed);
// Input `index` of the stream `seed`: kLlmIn values ~ N(0, 1) from SplitMix64 seeded with
// splitmix64 of (seed, index), so any input can be made alone.
std::vector<double> seeded_input(uint64_t seed, uint64_t index);
// Checks shapes (names the array that is wrong).
Status check_weights(const PixelLlmWeights& w);

// The float reference, in double precision: hidden = max(0, x W_h + b_h), logits = hidden W_o + b_o.
std::vector<double> float_forward(const PixelLlmWeights& w, const std::vector<double>& x,
                                  std::vector<double>* hidden = nullptr);

// Activation ranges over the calibration inputs (min and max of each tensor over all samples).
struct Calibration {
    double input_min = 0, input_max = 0, hidden_min = 0, hidden_max = 0, logits_min = 0, logits_max = 0;
};
Calibration calibrate(const PixelLlmWeights& w, uint64_t seed = kLlmCalibrationSeed,
                      uint32_t inputs = kLlmCalibrationInputs);

struct PixelLlmBuildOptions {
    std::optional<uint64_t> seed; // recorded in pxos.pixellm when the weights are seeded
    std::string weights_file;     // recorded when they came from a file
    bool int32_logits = true;     // QMATMUL32 (exact); false: QMATMUL to uint8 logits (measured worse)
    DType dtype = DType::U8;      // U8: the quantized program; F32: float32 pixels (FMATMUL)
};
Result<Image> build_pixellm(const PixelLlmWeights& w, const PixelLlmBuildOptions& options);

// What a tool needs to feed a built program and read its answer, from its symbols.
struct PixelLlmIo {
    uint32_t input_row = 0, logits_row = 0, w_hidden_row = 0, w_out_row = 0;
    QuantParams input;
    bool int32_logits = true;
    QuantParams logits;      // int32 logits: zero point 0 and scale s_hidden * s_w_out
    DType dtype = DType::U8; // F32: input and logits are float32 matrices (no quantization)
    std::optional<uint64_t> seed;
    std::string weights_file;
};
Result<PixelLlmIo> pixellm_io(const Image& program);

// Writes an input vector (kLlmIn reals, quantized with the input's scale and zero point; or
// codes as they are) into the program's input region.
Status set_input(Image& program, const PixelLlmIo& io, const std::vector<double>& x);
Status set_input_codes(Image& program, const PixelLlmIo& io, const std::vector<uint8_t>& codes);
// `pxi run --input`: writes a .npy into the region named `region` of any program's symbols.
// uint8 arrays are codes, written as they are; float (and other integer) arrays are real values,
// quantized with the region's scale and zero point (an error if the symbols give none). The
// element count must equal the region's.
Status set_region_from_npy(Image& program, const std::string& region, const NpyArray& values);
// The dequantized logits of a program that ran.
Result<std::vector<double>> read_logits(const Image& program, const PixelLlmIo& io);

// The v0.0.3 arithmetic on the same uint8 codes: MATMUL (clamp 255), ADD of uint8-quantized
// biases (clamp 255), RELU (identity), MATMUL, ADD; the logits bytes are read with the uint8
// parameters of the calibrated logits range (the raw arithmetic has no scale of its own; top-1 and
// top-5 do not depend on this choice).
struct RawModel {
    std::vector<uint8_t> w_hidden, w_out, b_hidden, b_out;
    QuantParams input, logits;
};
Result<RawModel> raw_model(const Image& program, const PixelLlmIo& io, const PixelLlmWeights& w);
std::vector<double> raw_forward(const RawModel& m, const std::vector<double>& x);

// Runs a program to completion (HALT); the image comes back with the results.
using ProgramRunner = std::function<Result<Image>(const Image& program)>;
Result<Image> run_on_cpu(const Image& program);

struct AccuracyFigures {
    double top1_agreement = 0, top5_containment = 0, rel_l2 = 0;
};
struct AccuracyReport {
    uint32_t inputs = 0;
    uint64_t seed = 0;
    DType dtype = DType::U8;   // the program's: U8 (quantized) or F32
    AccuracyFigures quantized; // the program against the double-precision reference
    AccuracyFigures raw;       // v0.0.3 raw arithmetic against the reference (U8 programs only)
    double max_rel_l2 = 0;     // worst single input, the program against the reference
    // U8 programs: the program against the f32 program built from the same weights (run on the
    // CPU reference), the float32 result taken as the reference.
    std::optional<AccuracyFigures> vs_f32;
};
// Seeded inputs seeded_input(seed, 0..n-1) through the program (with `runner`), the float
// reference and the raw arithmetic. top1: argmax equal (ties: lowest index); top5: the float
// argmax among the program's 5 largest; rel_l2: mean over inputs of |q - f|_2 / |f|_2. With
// `versus_f32` a U8 program is also measured against the f32 build of the same weights.
Result<AccuracyReport> measure_accuracy(const Image& program, const PixelLlmWeights& w, uint32_t n,
                                        uint64_t seed, const ProgramRunner& runner, bool versus_f32 = false);

// The weights a program was built from, per its pxos.pixellm chunk (seeded ones are regenerated;
// a weights file is loaded with `load_weights`). `override_file` replaces the recorded file.
// .npz with arrays W_hidden (128x128), b_hidden (128), W_out (128x1024), b_out (1024), any of the
// dtypes npy.h reads (a 1xN bias is accepted too); x @ W convention.
Result<PixelLlmWeights> load_npz_weights(const std::string& path);
// The same arrays as float64 (so a NumPy user can check the reference: np.load(path)).
Status save_npz_weights(const PixelLlmWeights& w, const std::string& path);
Result<PixelLlmWeights> program_weights(const PixelLlmIo& io, const std::string& override_file = {});

} // namespace px
