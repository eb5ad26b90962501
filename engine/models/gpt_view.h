// gpt_view.h — what a viewer of a running GPT program (docs/gpt-program.md) reads from its image:
// the sequence split into prompt and generated tokens, each token's bytes through the image's own
// tokenizer, and the next-token distribution of the last `logits` row. pxdbg's Text window asks
// these; nothing here knows an opcode (find_gpt_regions says where the regions are).
//
// Probabilities are a softmax in double of the program's float32 logits (temperature 1, the whole
// vocabulary): what the model predicts, not SAMPLE's temperature/top-k distribution.
#pragma once
#include "bpe.h"
#include "gpt.h"
#include "image.h"
#include "result.h"

#include <cstdint>
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
};
// The k most likely ids, highest logit first (equal logits: the lower id first, a stable
// order); probabilities as gpt_probability. NaN logits are never candidates.
std::vector<GptCandidate> gpt_top_k(std::span<const float> logits, uint32_t k);

// A token's bytes through the tokenizer (empty for an id outside the vocabulary).
std::string gpt_token_bytes(const Bpe& bpe, int32_t id);
// Bytes as printable text: ASCII 0x20..0x7E as is (backslash doubled), \n \t \r, else \xNN.
std::string escape_bytes(std::string_view bytes);

} // namespace px
