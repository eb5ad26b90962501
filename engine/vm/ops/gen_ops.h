// gen_ops.h — what the text-generation opcodes (PROTOCOL.md §13: LOOP, GATHER, APPEND, ARGMAX,
// SAMPLE, PENALIZE) share: their dtype checks, the pixel reads and writes of their reference kernels, and
// the arithmetic of the next-token choice (the order of f32 logits, the PRNG, the sampling rule),
// so the reference, the fast CPU executor and the tests compute it from one definition. The GLSL
// twin is shaders/select.comp; the independent model is tests/vectors/make_gen_vectors.py.
#pragma once
#include "fmath.h"
#include "opdef.h"

#include <vector>

namespace px {

// The total order ARGMAX and SAMPLE rank logits by, on a canonical f32 bit pattern: larger key =
// larger value; NaN ranks below -inf (a NaN logit is never preferred to a number).
// fm::order_key with a NaN's key masked to 0, without branches, so that loops over a row of keys
// vectorize, a maximum among them too.
inline uint32_t logit_key(uint32_t canonical) {
    return fm::order_key(canonical) & (0u - uint32_t((canonical & 0x7FFFFFFFu) <= 0x7F800000u));
}
// The index of the largest key among x[0..n) (canonical bits), the lowest index on ties; n >= 1.
uint32_t argmax_bits(const uint32_t* x, uint32_t n);

// The PRNG of SAMPLE (§13.5): the state is a uint32 in a pixel; each SAMPLE adds the Weyl
// constant 0x9E3779B9 to it (modulo 2^32) and draws z = mix32(new state), the MurmurHash3 32-bit
// finalizer; u = (z >> 8) * 2^-24 is the uniform number in [0, 1), exact in float32.
inline constexpr uint32_t kPrngStep = 0x9E3779B9u;
inline uint32_t mix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

// SAMPLE's weights (§13.5 steps 2 to 5) on the canonical bits of one row of logits: the argmax,
// and unless the draw is greedy (temperature +0, or the largest logit +-inf or NaN) each element's
// e_i (+0 outside the top-k set and for NaN) and their F.5 sum, in the kernel's float32 arithmetic.
// SAMPLE draws i with probability e_i / total (up to the rounding of the running sums of step 6).
struct SampleWeights {
    uint32_t top = 0;
    bool greedy = true;
    std::vector<float> e;
    std::vector<uint32_t> members; // the top-k set less its NaNs, in index order: where e may be > 0
    float total = 0;
};
SampleWeights sample_weights(const uint32_t* x, uint32_t n, uint32_t temperature, uint32_t top_k);
// SAMPLE's choice (§13.5) on the canonical bits of one row of logits: temperature (canonical
// bits, +0 or a positive finite value), top_k (0: all), z the PRNG draw. Returns the token index.
uint32_t sample_bits(const uint32_t* x, uint32_t n, uint32_t temperature, uint32_t top_k, uint32_t z);

// The same two on buffers a caller keeps from call to call (the optimized CPU executor keeps one
// per executor): w's vectors and the scratch below keep their capacity, so a token allocates
// nothing. GPT-2's 50,257 logits make 200 KB vectors, which malloc may hand out by mmap (its
// threshold moves with what the process freed before): then every call faults their pages in
// afresh (0.8 to 1.2 ms a call at top-k 40 in a scratch harness, 27 us with kept buffers).
struct SampleScratch {
    std::vector<uint32_t> keys, block_max, pool, candidates;
    std::vector<float> all;
};
void sample_weights_into(SampleWeights& w, SampleScratch& scratch, const uint32_t* x, uint32_t n,
                         uint32_t temperature, uint32_t top_k);
uint32_t sample_bits(SampleWeights& w, SampleScratch& scratch, const uint32_t* x, uint32_t n,
                     uint32_t temperature, uint32_t top_k, uint32_t z);

// PENALIZE's arithmetic (§13.6) on the canonical bits x[0..n) of a's last row: x[t] = sub(x[t], p)
// (fmath) for every distinct t among tokens[0..count), each already checked to be in 0..n-1. A
// token that repeats in the window is penalized once: a presence penalty, not a count penalty.
void penalize_bits(uint32_t* x, uint32_t n, const uint32_t* tokens, uint64_t count, uint32_t penalty);
namespace ops {
// Check 7 of a float parameter that must be +0 or a positive finite float32 (SAMPLE's temperature,
// PENALIZE's penalty), read canonicalized: "" when it is, else the message naming pixel P<k+1>.
std::string check_nonnegative_finite(const Instruction& ins, uint32_t k, const char* what, uint32_t bits);
// Check 7 for P1 = (dtype_a, dtype_b, dtype_c, 0): each operand's code must be one of its
// accepted codes (a list per operand; kind-none operands accept only 0), A must be 0.
std::string check_gen_dtypes(const Instruction& ins, const FloatDtypes& d,
                             const std::vector<uint8_t> (&accepted)[3]);
// Element i of the matrix at `row` as a whole pixel word (little-endian).
uint32_t element_word(const Image& image, uint32_t row, uint64_t i);
void set_element_word(Image& image, uint32_t row, uint64_t i, uint32_t w);
// The pixel (x, y) of element i of the matrix at `row`.
std::pair<uint32_t, uint32_t> element_pixel(uint32_t row, uint64_t i, uint32_t width);
// The element of dtype `code` as read (u8: R; f32: canonical bits; i32: the word) and as written
// (u8: R only, keeping G, B, A; f32 and i32: the whole pixel).
uint32_t read_typed(const Image& image, uint32_t row, uint64_t i, uint8_t code);
void write_typed(Image& image, uint32_t row, uint64_t i, uint8_t code, uint32_t v);
// SAMPLE's and PENALIZE's parameter layout: P1 = dtypes, P2 = a float32 word (temperature,
// penalty), P3 = (count lo, count hi, 0, 0) (top-k, window). One codec and one check for both.
struct WordCountParams {
    FloatDtypes dtype;
    uint32_t word = 0;
    uint16_t count = 0;
    uint8_t reserved[2] = {0, 0};
};
WordCountParams decode_word_count(const Instruction& ins);
std::vector<Rgba> encode_word_count(const FloatDtypes& dtype, uint32_t word, uint16_t count,
                                    const uint8_t (&reserved)[2]);
// Check 7: the dtypes (as check_gen_dtypes), the word +0 or positive finite (named `word_name`),
// P3's reserved channels 0.
std::string check_word_count(const Instruction& ins, const FloatDtypes& dtype,
                             const std::vector<uint8_t> (&accepted)[3], const char* word_name, uint32_t word);
// The canonical float32 bits of the last row of the f32 matrix at `row` with header h (ARGMAX's,
// SAMPLE's and PENALIZE's input; argmax.cpp).
std::vector<uint32_t> last_row_bits(const Image& image, uint32_t row, MatrixHeader h);
// The parameter pixel k's two low channels as a little-endian uint16.
inline uint16_t param_u16(const Instruction& ins, uint32_t k) {
    return uint16_t(ins.params[k][0] | ins.params[k][1] << 8);
}
std::string dtype_code_text(uint8_t code);
} // namespace ops
} // namespace px
