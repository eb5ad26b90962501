// bpe.h — a byte-level byte-pair-encoding tokenizer: training, encoding, decoding.
//
// The model is two tables. The vocabulary maps each token id to its bytes. The merges, in rank
// order, say which two adjacent tokens become which token. Encoding splits text into pieces
// (pretokenize.h), turns each piece into one base token per byte, and repeatedly merges the
// adjacent pair with the lowest rank (the leftmost occurrence first) until no pair has a merge:
// the same text always gives the same ids, and decoding concatenates the tokens' bytes, so
// decode(encode(s)) == s for every byte string s, invalid UTF-8 included.
//
// Token kinds, told apart by the merges alone: a *byte token* has one byte and is made by no
// merge (exactly one per byte value); a *merged token* is the result of exactly one merge and
// its bytes are its two parts' bytes; every other token is *special* (e.g. GPT-2's
// <|endoftext|>): it decodes to its bytes but encode never produces it. finalize_bpe() checks
// all of this and builds the lookup tables; every Bpe handed out by this module (train_bpe,
// read_tokenizer, load_gpt2_bpe) is finalized.
#pragma once
#include "result.h"

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace px {

struct BpeMerge {
    int32_t left = 0, right = 0, result = 0;
    friend bool operator==(const BpeMerge&, const BpeMerge&) = default;
};

// How text is split before merging. 1 = pretokenize.h's GPT-2-style rules (the only one so far;
// stored in the image so a later splitter cannot silently change old tokenizers' output).
enum class PreTokenizer : int32_t { Gpt2Style = 1 };

struct Bpe {
    std::vector<std::string> vocab; // token id -> bytes
    std::vector<BpeMerge> merges;   // rank order: merges[r] has rank r
    PreTokenizer pretokenizer = PreTokenizer::Gpt2Style;

    // Derived by finalize_bpe (encode needs them); not part of the model's identity.
    std::array<int32_t, 256> byte_token{};             // byte value -> its byte token
    std::unordered_map<uint64_t, uint32_t> merge_rank; // (left << 32 | right) -> rank
};

// Where a table entry lives, for error messages: called with ("merge", r), ("token", id) or
// ("byte", b) and returns e.g. "merge 17" or "merge 17 at pixel (52, 13)".
using BpeWhere = std::function<std::string(std::string_view kind, uint64_t index)>;

// Checks the tables and fills byte_token and merge_rank. Errors (ErrorCode::Invalid), each naming
// the entry through `where`: an empty token; a byte value with no byte token, or with two; a
// merge id out of range; a merge whose part is not yet made (a special token, or the result of
// a merge of the same or a later rank: this is what rules out cycles); a merge whose result is
// a byte token, is made twice, or whose bytes are not its parts' bytes; a pair merged twice.
Status finalize_bpe(Bpe& bpe, const BpeWhere& where = {});

struct TrainOptions {
    uint32_t vocab_size = 512;         // target: 256 byte tokens + merges (+ specials)
    uint64_t min_pair_count = 2;       // stop when the most frequent pair is rarer
    std::vector<std::string> specials; // appended after the merged tokens, e.g. "<|endoftext|>"
};

// Byte-level BPE training: ids 0..255 are the bytes, id 256 + r is merge r's result, specials
// follow. Each step merges the most frequent adjacent pair over the pre-tokenized words
// (weighted by how often each word occurs); ties go to the smallest (left, right) ids, so the
// result depends only on the text and the options. Pair counts are kept incrementally (a
// merge updates only the words that contain its pair). Stops at vocab_size or when no pair
// occurs min_pair_count times. Fails (Usage) for vocab_size < 256 + specials or > 2^31 - 1.
Result<Bpe> train_bpe(std::string_view text, const TrainOptions& options);

// Token ids of text (bpe finalized).
std::vector<int32_t> encode(const Bpe& bpe, std::string_view text);
// The bytes of the ids; fails (Usage) at the first id outside the vocabulary, naming its index.
Result<std::string> decode(const Bpe& bpe, std::span<const int32_t> ids);

// Token counts by kind, for reports.
struct BpeCounts {
    uint64_t byte_tokens = 0, merged = 0, special = 0, vocab_bytes = 0;
};
BpeCounts bpe_counts(const Bpe& bpe);

} // namespace px
