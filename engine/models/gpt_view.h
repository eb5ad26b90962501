// gpt_view.h — what a viewer of a running GPT program (docs/gpt-program.md) reads from its image:
// the sequence split into prompt and generated tokens, each token's bytes through the image's own
// tokenizer, and the next-token distribution of the last `logits` row. pxdbg's Text window asks
// these; nothing here knows an opcode (find_gpt_regions says where the regions are).
//
// Probabilities are a softmax in double of the program's float32 logits (temperature 1, the whole
// vocabulary): what the model predicts, not SAMPLE's temperature/top-k distribution.
//
// Attention maps: FATTENTION (PROTOCOL.md §12.2) and QATTENTION (§16.3) fuse the softmax, so their
// weights are never pixels. gpt_layer_attention finds, in the step history, every step that ran
// one layer's attention and recomputes from the q region and the key cache as they were just
// before that step the probabilities the kernel used, with the same functions (F.5/F.6's fm::dot,
// fm::mul, fm::softmax_row; §16.3's qint::probabilities_row, shown as p / 2^22), so they are its
// values.
#pragma once
#include "bpe.h"
#include "compare.h"
#include "debuginfo.h"
#include "gpt.h"
#include "history.h"
#include "image.h"
#include "result.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace px {

// The last row of `logits` as its header reads now (V float32 values, canonical per F.3).
// Fails, naming the row, when the matrix is empty, does not fit or is not V wide.
Result<std::vector<float>> gpt_last_logits(const Image& image, const GptRegions& regions);

// softmax(logits)[id] in double (max subtracted first); NaN when id is out of range or the row
// holds no finite value.
double gpt_probability(std::span<const float> logits, int32_t id);

struct GptCandidate {
    int32_t id = 0;
    float logit = 0;
    double probability = 0;
    // The probability that SAMPLE draws it, as the program computes it (gpt_sample_probabilities);
    // NaN when no sampling settings were given.
    double sample_probability = std::numeric_limits<double>::quiet_NaN();
};
// The k most likely ids, highest logit first (equal logits: the lower id first, a stable
// order); probabilities as gpt_probability. NaN logits are never candidates.
std::vector<GptCandidate> gpt_top_k(std::span<const float> logits, uint32_t k);
// The same, each candidate with SAMPLE's probability under `sampling` after `sequence`.
std::vector<GptCandidate> gpt_top_k(std::span<const float> logits, uint32_t k, const GptSampling& sampling,
                                    std::span<const int32_t> sequence);

// What the program draws from `logits` under `sampling` when the sequence so far is `sequence`:
// PENALIZE's row (PROTOCOL.md §13.6: the presence penalty subtracted once from each id among the
// last penalty_window of `sequence`, gen_ops.h's penalize_bits; ids outside the vocabulary, which
// would trap the program, are skipped), then SAMPLE's distribution over it (§13.5, the kernel's own
// float32 weights: sample_weights): e_i / S for each id, 0 outside the top-k set; greedy
// (temperature 0, or the largest logit +-inf or NaN): 1 for the argmax, 0 elsewhere. The rounding
// of step 6's running sums can move a draw's odds by a float32 ulp of S, no more.
std::vector<double> gpt_sample_probabilities(std::span<const float> logits, const GptSampling& sampling,
                                             std::span<const int32_t> sequence);

// Head `head`'s attention probabilities of one query row over the first n keys, as FATTENTION
// computes them: s_j = mul(dot(q[head], K[j][head]), scale) (F.5), then the F.6 softmax of s_0..s_{n-1}.
// q_row holds `width` values, keys n x width (row-major); width a multiple of heads.
std::vector<float> gpt_attention_probs(std::span<const float> q_row, std::span<const float> keys,
                                       uint32_t width, uint32_t heads, uint32_t head, uint32_t n,
                                       float scale);

// One layer's attention over the sequence, as the program computed it.
struct GptAttention {
    uint32_t layer = 0, heads = 0, length = 0; // query and key positions 0 .. length-1
    uint32_t q = 0, k_cache = 0;               // header rows of the queries and the key cache
    std::string op;                            // "FATTENTION" or "QATTENTION" (the uint8 program)
    float scale = 0;                           // FATTENTION's P3, canonical (0 for QATTENTION)
    // p[(h * length + t) * length + j]: head h, query position t, key position j <= t. NaN for j > t
    // and for query positions whose FATTENTION step is not in the history.
    std::vector<float> p;
    std::vector<uint64_t> step; // per query position: the step that ran its FATTENTION; 0 unknown
    float at(uint32_t h, uint32_t t, uint32_t j) const { return p[(size_t(h) * length + t) * length + j]; }
    size_t known() const; // query positions with a step
};
// A view's bound on heads x length^2 (2^28 floats, 1 GiB): GPT-2 small's 12 x 1024^2 is 12.6M.
inline constexpr uint64_t kMaxAttentionProbabilities = uint64_t(1) << 28;
// Walks `history` (the steps that led to `current`, oldest first) back from now: every step that
// ran a FATTENTION whose key cache is layer `layer`'s gives its query rows (positions L-T .. L-1 for
// T query rows and a cache of L rows then). length = the key cache's rows now. Errors name the
// layer, or the row whose header is not a matrix, or the key cache's header when it reads more
// rows than the context, other columns than the width, or heads x rows^2 passes
// kMaxAttentionProbabilities.
Result<GptAttention> gpt_layer_attention(const History& history, const Image& current,
                                         const GptRegions& regions, uint32_t layer);

// The model overview: a GPT image's regions (debug symbols, docs/gpt-program.md's names) grouped
// as a tree: embedding (wte, wte_t, wpe), layer 0 .. N-1 each with an attention block (ln_1, the
// q/k/v and projection weights, the key and value caches) and an MLP block (ln_2, c_fc, c_proj),
// the output (ln_f, logits), the state (tokens, next_token, rng_state, loop_counter), the
// activations (scratch) and the tokenizer. A region whose name fits none goes under "other".
struct GptTreeNode {
    std::string label;
    std::optional<size_t> region; // index into the regions given; none for a group
    std::vector<GptTreeNode> children;
};
GptTreeNode gpt_model_tree(const std::vector<Region>& regions, uint32_t layers);

// A region's value statistics now (compare.h's value_stats over its elements in its type, the
// zero point when it has one). Fails as matrix_values does (naming the row).
Result<ValueStats> gpt_region_stats(const Image& image, const Region& region);

// A token's bytes through the tokenizer (empty for an id outside the vocabulary).
std::string gpt_token_bytes(const Bpe& bpe, int32_t id);
// Bytes as printable text: ASCII 0x20..0x7E as is (backslash doubled), \n \t \r, else \xNN.
std::string escape_bytes(std::string_view bytes);

// Where one layer's attention is computed: the pcs (x in row 0, in row order) of every attention
// instruction (FATTENTION in the float32 program, QATTENTION in the uint8 one) whose key cache is
// layer `layer`'s, in the prefill and the decode pass. Row 0 is walked instruction by instruction
// with the VM's own decoder, as a run would meet them. A debugger breaks on "layer L" with these
// pcs and so needs to know no opcode. Errors name the layer (out of range, or no such instruction).
Result<std::vector<uint32_t>> gpt_attention_pcs(const Image& image, const GptRegions& regions,
                                                uint32_t layer);

} // namespace px
