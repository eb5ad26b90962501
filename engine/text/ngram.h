// ngram.h — a count-based byte n-gram language model with interpolated Kneser-Ney smoothing: the
// baseline the trained transformer must beat (`pxi corpus baseline`, bits per byte on the test
// split).
//
// Order N looks at the previous N-1 bytes. The highest order uses raw counts, every lower order k
// continuation counts (how many distinct bytes precede the k-gram; the start of the training text
// counts as one, before its first k-gram), and each order interpolates
// with the one below, down to the uniform 1/256:
//   P_k(w | h) = max(c_k(h w) - D_k, 0) / c_k(h .) + D_k * n_k(h .) / c_k(h .) * P_{k-1}(w | h')
// where c_k(h .) sums c_k over w, n_k(h .) counts the w with c_k(h w) > 0 and h' is h without its
// first byte; a context never seen (c_k(h .) = 0) passes straight to P_{k-1}. D_k is Ney's
// estimate n1 / (n1 + 2 n2) from the order's counts of counts. Near the start of a text the model
// uses the orders the history allows.
#pragma once
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace px {

inline constexpr int kNgramMaxOrder = 8; // a k-gram is packed into one uint64

struct NgramContext {
    uint64_t total = 0;    // c_k(h .)
    uint32_t distinct = 0; // n_k(h .)
};

struct NgramModel {
    int order = 0;
    // Index k-1 for order k: counts of the packed k-grams, their contexts, the discount.
    std::vector<std::unordered_map<uint64_t, uint64_t>> counts;
    std::vector<std::unordered_map<uint64_t, NgramContext>> contexts;
    std::vector<double> discount;
};

// 1 <= order <= kNgramMaxOrder.
NgramModel train_ngram(std::string_view text, int order);

// P(next | history): the last order-1 bytes of `history` are used (fewer if it is shorter).
double ngram_prob(const NgramModel& model, std::string_view history, uint8_t next);

// -log2 P of every byte of `text` in turn, each given the bytes of `text` before it (the first
// byte has no history), summed: the text's code length in bits.
double ngram_bits(const NgramModel& model, std::string_view text);

} // namespace px
