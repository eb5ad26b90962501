// gpt.h — a GPT-2-style decoder (docs/gpt-weights.md) as one float32 .pxi program that generates
// text by itself: weights, key/value caches, the token sequence, the sampling state and the BPE
// tokenizer (PROTOCOL.md §14) are all pixels, and row 0 holds a prefill pass over the prompt and a
// LOOP over a one-token decode pass (docs/gpt-program.md gives every region and instruction).
//
//   read_gpt_config / load_gpt_weights   config.json and best.npz, every field and shape checked
//   build_gpt                            the program image, with debug symbols naming each region
//   find_gpt_regions                     the regions again, from an image's symbols and pxos.gpt
//   set_gpt_prompt / set_gpt_sampling    what to generate: written into the image's pixels
//
// This is the float32 program; gpt_u8.h builds the uint8 (integer-only) one from the same weights.
#pragma once
#include "bpe.h"
#include "image.h"
#include "npy.h"
#include "result.h"

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace px {

inline constexpr std::string_view kGptKey = "pxos.gpt"; // the build's JSON chunk (docs/gpt-program.md)

struct GptConfig {
    uint32_t layers = 0, width = 0, heads = 0, context = 0, vocab = 0;
    double layer_norm_eps = 1e-5;
    uint32_t head_width() const { return heads ? width / heads : 0; }
    uint64_t parameters() const;
};

// Parses config.json text (docs/gpt-weights.md): model "gpt", activation "gelu_tanh", tied_head
// true, positive sizes, heads dividing width, head_width/mlp_width when given consistent, and the
// sizes the protocol can hold (16-bit matrix headers). `name` is used in messages.
Result<GptConfig> parse_gpt_config(std::string_view json_text, const std::string& name);
Result<GptConfig> read_gpt_config(const std::string& path);

struct GptLayerWeights {
    std::vector<float> ln_1_weight, ln_1_bias;           // d, d
    std::vector<float> c_attn_weight, c_attn_bias;       // d x 3d, 3d
    std::vector<float> attn_proj_weight, attn_proj_bias; // d x d, d
    std::vector<float> ln_2_weight, ln_2_bias;           // d, d
    std::vector<float> c_fc_weight, c_fc_bias;           // d x 4d, 4d
    std::vector<float> mlp_proj_weight, mlp_proj_bias;   // 4d x d, d
};
// Every matrix row-major, [in, out] as in the .npz (y = x @ W + b).
struct GptWeights {
    std::vector<float> wte; // V x d
    std::vector<float> wpe; // C x d
    std::vector<GptLayerWeights> layers;
    std::vector<float> ln_f_weight, ln_f_bias; // d, d
};

// The arrays of docs/gpt-weights.md, each checked for presence, shape and a float dtype (f32, or
// f64 rounded to nearest); an error names the array and the expected shape. `name` is the file.
Result<GptWeights> gpt_weights_from_npz(const std::map<std::string, NpyArray>& arrays,
                                        const GptConfig& config, const std::string& name);
Result<GptWeights> load_gpt_weights(const std::string& path, const GptConfig& config);
// The inverse (float32 arrays under the same names), for tests and tools that write weights.
std::map<std::string, NpyArray> gpt_weights_to_npz(const GptWeights& weights, const GptConfig& config);

// Seeded random weights with GPT-2's initialization (Radford et al. 2019; the released code's
// init): every weight matrix and both embeddings N(0, 0.02), the two residual projections
// (attn.c_proj, mlp.c_proj) N(0, 0.02 / sqrt(2 L)), biases 0, LayerNorm gains 1 and biases 0.
// The normals come from pixellm.h's SplitMix64 (splitmix64 and Box-Muller, drawn in the order of
// GptWeights' fields, layer by layer), so a seed gives the same weights with every compiler and
// library (std::normal_distribution's algorithm is unspecified). For
// programs of a model's shape without its weights (pxi gpt --random-init: GPT-2-small-shaped
// timing, no 500 MB .npz on disk).
GptWeights random_gpt_weights(const GptConfig& config, uint64_t seed);

struct GptBuildOptions {
    uint32_t max_new_tokens = 32;   // tokens one run generates (>= 1); set_gpt_prompt can change it
    float temperature = 0.0f;       // 0: greedy (argmax); set_gpt_sampling can change it
    uint32_t top_k = 0;             // 0: the whole vocabulary
    uint32_t seed = 0;              // the PRNG state's start
    float presence_penalty = 0.0f;  // PENALIZE's p (PROTOCOL.md 13.6): 0 (off) or positive and finite
    uint32_t penalty_window = 64;   // PENALIZE's window: the last n tokens (0: the whole sequence)
    bool all_logits = true;         // prefill writes T x V logits (pxi eval); false: only the last row
    std::vector<int32_t> prompt{0}; // the prompt the image starts with (token ids)
};

// The program image. The tokenizer's vocabulary must equal config.vocab. Errors: Usage.
Result<Image> build_gpt(const GptConfig& config, const GptWeights& weights, const Bpe& tokenizer,
                        const GptBuildOptions& options = {});

// Where the parts of a GPT image are (header rows), and the pcs of the instructions the host
// touches: every SAMPLE (its parameter pixels hold temperature and top-k), every PENALIZE (the
// presence penalty and its window) and every APPEND into `tokens` (a step there has just added a
// token). A program built before PENALIZE existed has none, and no logits_penalized region (0).
struct GptRegions {
    GptConfig config;
    bool all_logits = true;
    bool weights_u8 = false; // the uint8 program (pxos.gpt "dtype": "u8", engine/models/gpt_u8.h)
    uint32_t tokens = 0, next_token = 0, rng_state = 0, loop_counter = 0, logits = 0, logits_penalized = 0;
    uint32_t tokens_capacity = 0, logits_capacity = 0; // rows
    std::vector<uint32_t> k_cache, v_cache;            // one per layer
    std::vector<uint32_t> sample_pcs, penalize_pcs, token_append_pcs;
};
// From the pxos.gpt chunk, the debug symbols and row 0; an error names what is missing or wrong.
Result<GptRegions> find_gpt_regions(const Image& image);
// The bytes of the weights' values a decode step reads once each (the q/k/v/proj/fc/proj matrices
// and the tied head, biases included; the key/value cache and activations left out): four bytes
// an element in the float32 program, one in the uint8 program (a code; its int32 biases, four
// bytes each, are a rounding error at these sizes and counted as one). pxi bench's and pxi
// generate --profile's bandwidth bound.
uint64_t gpt_weight_bytes(const GptRegions& regions);

// The weights a GPT image holds, read back through its debug symbols (the inverse of build_gpt's
// weight regions: q, k and v side by side again as c_attn). With the image's own tokenizer and
// the default options, build_gpt rebuilds the shipped image byte for byte (tests/gpt_asset_test).
// Errors name the region that is missing or of another shape; a config with more parameters than
// the image has pixels is refused before anything is read.
Result<GptWeights> read_gpt_weights(const Image& image, const GptRegions& regions);
// Writes a prompt: the sequence becomes the ids, the caches empty, the loop counter
// max_new_tokens - 1. Refuses an empty prompt, an id outside the vocabulary, max_new_tokens 0,
// and a prompt that with the new tokens passes the context (T + N > C + 1: every token but the
// last one sampled needs a position). The image is unchanged on error.
Status set_gpt_prompt(Image& image, const GptRegions& regions, std::span<const int32_t> ids,
                      uint32_t max_new_tokens);
struct GptSampling {
    float temperature = 0.0f; // 0 (or subnormal): argmax; else > 0 and finite
    uint32_t top_k = 0;       // 0: the whole row; at most 65535
    uint32_t seed = 0;
    float presence_penalty = 0.0f; // subtracted from the logit of each token of the window (0: off)
    uint32_t penalty_window = 64;  // the last n tokens of the sequence (0: all); at most 65535
};
// The sampling settings a build starts the image with.
GptSampling build_sampling(const GptBuildOptions& options);
// Ok, or a Usage error naming the setting out of range (temperature, top-k, presence penalty or
// window: what SAMPLE's and PENALIZE's parameter pixels can hold, PROTOCOL.md 13.5 and 13.6).
Status check_gpt_sampling(const GptSampling& sampling);
// Writes temperature and top-k into every SAMPLE's parameter pixels, the presence penalty and its
// window into every PENALIZE's, and the seed into rng_state. A penalty other than 0 for a program
// without PENALIZE is refused (Usage), naming why; the image is unchanged on error.
Status set_gpt_sampling(Image& image, const GptRegions& regions, const GptSampling& sampling);
// The settings as the image holds them: the first SAMPLE's temperature (canonical: subnormals and
// -0 read as 0, the argmax) and top-k, the first PENALIZE's penalty and window (0 and 64 without
// one), and rng_state now (the seed before any SAMPLE ran).
Result<GptSampling> read_gpt_sampling(const Image& image, const GptRegions& regions);

// Teacher-forced evaluation with pxtrain's convention (tools/train/train.cpp eval_file): windows
// of `context` input tokens at offsets 0, C, 2C, ... while offset + C + 1 <= N, window k's row t
// predicting token kC + t + 1; then one shorter last window for what is left; the first token
// costs ln(vocab). So every token but the first is scored exactly once. `logits` runs the program
// on one window (T ids) and returns its T x V logits (row-major); the log-softmax is in double.
struct GptEvalResult {
    uint64_t tokens = 0, bytes = 0, windows = 0;
    double nats = 0;           // total, the first token's ln(vocab) included
    double loss_per_token = 0; // nats / tokens
    double perplexity = 0;     // exp(loss_per_token)
    double bits_per_byte = 0;  // nats / ln 2 / bytes
};
using GptWindowLogits = std::function<Result<std::vector<float>>(std::span<const int32_t> window)>;
Result<GptEvalResult> gpt_eval(std::span<const int32_t> ids, uint64_t bytes, uint32_t context, uint32_t vocab,
                               const GptWindowLogits& logits);

// The i32 elements of the matrix at `row` as its header reads now (tokens, next_token).
Result<std::vector<int32_t>> read_i32_matrix(const Image& image, uint32_t row);

} // namespace px
